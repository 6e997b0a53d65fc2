import {
  CreateSubnetCommand,
  CreateTagsCommand,
  DescribeSubnetsCommand,
  ModifySubnetAttributeCommand,
  type EC2Client,
  type Subnet,
} from '@aws-sdk/client-ec2'
import { CLUSTER_TAG, ROLE_TAG, runbookTags, tagValue } from './tags.ts'

export type Tier = 'public' | 'private'

/** The tag EKS and the AWS Load Balancer Controller use to place load balancers. */
const ELB_TAG: Record<Tier, string> = { public: 'kubernetes.io/role/elb', private: 'kubernetes.io/role/internal-elb' }

export async function findSubnets(ec2: EC2Client, cluster: string): Promise<Subnet[]> {
  const out = await ec2.send(
    new DescribeSubnetsCommand({
      Filters: [
        { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
        { Name: `tag:${ROLE_TAG}`, Values: ['public-subnet', 'private-subnet'] },
      ],
    }),
  )
  return out.Subnets ?? []
}

function subnetTier(s: Subnet): Tier | undefined {
  const role = tagValue(s.Tags, ROLE_TAG)
  return role === 'public-subnet' ? 'public' : role === 'private-subnet' ? 'private' : undefined
}

export function subnetsOf(subnets: Subnet[], tier: Tier): Subnet[] {
  return subnets.filter((s) => subnetTier(s) === tier).sort((a, b) => a.AvailabilityZone!.localeCompare(b.AvailabilityZone!))
}

/** What is not as it should be on an existing subnet of the tier. */
export function subnetDrift(s: Subnet, tier: Tier): string[] {
  const drift: string[] = []
  if (tagValue(s.Tags, ELB_TAG[tier]) !== '1') drift.push(`tag ${ELB_TAG[tier]}=1`)
  if (tier === 'public' && !s.MapPublicIpOnLaunch) drift.push('public IPs on launch')
  return drift
}

export async function createSubnet(
  ec2: EC2Client,
  o: { cluster: string; vpcId: string; tier: Tier; az: string; cidr: string },
): Promise<Subnet> {
  const out = await ec2.send(
    new CreateSubnetCommand({
      VpcId: o.vpcId,
      CidrBlock: o.cidr,
      AvailabilityZone: o.az,
      TagSpecifications: [
        {
          ResourceType: 'subnet',
          Tags: runbookTags({
            cluster: o.cluster,
            role: `${o.tier}-subnet`,
            name: `${o.cluster}-${o.tier}-${o.az}`,
            az: o.az,
            extra: { [ELB_TAG[o.tier]]: '1' },
          }),
        },
      ],
    }),
  )
  return out.Subnet!
}

export async function repairSubnet(ec2: EC2Client, s: Subnet, tier: Tier): Promise<void> {
  if (tagValue(s.Tags, ELB_TAG[tier]) !== '1')
    await ec2.send(new CreateTagsCommand({ Resources: [s.SubnetId!], Tags: [{ Key: ELB_TAG[tier], Value: '1' }] }))
  if (tier === 'public' && !s.MapPublicIpOnLaunch)
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: s.SubnetId!, MapPublicIpOnLaunch: { Value: true } }))
}
