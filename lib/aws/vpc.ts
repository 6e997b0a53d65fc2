import {
  CreateVpcCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  ModifyVpcAttributeCommand,
  type EC2Client,
  type Vpc,
} from '@aws-sdk/client-ec2'
import { single } from './discover.ts'
import { roleFilters, tagSpec } from './tags.ts'

export async function findVpc(ec2: EC2Client, cluster: string): Promise<Vpc | undefined> {
  const out = await ec2.send(new DescribeVpcsCommand({ Filters: roleFilters(cluster, 'vpc') }))
  return single(out.Vpcs ?? [], 'VPCs', (v) => v.VpcId)
}

export async function createVpc(ec2: EC2Client, cluster: string, cidr: string, name = `${cluster}-vpc`): Promise<Vpc> {
  const out = await ec2.send(new CreateVpcCommand({ CidrBlock: cidr, TagSpecifications: tagSpec('vpc', { cluster, role: 'vpc', name }) }))
  return out.Vpc!
}

export async function vpcDns(ec2: EC2Client, vpcId: string): Promise<{ support: boolean; hostnames: boolean }> {
  const [s, h] = await Promise.all([
    ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsSupport' })),
    ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsHostnames' })),
  ])
  return { support: Boolean(s.EnableDnsSupport?.Value), hostnames: Boolean(h.EnableDnsHostnames?.Value) }
}

/** EKS needs both; AWS takes one attribute per call. */
export async function enableVpcDns(ec2: EC2Client, vpcId: string, current: { support: boolean; hostnames: boolean }): Promise<void> {
  if (!current.support) await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsSupport: { Value: true } }))
  if (!current.hostnames) await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }))
}
