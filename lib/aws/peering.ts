// VPC peering connections between the Ledger's, the Auditor's and the client VPCs, and the
// routes through them. A connection is found again by its tags and the two VPC ids; routes are
// keyed by destination CIDR, so a rerun adds only what is missing and never a second route.
import {
  AcceptVpcPeeringConnectionCommand,
  CreateRouteCommand,
  CreateVpcPeeringConnectionCommand,
  DescribeRouteTablesCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  ReplaceRouteCommand,
  type EC2Client,
  type Route,
  type RouteTable,
  type Vpc,
  type VpcPeeringConnection,
} from '@aws-sdk/client-ec2'
import { single } from './discover.ts'
import { CLUSTER_TAG, ROLE_TAG, tagSpec, tagValue } from './tags.ts'

/** States in which a connection still counts (the others are final and replaced). */
const LIVE = new Set(['initiating-request', 'pending-acceptance', 'provisioning', 'active'])

export interface PeerVpc {
  /** e.g. "ledger", "auditor", "client vpc-0abc" */
  label: string
  vpcId: string
  /** The primary range. */
  cidr: string
  /** Every range of the VPC, secondary blocks too (the primary when absent): each is routed to the peer. */
  cidrs?: string[]
  /** The route tables that must route to the other side. */
  routeTables: RouteTable[]
}

export interface PeeringSpec {
  name: string
  requester: PeerVpc
  accepter: PeerVpc
}

export const peeringState = (p: VpcPeeringConnection | undefined) => p?.Status?.Code ?? 'absent'

/** Every live connection tagged for this cluster (tag filters are applied here too: emulators ignore some). */
export async function findPeerings(ec2: EC2Client, cluster: string): Promise<VpcPeeringConnection[]> {
  const out = await ec2.send(new DescribeVpcPeeringConnectionsCommand({ Filters: [{ Name: `tag:${CLUSTER_TAG}`, Values: [cluster] }] }))
  return (out.VpcPeeringConnections ?? []).filter(
    (p) => tagValue(p.Tags, CLUSTER_TAG) === cluster && tagValue(p.Tags, ROLE_TAG) === 'peering' && LIVE.has(peeringState(p)),
  )
}

export function matchPeering(all: VpcPeeringConnection[], spec: PeeringSpec): VpcPeeringConnection | undefined {
  const ids = [spec.requester.vpcId, spec.accepter.vpcId].sort().join(' ')
  const hits = all.filter((p) => [p.RequesterVpcInfo?.VpcId, p.AccepterVpcInfo?.VpcId].sort().join(' ') === ids)
  return single(hits, `peering connections between ${spec.requester.vpcId} and ${spec.accepter.vpcId}`, (p) => p.VpcPeeringConnectionId)
}

export async function createPeering(ec2: EC2Client, cluster: string, spec: PeeringSpec): Promise<VpcPeeringConnection> {
  const out = await ec2.send(
    new CreateVpcPeeringConnectionCommand({
      VpcId: spec.requester.vpcId,
      PeerVpcId: spec.accepter.vpcId,
      TagSpecifications: tagSpec('vpc-peering-connection', { cluster, role: 'peering', name: spec.name }),
    }),
  )
  return out.VpcPeeringConnection!
}

export async function acceptPeering(ec2: EC2Client, id: string): Promise<void> {
  await ec2.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id }))
}

export async function describePeering(ec2: EC2Client, id: string): Promise<VpcPeeringConnection | undefined> {
  const out = await ec2.send(new DescribeVpcPeeringConnectionsCommand({ VpcPeeringConnectionIds: [id] }))
  return out.VpcPeeringConnections?.[0]
}

/**
 * Whether an active connection joins the two VPCs (whoever made it). AWS accepts a security-group
 * rule that names a peer VPC's group only while such a connection is active
 * (https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html).
 */
export async function activePeeringBetween(ec2: EC2Client, a: string, b: string): Promise<boolean> {
  const out = await ec2.send(new DescribeVpcPeeringConnectionsCommand({ Filters: [{ Name: 'status-code', Values: ['active'] }] }))
  const pair = [a, b].sort().join(' ')
  return (out.VpcPeeringConnections ?? []).some(
    (p) => peeringState(p) === 'active' && [p.RequesterVpcInfo?.VpcId, p.AccepterVpcInfo?.VpcId].sort().join(' ') === pair,
  )
}

export async function describeVpcs(ec2: EC2Client, ids: string[]): Promise<Vpc[]> {
  if (!ids.length) return []
  const out = await ec2.send(new DescribeVpcsCommand({ VpcIds: ids }))
  return out.Vpcs ?? []
}

/** Every route table of a VPC the runbook does not own (a client VPC). */
export async function vpcRouteTables(ec2: EC2Client, vpcId: string): Promise<RouteTable[]> {
  const out = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))
  return out.RouteTables ?? []
}

/** A VPC's ranges: the primary block and every associated secondary one. */
export function vpcCidrs(v: Vpc): string[] {
  const secondary = (v.CidrBlockAssociationSet ?? []).filter((a) => a.CidrBlockState?.State === 'associated').map((a) => a.CidrBlock!)
  return [...new Set([v.CidrBlock!, ...secondary])]
}

interface RouteNeed {
  routeTableId: string
  cidr: string
  peeringId: string
  /** The route there now through one of the runbook's connections (an older one, or blackholed), to be replaced. */
  replace: boolean
  /** The route there now through something the runbook did not make (a transit gateway, another peering): never replaced. */
  foreign?: string
}

/** What a route goes through, in AWS's words. */
function routeTarget(r: Route): string {
  const t =
    r.TransitGatewayId ??
    r.VpcPeeringConnectionId ??
    r.NatGatewayId ??
    r.GatewayId ??
    r.NetworkInterfaceId ??
    r.InstanceId ??
    r.LocalGatewayId ??
    r.CarrierGatewayId ??
    r.CoreNetworkArn ??
    'an unknown target'
  return r.State === 'blackhole' ? `${t} (blackhole)` : t
}

/**
 * The routes missing on both sides of one connection. A route to the peer's range that goes
 * through one of `ours` (the runbook's connections, found by tag) is replaced; one through
 * anything else is someone's (a transit gateway, say) and is reported as foreign, never replaced.
 */
export function missingRoutes(spec: PeeringSpec, peeringId: string, ours: ReadonlySet<string> = new Set([peeringId])): RouteNeed[] {
  const needs: RouteNeed[] = []
  for (const [side, other] of [
    [spec.requester, spec.accepter],
    [spec.accepter, spec.requester],
  ] as const) {
    for (const cidr of other.cidrs ?? [other.cidr])
      for (const rt of side.routeTables) {
        const r = rt.Routes?.find((x) => x.DestinationCidrBlock === cidr)
        if (r && r.VpcPeeringConnectionId === peeringId && r.State !== 'blackhole') continue
        const mine =
          !r || (r.VpcPeeringConnectionId !== undefined && (ours.has(r.VpcPeeringConnectionId) || r.VpcPeeringConnectionId === peeringId))
        needs.push({
          routeTableId: rt.RouteTableId!,
          cidr,
          peeringId,
          replace: Boolean(r),
          ...(mine ? {} : { foreign: routeTarget(r!) }),
        })
      }
  }
  return needs
}

export async function addRoute(ec2: EC2Client, need: RouteNeed): Promise<void> {
  const input = { RouteTableId: need.routeTableId, DestinationCidrBlock: need.cidr, VpcPeeringConnectionId: need.peeringId }
  await ec2.send(need.replace ? new ReplaceRouteCommand(input) : new CreateRouteCommand(input))
}
