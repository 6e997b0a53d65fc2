// NAT gateways and their Elastic IPs, one per AZ that needs one.
import {
  AllocateAddressCommand,
  CreateNatGatewayCommand,
  DescribeAddressesCommand,
  DescribeNatGatewaysCommand,
  type Address,
  type EC2Client,
  type NatGateway,
} from '@aws-sdk/client-ec2'
import { requestToken } from './discover.ts'
import { AZ_TAG, hasRole, roleFilters, tagSpec, tagValue } from './tags.ts'

/** NAT gateways that exist or are coming: failed and deleted ones do not count. */
const LIVE_NAT = ['pending', 'available']

export async function findNatGateways(ec2: EC2Client, cluster: string): Promise<NatGateway[]> {
  const out = await ec2.send(
    new DescribeNatGatewaysCommand({ Filter: [...roleFilters(cluster, 'nat-gateway'), { Name: 'state', Values: LIVE_NAT }] }),
  )
  // Checked here too: moto ignores tag filters on DescribeNatGateways, and a NAT gateway of
  // another cluster must never be taken for ours.
  return (out.NatGateways ?? []).filter((n) => hasRole(n.Tags, cluster, 'nat-gateway') && LIVE_NAT.includes(n.State ?? ''))
}

export async function findNatAddresses(ec2: EC2Client, cluster: string): Promise<Address[]> {
  const out = await ec2.send(new DescribeAddressesCommand({ Filters: roleFilters(cluster, 'nat-eip') }))
  return out.Addresses ?? []
}

export function natAz(n: NatGateway): string | undefined {
  return tagValue(n.Tags, AZ_TAG)
}

export function addressAz(a: Address): string | undefined {
  return tagValue(a.Tags, AZ_TAG)
}

export async function allocateNatAddress(ec2: EC2Client, cluster: string, az: string): Promise<Address> {
  const out = await ec2.send(
    new AllocateAddressCommand({
      Domain: 'vpc',
      TagSpecifications: tagSpec('elastic-ip', { cluster, role: 'nat-eip', name: `${cluster}-nat-${az}`, az }),
    }),
  )
  return { AllocationId: out.AllocationId, PublicIp: out.PublicIp }
}

/**
 * Creates a NAT gateway with an idempotency token. EC2 answers a used token with its first gateway
 * even once that one has failed or been deleted: then this is a replacement, asked again with the
 * next token of the series (as for the bastion, lib/aws/bastion.ts).
 */
export async function createNatGateway(
  ec2: EC2Client,
  o: { cluster: string; az: string; subnetId: string; allocationId: string },
): Promise<NatGateway> {
  for (let generation = 0; ; generation++) {
    const nat = await requestNatGateway(ec2, o, generation)
    const now = (await describeNatGateways(ec2, [nat.NatGatewayId!]))[0]
    if (!['failed', 'deleting', 'deleted'].includes(now?.State ?? '')) return nat
    if (generation >= 20) throw new Error(`every NAT gateway token answers a gateway that is gone (last ${nat.NatGatewayId})`)
  }
}

async function requestNatGateway(
  ec2: EC2Client,
  o: { cluster: string; az: string; subnetId: string; allocationId: string },
  generation: number,
): Promise<NatGateway> {
  const input = {
    SubnetId: o.subnetId,
    AllocationId: o.allocationId,
    ConnectivityType: 'public' as const,
    TagSpecifications: tagSpec('natgateway', { cluster: o.cluster, role: 'nat-gateway', name: `${o.cluster}-nat-${o.az}`, az: o.az }),
  }
  const out = await ec2.send(new CreateNatGatewayCommand({ ...input, ClientToken: requestToken(input, generation) }))
  return out.NatGateway!
}

export async function describeNatGateways(ec2: EC2Client, ids: string[]): Promise<NatGateway[]> {
  const out = await ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: ids }))
  return out.NatGateways ?? []
}
