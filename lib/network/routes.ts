// Step 1: route tables. Public subnets route to the internet gateway; each private subnet
// routes to the NAT gateway of its AZ (per-az) or to the single NAT gateway.
import { subnetsOf } from '../aws/subnets.ts'
import { findRouteTables, matchRouteTables, ensureRouteTable, routeTableDrift, type RouteTableSpec } from '../aws/route-tables.ts'
import { natAz } from '../aws/nat.ts'
import { single } from '../aws/discover.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { natZones, type NetworkState, type TargetOf } from './target.ts'

function publicSpec(cluster: string, s: NetworkState): RouteTableSpec {
  return {
    role: 'public-route-table',
    name: `${cluster}-public`,
    target: s.igw?.InternetGatewayId ? { GatewayId: s.igw.InternetGatewayId } : undefined,
    subnetIds: subnetsOf(s.subnets, 'public').map((x) => x.SubnetId!),
  }
}

function privateSpecs(ctx: TaskContext, target: TargetOf, s: NetworkState): RouteTableSpec[] {
  const t = target(ctx)
  const zones = natZones(t, s.azs)
  return s.azs.map((az) => {
    const natZone = zones.includes(az) ? az : zones[0]
    const nat = s.nats.find((n) => natAz(n) === natZone)
    return {
      role: 'private-route-table',
      name: `${t.cluster}-private-${az}`,
      az,
      target: nat?.NatGatewayId ? { NatGatewayId: nat.NatGatewayId } : undefined,
      subnetIds: subnetsOf(s.subnets, 'private')
        .filter((x) => x.AvailabilityZone === az)
        .map((x) => x.SubnetId!),
    }
  })
}

function routesTask(title: string, target: TargetOf, specs: (ctx: TaskContext, s: NetworkState) => RouteTableSpec[]): Task<NetworkState> {
  return {
    title,
    async check(ctx, s) {
      s.routeTables = await findRouteTables(ctx.aws.ec2, target(ctx).cluster)
      const words = specs(ctx, s).flatMap((spec) => {
        const rt = single(matchRouteTables(s.routeTables, spec), `${spec.name} route tables`, (r) => r.RouteTableId)
        const drift = routeTableDrift(rt, spec)
        if (!spec.target) drift.push('default route once its gateway exists')
        return drift.length ? [`${spec.name}: ${drift.join(', ')}`] : []
      })
      if (words.length) return { holds: false, detail: words.join('; ') }
      return {
        holds: true,
        detail: specs(ctx, s)
          .map((spec) => matchRouteTables(s.routeTables, spec)[0]!.RouteTableId)
          .join(', '),
      }
    },
    async apply(ctx, s) {
      const t = target(ctx)
      const done: string[] = []
      for (const spec of specs(ctx, s)) {
        const existing = matchRouteTables(s.routeTables, spec)[0]
        if (!routeTableDrift(existing, spec).length) continue
        const rt = await ensureRouteTable(ctx.aws.ec2, { cluster: t.cluster, vpcId: s.vpc!.VpcId!, existing, spec })
        done.push(`${spec.name} ${rt.RouteTableId}`)
      }
      s.routeTables = await findRouteTables(ctx.aws.ec2, t.cluster)
      return done.join(', ')
    },
  }
}

export function publicRoutesTask(target: TargetOf): Task<NetworkState> {
  return routesTask('Public route table: default route to the internet gateway', target, (ctx, s) => [publicSpec(target(ctx).cluster, s)])
}

export function privateRoutesTask(target: TargetOf): Task<NetworkState> {
  return routesTask('Private route tables: default route to the NAT gateway', target, (ctx, s) => privateSpecs(ctx, target, s))
}
