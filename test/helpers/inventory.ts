// Counts, straight from moto, what exists for a cluster tag: the ground truth the tests assert on.
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2'
import { awsConfig } from './aws.ts'

interface Inventory {
  vpcs: number
  subnets: number
  publicSubnets: number
  privateSubnets: number
  internetGateways: number
  elasticIps: number
  natGateways: number
  routeTables: number
  securityGroups: number
  instances: number
  vpcEndpoints: number
}

export function ec2For(env: NodeJS.ProcessEnv): EC2Client {
  return new EC2Client(awsConfig(env, env.AWS_REGION))
}

export async function inventory(env: NodeJS.ProcessEnv, cluster: string): Promise<Inventory> {
  const ec2 = ec2For(env)
  const tag: Filter[] = [{ Name: 'tag:scalardl-runbook/cluster', Values: [cluster] }]
  const [vpcs, subnets, igws, eips, nats, rts, sgs, inst, eps] = await Promise.all([
    ec2.send(new DescribeVpcsCommand({ Filters: tag })),
    ec2.send(new DescribeSubnetsCommand({ Filters: tag })),
    ec2.send(new DescribeInternetGatewaysCommand({ Filters: tag })),
    ec2.send(new DescribeAddressesCommand({ Filters: tag })),
    ec2.send(new DescribeNatGatewaysCommand({ Filter: [...tag, { Name: 'state', Values: ['pending', 'available'] }] })),
    ec2.send(new DescribeRouteTablesCommand({ Filters: tag })),
    ec2.send(new DescribeSecurityGroupsCommand({ Filters: tag })),
    ec2.send(
      new DescribeInstancesCommand({
        Filters: [...tag, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }],
      }),
    ),
    ec2.send(new DescribeVpcEndpointsCommand({ Filters: tag })),
  ])
  const role = (s: { Tags?: { Key?: string; Value?: string }[] }) => s.Tags?.find((t) => t.Key === 'scalardl-runbook/role')?.Value
  ec2.destroy()
  return {
    vpcs: vpcs.Vpcs?.length ?? 0,
    subnets: subnets.Subnets?.length ?? 0,
    publicSubnets: (subnets.Subnets ?? []).filter((s) => role(s) === 'public-subnet').length,
    privateSubnets: (subnets.Subnets ?? []).filter((s) => role(s) === 'private-subnet').length,
    internetGateways: igws.InternetGateways?.length ?? 0,
    elasticIps: eips.Addresses?.length ?? 0,
    // moto ignores tag filters on DescribeNatGateways: count by the tags themselves.
    natGateways: (nats.NatGateways ?? []).filter(
      (n) =>
        n.Tags?.some((t) => t.Key === 'scalardl-runbook/cluster' && t.Value === cluster) &&
        ['pending', 'available'].includes(n.State ?? ''),
    ).length,
    routeTables: rts.RouteTables?.length ?? 0,
    securityGroups: sgs.SecurityGroups?.length ?? 0,
    instances: (inst.Reservations ?? []).flatMap((r) => r.Instances ?? []).length,
    vpcEndpoints: (eps.VpcEndpoints ?? []).filter((e) => String(e.State).toLowerCase() !== 'deleted').length,
  }
}

/** What a finished 01 + 02 makes. */
export function expectedInventory(natGateways: 1 | 3, bastion = true): Inventory {
  return {
    vpcs: 1,
    subnets: 6,
    publicSubnets: 3,
    privateSubnets: 3,
    internetGateways: 1,
    elasticIps: natGateways,
    natGateways,
    routeTables: 4,
    securityGroups: bastion ? 2 : 1,
    instances: bastion ? 1 : 0,
    vpcEndpoints: 1,
  }
}
