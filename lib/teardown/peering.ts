// Teardown of 05-auditor's peering: the connections tagged for this CLUSTER_NAME, and the routes
// through them in the client VPCs' route tables (those tables are not the runbook's, so only the
// routes it added go; the Ledger's and Auditor's tables are deleted with their VPCs).
import { DeleteRouteCommand, DeleteVpcPeeringConnectionCommand } from '@aws-sdk/client-ec2'
import { findPeerings, vpcRouteTables } from '../aws/peering.ts'
import type { Task, TaskContext } from '../engine/task.ts'

async function clientRoutes(ctx: TaskContext, peeringIds: string[]): Promise<{ routeTableId: string; cidr: string }[]> {
  const tables = (await Promise.all(ctx.config.auditor.clientVpcIds.map((id) => vpcRouteTables(ctx.aws.ec2, id)))).flat()
  return tables.flatMap((t) =>
    (t.Routes ?? [])
      .filter((r) => r.VpcPeeringConnectionId && peeringIds.includes(r.VpcPeeringConnectionId))
      .map((r) => ({ routeTableId: t.RouteTableId!, cidr: r.DestinationCidrBlock! })),
  )
}

export function peeringGoneTask(): Task {
  return {
    title: 'VPC peering connections deleted (and their routes in client VPCs)',
    async check(ctx) {
      const ids = (await findPeerings(ctx.aws.ec2, ctx.config.clusterName)).map((p) => p.VpcPeeringConnectionId!)
      const routes = await clientRoutes(ctx, ids)
      const left = [...ids, ...routes.map((r) => `route ${r.cidr} in ${r.routeTableId}`)]
      return left.length ? { holds: false, detail: `delete ${left.join(', ')}` } : { holds: true, detail: 'none' }
    },
    async apply(ctx) {
      const ec2 = ctx.aws.ec2
      const ids = (await findPeerings(ec2, ctx.config.clusterName)).map((p) => p.VpcPeeringConnectionId!)
      const routes = await clientRoutes(ctx, ids)
      for (const r of routes) await ec2.send(new DeleteRouteCommand({ RouteTableId: r.routeTableId, DestinationCidrBlock: r.cidr }))
      for (const id of ids) await ec2.send(new DeleteVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id }))
      return `deleted ${ids.join(', ')}${routes.length ? ` and ${routes.length} client route(s)` : ''}`
    },
  }
}
