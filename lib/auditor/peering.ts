// Step 5's networking: the Ledger's, the Auditor's and the client VPCs peered pairwise (the
// guide's three connections) and routes on both sides of each. Who may reach each Envoy (the
// Auditor and clients the Ledger's on 50051/50052, the Ledger and clients the Auditor's on
// 40051/40052) is the envoy Service's source ranges (lib/scalardl/values.ts envoySourceRanges).
import type { VpcPeeringConnection } from '@aws-sdk/client-ec2'
import {
  acceptPeering,
  addRoute,
  createPeering,
  describePeering,
  describeVpcs,
  findPeerings,
  matchPeering,
  missingRoutes,
  peeringState,
  vpcRouteTables,
  vpcCidrs,
  type PeerVpc,
  type PeeringSpec,
} from '../aws/peering.ts'
import { findRouteTables } from '../aws/route-tables.ts'
import { findVpc } from '../aws/vpc.ts'
import { cidrOverlap, type Config, type ConfigProblem } from '../config/load.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { waitFor } from '../engine/wait.ts'

export const LEDGER_ENVOY_PORTS = [50051, 50052]
export const AUDITOR_ENVOY_PORTS = [40051, 40052]

interface Peers {
  ledger?: PeerVpc
  auditor?: PeerVpc
  clients: PeerVpc[]
}

/** The three kinds of VPC, found by tag (ours) or by id (the clients'). */
export async function discoverPeers(ctx: Pick<TaskContext, 'aws' | 'config'>): Promise<Peers> {
  const ec2 = ctx.aws.ec2
  const own = async (label: string, cluster: string): Promise<PeerVpc | undefined> => {
    const [vpc, routeTables] = await Promise.all([findVpc(ec2, cluster), findRouteTables(ec2, cluster)])
    return vpc ? { label, vpcId: vpc.VpcId!, cidr: vpc.CidrBlock!, cidrs: vpcCidrs(vpc), routeTables } : undefined
  }
  const [ledger, auditor, clientVpcs] = await Promise.all([
    own('ledger', ctx.config.clusterName),
    own('auditor', ctx.config.auditor.clusterName),
    describeVpcs(ec2, ctx.config.auditor.clientVpcIds),
  ])
  const clients = await Promise.all(
    clientVpcs.map(async (v) => ({
      label: `client ${v.VpcId}`,
      vpcId: v.VpcId!,
      cidr: v.CidrBlock!,
      cidrs: vpcCidrs(v),
      routeTables: await vpcRouteTables(ec2, v.VpcId!),
    })),
  )
  return { ledger, auditor, clients }
}

/** Problems with CLIENT_VPC_IDS that need AWS to see: unknown ids, overlapping ranges. Read-only. */
export async function clientVpcProblems(ctx: TaskContext): Promise<ConfigProblem[]> {
  const c = ctx.config
  if (!c.auditor.enabled || !c.auditor.clientVpcIds.length) return []
  const fix = 'set CLIENT_VPC_IDS to existing VPCs in AWS_REGION whose ranges overlap neither VPC_CIDR nor AUDITOR_VPC_CIDR nor each other'
  let vpcs
  try {
    vpcs = await describeVpcs(ctx.aws.ec2, c.auditor.clientVpcIds)
  } catch (e) {
    if ((e as Error).name === 'InvalidVpcID.NotFound')
      return [{ key: 'CLIENT_VPC_IDS', message: `names a VPC that does not exist in ${c.region}: ${(e as Error).message}`, fix }]
    throw e
  }
  const missing = c.auditor.clientVpcIds.filter((id) => !vpcs.some((v) => v.VpcId === id))
  if (missing.length) return [{ key: 'CLIENT_VPC_IDS', message: `${missing.join(', ')} not found in ${c.region}`, fix }]
  const overlap = cidrOverlap([
    { key: 'VPC_CIDR', cidr: c.vpcCidr },
    { key: 'AUDITOR_VPC_CIDR', cidr: c.auditor.vpcCidr },
    ...vpcs.flatMap((v) => vpcCidrs(v).map((cidr) => ({ key: `client VPC ${v.VpcId}`, cidr }))),
  ])
  return overlap ? [{ key: 'CLIENT_VPC_IDS', message: overlap, fix }] : []
}

/** The guide's connections: Ledger-Auditor, and each client with both. */
export function peeringSpecs(c: Config, p: Peers): PeeringSpec[] {
  if (!p.ledger || !p.auditor) return []
  return [
    { name: `${c.clusterName}-to-${c.auditor.clusterName}`, requester: p.ledger, accepter: p.auditor },
    ...p.clients.flatMap((client) => [
      { name: `${c.clusterName}-to-${client.vpcId}`, requester: p.ledger!, accepter: client },
      { name: `${c.auditor.clusterName}-to-${client.vpcId}`, requester: p.auditor!, accepter: client },
    ]),
  ]
}

export interface PeeringState {
  peers?: Peers
  connections: { spec: PeeringSpec; connection?: VpcPeeringConnection }[]
  /** Every connection the runbook made (by tag), past ones too: a route through one of them is the runbook's own. */
  ours?: Set<string>
}

const describe = (spec: PeeringSpec) => `${spec.requester.label}<->${spec.accepter.label}`

