// Route tables: one public (default route to the internet gateway) and one private per AZ
// (default route to the NAT gateway of that AZ, or to the single NAT gateway).
import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DescribeRouteTablesCommand,
  ReplaceRouteCommand,
  ReplaceRouteTableAssociationCommand,
  type EC2Client,
  type RouteTable,
} from '@aws-sdk/client-ec2'
import { requestToken } from './discover.ts'
import { AZ_TAG, CLUSTER_TAG, ROLE_TAG, tagSpec, tagValue, type Role } from './tags.ts'

type RouteTarget = { GatewayId: string } | { NatGatewayId: string }

export interface RouteTableSpec {
  role: Extract<Role, 'public-route-table' | 'private-route-table'>
  name: string
  az?: string
  target?: RouteTarget
  subnetIds: string[]
}

export async function findRouteTables(ec2: EC2Client, cluster: string): Promise<RouteTable[]> {
  const out = await ec2.send(
    new DescribeRouteTablesCommand({
      Filters: [
        { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
        { Name: `tag:${ROLE_TAG}`, Values: ['public-route-table', 'private-route-table'] },
      ],
    }),
  )
  return out.RouteTables ?? []
}

export function matchRouteTables(tables: RouteTable[], spec: Pick<RouteTableSpec, 'role' | 'az'>): RouteTable[] {
  return tables.filter((t) => tagValue(t.Tags, ROLE_TAG) === spec.role && (spec.az === undefined || tagValue(t.Tags, AZ_TAG) === spec.az))
}

function targetId(t: RouteTarget): string {
  return 'GatewayId' in t ? t.GatewayId : t.NatGatewayId
}

function defaultRoute(rt: RouteTable) {
  return rt.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')
}

/** The differences between a route table and its spec, in words. */
export function routeTableDrift(rt: RouteTable | undefined, spec: RouteTableSpec): string[] {
  if (!rt) return [`create ${spec.name}`]
  const drift: string[] = []
  if (spec.target) {
    const r = defaultRoute(rt)
    const current = r?.GatewayId ?? r?.NatGatewayId
    if (current !== targetId(spec.target) || r?.State === 'blackhole')
      drift.push(`default route ${current ?? 'missing'} -> ${targetId(spec.target)}`)
  }
  const associated = new Set((rt.Associations ?? []).map((a) => a.SubnetId))
  const missing = spec.subnetIds.filter((s) => !associated.has(s))
  if (missing.length) drift.push(`associate ${missing.join(', ')}`)
  return drift
}

export async function ensureRouteTable(
  ec2: EC2Client,
  o: { cluster: string; vpcId: string; existing?: RouteTable; spec: RouteTableSpec },
): Promise<RouteTable> {
  const { spec } = o
  let rt = o.existing
  if (!rt) {
    const input = {
      VpcId: o.vpcId,
      TagSpecifications: tagSpec('route-table', { cluster: o.cluster, role: spec.role, name: spec.name, az: spec.az }),
    }
    const out = await ec2.send(new CreateRouteTableCommand({ ...input, ClientToken: requestToken(input) }))
    rt = out.RouteTable!
  }
  const rtId = rt.RouteTableId!
  if (spec.target) {
    const r = defaultRoute(rt)
    if (!r) await ec2.send(new CreateRouteCommand({ RouteTableId: rtId, DestinationCidrBlock: '0.0.0.0/0', ...spec.target }))
    else if ((r.GatewayId ?? r.NatGatewayId) !== targetId(spec.target) || r.State === 'blackhole') {
      await ec2.send(new ReplaceRouteCommand({ RouteTableId: rtId, DestinationCidrBlock: '0.0.0.0/0', ...spec.target }))
    }
  }
  const associated = new Set((rt.Associations ?? []).map((a) => a.SubnetId))
  for (const subnetId of spec.subnetIds.filter((s) => !associated.has(s))) {
    // A subnet is associated with one route table at most: move it if another table holds it.
    const current = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }))
    const assoc = current.RouteTables?.flatMap((t) => t.Associations ?? []).find((a) => a.SubnetId === subnetId)
    if (assoc?.RouteTableAssociationId)
      await ec2.send(new ReplaceRouteTableAssociationCommand({ AssociationId: assoc.RouteTableAssociationId, RouteTableId: rtId }))
    else await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtId, SubnetId: subnetId }))
  }
  return rt
}
