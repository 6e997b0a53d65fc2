// Check (with AUDITOR_ENABLED): the VPC peering connections of 05-auditor are active, every
// route table on both sides routes to the peer through them, and each envoy Service admits the
// peers' ranges (its source ranges, which EKS's controller opens the NodePorts to).
import { discoverPeers, peeringSpecs } from '../lib/auditor/peering.ts'
import { findPeerings, matchPeering, missingRoutes, peeringState } from '../lib/aws/peering.ts'
import { SOURCE_RANGES } from '../lib/scalardl/values.ts'
import { isMain } from '../lib/engine/main.ts'
import type { Check } from '../lib/verify/check.ts'

export const peeringCheck: Check = {
  name: 'peering',
  title: 'VPC peering active, routes on both sides, each envoy admits its peers',
  hint: 'a connection that is not active or a missing route cuts the Auditor off the Ledger (or clients off both): aws ec2 describe-vpc-peering-connections --filters Name=tag:scalardl-runbook/cluster,Values=CLUSTER_NAME shows them; rerun 05-auditor, which repairs both (ONCALL.md, "Check: peering")',
  applies: (config) => config.auditor.enabled,
  async run(v) {
    const ec2 = v.aws.ec2
    const [peers, all] = await Promise.all([discoverPeers(v), findPeerings(ec2, v.config.clusterName)])
    if (!peers.ledger || !peers.auditor)
      return {
        ok: false,
        detail: `no ${peers.ledger ? 'Auditor' : 'Ledger'} VPC tagged for ${peers.ledger ? v.config.auditor.clusterName : v.config.clusterName}`,
      }
    const problems: string[] = []
    let routes = 0
    const specs = peeringSpecs(v.config, peers)
    for (const spec of specs) {
      const pcx = matchPeering(all, spec)
      const name = `${spec.requester.label}<->${spec.accepter.label}`
      if (peeringState(pcx) !== 'active') {
        problems.push(`${name}: ${pcx ? `${pcx.VpcPeeringConnectionId} is ${peeringState(pcx)}` : 'no connection'}`)
        continue
      }
      const missing = missingRoutes(spec, pcx!.VpcPeeringConnectionId!, new Set(all.map((p) => p.VpcPeeringConnectionId!)))
      for (const m of missing)
        problems.push(
          `${m.routeTableId} has no route to ${m.cidr} through ${m.peeringId}${m.foreign ? ` (it routes it to ${m.foreign}, not the runbook's)` : ''}`,
        )
      routes += spec.requester.routeTables.length + spec.accepter.routeTables.length - missing.length
    }
    // The Ledger's envoy admits the Auditor and the clients; the Auditor's the Ledger and the clients.
    const sides = [
      { label: 'Ledger', ctx: v, from: [peers.auditor, ...peers.clients] },
      { label: 'Auditor', ctx: v.auditor(), from: [peers.ledger, ...peers.clients] },
    ]
    for (const side of sides) {
      const svc = (await side.ctx.of('Service')).find((s) => s.metadata.name === `${side.ctx.fullname}-envoy`)
      const ranges = String((svc?.metadata.annotations as Record<string, string> | undefined)?.[SOURCE_RANGES] ?? '')
        .split(',')
        .map((x) => x.trim())
      const missing = side.from.flatMap((p) => (p.cidrs ?? [p.cidr]).filter((c) => !ranges.includes(c)).map((c) => `${p.label} ${c}`))
      if (missing.length) problems.push(`the ${side.label}'s envoy does not admit ${missing.join(', ')}`)
    }
    if (problems.length) return { ok: false, detail: problems.join('; ') }
    return { ok: true, detail: `${specs.length} connection(s) active, ${routes} route(s) to peers, each envoy admits its peers` }
  },
}

if (isMain(import.meta.url, 'peering')) await (await import('../lib/verify/runner.ts')).verify([peeringCheck])
