// Check (with AUDITOR_ENABLED): the VPC peering connections of 05-auditor are active, every
// route table on both sides routes to the peer through them, and the envoy security groups
// admit the peers on the envoy ports.
import { discoverPeers, envoyAccess, peeringSpecs } from '../lib/auditor/peering.ts'
import { findPeerings, matchPeering, missingRoutes, peeringState } from '../lib/aws/peering.ts'
import { findSecurityGroup, securityGroupDrift } from '../lib/aws/security-groups.ts'
import { isMain } from '../lib/main.ts'
import type { Check } from '../lib/verify/check.ts'

export const peeringCheck: Check = {
  name: 'peering',
  title: 'VPC peering active, routes on both sides, envoy security groups',
  hint: 'a connection that is not active or a missing route cuts the Auditor off the Ledger (or clients off both): rerun 05-auditor, which repairs both (RUNBOOK.md, 07-verify: peering)',
  applies: (config) => config.auditor.enabled,
  async run(v) {
    const ec2 = v.aws.ec2
    const [peers, all] = await Promise.all([discoverPeers(v), findPeerings(ec2, v.config.clusterName)])
    if (!peers.ledger || !peers.auditor) return { ok: false, detail: `no ${peers.ledger ? 'Auditor' : 'Ledger'} VPC tagged for ${peers.ledger ? v.config.auditor.clusterName : v.config.clusterName}` }
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
      const missing = missingRoutes(spec, pcx!.VpcPeeringConnectionId!)
      for (const m of missing) problems.push(`${m.routeTableId} has no route to ${m.cidr} through ${m.peeringId}`)
      routes += spec.requester.routeTables.length + spec.accepter.routeTables.length - missing.length
    }
    for (const side of envoyAccess(v.config, peers)) {
      const drift = securityGroupDrift(await findSecurityGroup(ec2, side.cluster, side.vpc.vpcId, 'envoy-sg'), side.spec)
      problems.push(...drift.words.map((w) => `${side.spec.name}: ${w}`))
    }
    if (problems.length) return { ok: false, detail: problems.join('; ') }
    return { ok: true, detail: `${specs.length} connection(s) active, ${routes} route(s) to peers, envoy security groups admit the peers` }
  },
}

if (isMain(import.meta.url, 'peering')) await (await import('../lib/verify/runner.ts')).verify([peeringCheck])
