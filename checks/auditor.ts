// Check (with AUDITOR_ENABLED): the Auditor's cluster as 07 judges the Ledger's (schema Job,
// Auditor and Envoy Pods one per pool node, envoy EXTERNAL-IP on 40051/40052), its tables in
// DynamoDB, and the certificates registered both ways.
import { registrations } from '../lib/auditor/tasks.ts'
import { isMain } from '../lib/engine/main.ts'
import type { Check } from '../lib/verify/check.ts'
import { envoyOutcome } from './envoy.ts'
import { frontDoorOutcome } from './health.ts'
import { podsOutcome } from './pods.ts'
import { AUDITOR_TABLES, scalarTables } from '../lib/database/tables.ts'

export const auditorCheck: Check = {
  name: 'auditor',
  title:
    'Auditor: schema Job, Auditor and Envoy Pods, envoy EXTERNAL-IP on 40051/40052, a gRPC health check through it, tables, certificates',
  hint: 'the detail names the part: Pods and envoy as for the Ledger (in the Auditor cluster, KUBECONFIG=.runbook/<AUDITOR_CLUSTER_NAME>/kubeconfig); missing tables or certificates: rerun 05-auditor (ONCALL.md, "Check: auditor")',
  applies: (config) => config.auditor.enabled,
  async run(v) {
    const a = v.auditor()
    const [pods, envoy, health, tables, certs] = await Promise.all([
      podsOutcome(a),
      envoyOutcome(a),
      frontDoorOutcome(a),
      scalarTables(v.aws.dynamodb, v.config.dynamodbNamespacePrefix, AUDITOR_TABLES),
      registrations(v),
    ])
    const problems = [
      ...(pods.ok ? [] : [pods.detail]),
      ...(envoy.ok ? [] : [envoy.detail]),
      ...(health.ok ? [] : [health.detail]),
      ...(tables.missing.length ? [`missing tables ${tables.missing.join(', ')}`] : []),
      ...certs
        .filter((c) => c.state !== 'yes')
        .map(
          (c) =>
            `certificate of ${c.holder} ${c.state === 'different' ? 'registered with another certificate' : 'not registered'} in ${c.table}`,
        ),
    ]
    if (problems.length) return { ok: false, detail: problems.join('; ') }
    return {
      ok: true,
      detail: `${pods.detail}; ${envoy.detail}; ${health.detail}; ${AUDITOR_TABLES.length} Auditor tables; certificates of ledger and auditor registered`,
    }
  },
}

if (isMain(import.meta.url, 'auditor')) await (await import('../lib/verify/runner.ts')).verify([auditorCheck])
