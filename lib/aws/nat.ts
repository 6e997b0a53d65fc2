// NAT gateways and their Elastic IPs, one per AZ that needs one.
import { AllocateAddressCommand, CreateNatGatewayCommand, DescribeAddressesCommand, DescribeNatGatewaysCommand, type Address, type EC2Client, type NatGateway } from '@aws-sdk/client-ec2'
import { clientToken } from './discover.ts'
import { AZ_TAG, hasRole, roleFilters, tagSpec, tagValue } from './tags.ts'

/** NAT gateways that exist or are coming: failed and deleted ones do not count. */
const LIVE_NAT = ['pending', 'available']

export async function findNatGateways(ec2: EC2Client, cluster: string): Promise<NatGateway[]> {
  const out = await ec2.send(new DescribeNatGatewaysCommand({ Filter: [...roleFilters(cluster, 'nat-gateway'), { Name: 'state', Values: LIVE_NAT }] }))
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
  const out = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tagSpec('elastic-ip', { cluster, role: 'nat-eip', name: `${cluster}-nat-${az}`, az }) }))
  return { AllocationId: out.AllocationId, PublicIp: out.PublicIp }
}

export async function createNatGateway(ec2: EC2Client, o: { cluster: string; az: string; subnetId: string; allocationId: string }): Promise<NatGateway> {
  const out = await ec2.send(
    new CreateNatGatewayCommand({
      SubnetId: o.subnetId,
      AllocationId: o.allocationId,
      ConnectivityType: 'public',
      ClientToken: clientToken(o.cluster, 'nat', o.subnetId, o.allocationId),
      TagSpecifications: tagSpec('natgateway', { cluster: o.cluster, role: 'nat-gateway', name: `${o.cluster}-nat-${o.az}`, az: o.az }),
    }),
  )
  return out.NatGateway!
}

export async function describeNatGateways(ec2: EC2Client, ids: string[]): Promise<NatGateway[]> {
  const out = await ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: ids }))
  return out.NatGateways ?? []
}