async function survey(ctx: TaskContext, s: PeeringState): Promise<void> {
  s.peers = await discoverPeers(ctx)
  const all = await findPeerings(ctx.aws.ec2, ctx.config.clusterName)
  s.ours = new Set(all.map((p) => p.VpcPeeringConnectionId!))
  s.connections = peeringSpecs(ctx.config, s.peers).map((spec) => ({ spec, connection: matchPeering(all, spec) }))
}

function notYet(ctx: TaskContext, s: PeeringState): string | undefined {
  if (s.peers?.ledger && s.peers.auditor) return undefined
  const missing = [...(s.peers?.ledger ? [] : ['the Ledger VPC (01-vpc)']), ...(s.peers?.auditor ? [] : ['the Auditor VPC'])].join(' and ')
  return `once ${missing} exist${ctx.dryRun ? 's' : ''}`
}

export function peeringTask(): Task<PeeringState> {
  return {
    title: 'VPC peering: Ledger<->Auditor and each client VPC with both, accepted and active',
    async check(ctx, s) {
      await survey(ctx, s)
      const wait = notYet(ctx, s)
      if (wait)
        return ctx.dryRun
          ? { holds: false, detail: `peer the VPCs ${wait}` }
          : { holds: false, conflict: `cannot peer: no VPC for ${wait.replace(/^once /, '')}`, hint: 'run 01-vpc, then rerun 05-auditor' }
      const todo = s.connections
        .filter((x) => peeringState(x.connection) !== 'active')
        .map(
          (x) =>
            `${x.connection ? `accept ${x.connection.VpcPeeringConnectionId} (${peeringState(x.connection)})` : 'create'} ${describe(x.spec)}`,
        )
      if (todo.length) return { holds: false, detail: todo.join('; ') }
      return {
        holds: true,
        detail: s.connections.map((x) => `${describe(x.spec)} ${x.connection!.VpcPeeringConnectionId} active`).join(', '),
      }
    },
    async apply(ctx, s) {
      const ec2 = ctx.aws.ec2
      const done: string[] = []
      await Promise.all(
        s.connections.map(async (x) => {
          if (peeringState(x.connection) === 'active') return
          x.connection ??= await createPeering(ec2, ctx.config.clusterName, x.spec)
          const id = x.connection.VpcPeeringConnectionId!
          x.connection = await waitFor(
            { what: `peering ${id} (${describe(x.spec)}) to be active`, timeoutMs: ctx.config.waitTimeoutMs, log: ctx.log },
            async () => {
              const now = await describePeering(ec2, id)
              const state = peeringState(now)
              if (state === 'pending-acceptance') await acceptPeering(ec2, id) // same account: the runbook accepts its own request
              if (['failed', 'rejected', 'expired', 'deleted'].includes(state))
                return { done: false, status: state, failed: `the connection is ${state}: ${now?.Status?.Message ?? ''}` }
              return { done: state === 'active', status: state, value: now }
            },
          )
          done.push(`${describe(x.spec)} ${id}`)
        }),
      )
      return `active: ${done.join(', ')}`
    },
    hint: 'a failed connection usually means overlapping ranges or a VPC in another region: check CLIENT_VPC_IDS',
  }
}

export function peeringRoutesTask(): Task<PeeringState> {
  return {
    title: 'Routes to each peer in every route table on both sides',
    async check(_ctx, s) {
      // The peering task's survey read the route tables; making a connection does not change them.
      if (!s.connections.length || s.connections.some((x) => peeringState(x.connection) !== 'active'))
        return { holds: false, detail: 'add the routes once the connections are active' }
      const needs = s.connections.flatMap((x) => missingRoutes(x.spec, x.connection!.VpcPeeringConnectionId!, s.ours))
      const foreign = needs.filter((n) => n.foreign)
      if (foreign.length) {
        return {
          holds: false,
          conflict: `${foreign.map((n) => `route table ${n.routeTableId} already routes ${n.cidr} to ${n.foreign}`).join('; ')}: a route this runbook did not make, which it does not replace`,
          hint: 'that range of a Scalar DL VPC is already routed elsewhere (a transit gateway, another peering): if the route is stale, delete it and rerun; if it is how that VPC reaches Scalar DL, keep it and leave the VPC out of CLIENT_VPC_IDS',
        }
      }
      if (needs.length)
        return {
          holds: false,
          detail: needs.map((n) => `${n.replace ? 'replace' : 'add'} ${n.routeTableId} ${n.cidr} -> ${n.peeringId}`).join('; '),
        }
      const count = s.connections.reduce((n, x) => n + x.spec.requester.routeTables.length + x.spec.accepter.routeTables.length, 0)
      return { holds: true, detail: `${count} route table(s) route to their peers` }
    },
    async apply(ctx, s) {
      const needs = s.connections
        .flatMap((x) => missingRoutes(x.spec, x.connection!.VpcPeeringConnectionId!, s.ours))
        .filter((n) => !n.foreign)
      await Promise.all(needs.map((n) => addRoute(ctx.aws.ec2, n)))
      return `${needs.length} route(s): ${needs.map((n) => `${n.routeTableId} ${n.cidr}`).join(', ')}`
    },
  }
}
