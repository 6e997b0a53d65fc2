import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  DescribeInternetGatewaysCommand,
  type EC2Client,
  type InternetGateway,
} from '@aws-sdk/client-ec2'
import { single } from './discover.ts'
import { roleFilters, tagSpec } from './tags.ts'

export async function findInternetGateway(ec2: EC2Client, cluster: string): Promise<InternetGateway | undefined> {
  const out = await ec2.send(new DescribeInternetGatewaysCommand({ Filters: roleFilters(cluster, 'internet-gateway') }))
  return single(out.InternetGateways ?? [], 'internet gateways', (g) => g.InternetGatewayId)
}

export function isAttached(igw: InternetGateway, vpcId: string): boolean {
  return (igw.Attachments ?? []).some((a) => a.VpcId === vpcId && (a.State === 'attached' || (a.State as string) === 'available'))
}

export async function createInternetGateway(ec2: EC2Client, cluster: string): Promise<InternetGateway> {
  const out = await ec2.send(
    new CreateInternetGatewayCommand({
      TagSpecifications: tagSpec('internet-gateway', { cluster, role: 'internet-gateway', name: `${cluster}-igw` }),
    }),
  )
  return out.InternetGateway!
}

export async function attachInternetGateway(ec2: EC2Client, igwId: string, vpcId: string): Promise<void> {
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId }))
}
