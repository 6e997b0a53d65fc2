// Check: the Scalar DL tables in DynamoDB: the Ledger's expected tables exist, and every table of
// the runbook's (tagged with the cluster after its schema load, lib/database/ownership.ts, so
// whatever the schema version adds) has point-in-time recovery and deletion protection on.
import { LEDGER_TABLES } from '../lib/database/tables.ts'
import { LEDGER_NAMESPACES, namespaceTables, pitrStatus } from '../lib/database/ownership.ts'
import { isMain } from '../lib/engine/main.ts'
import type { Check } from '../lib/verify/check.ts'

export const tablesCheck: Check = {
  name: 'tables',
  title: 'Scalar DL tables in DynamoDB, point-in-time recovery and deletion protection on',
  hint: 'a missing table means the schema was not loaded or a table was deleted; an untagged one, that 04 has not finished; protection off means someone turned it off: aws dynamodb describe-table --table-name NAME shows it; rerun 04-scalardl, which restores them (ONCALL.md, "Check: tables")',
  async run(v) {
    const prefix = v.config.dynamodbNamespacePrefix
    const tables = await namespaceTables(v.aws.dynamodb, prefix, LEDGER_NAMESPACES)
    const names = new Set(tables.map((t) => t.name))
    const missing = LEDGER_TABLES.map((t) => prefix + t).filter((t) => !names.has(t))
    if (missing.length) return { ok: false, detail: `missing ${missing.join(', ')}${prefix ? ` (prefix "${prefix}")` : ''}` }
    const ours = tables.filter((t) => t.owner === v.config.clusterName)
    const untagged = LEDGER_TABLES.map((t) => prefix + t).filter((n) => !ours.some((t) => t.name === n))
    const pitr = await pitrStatus(
      v.aws.dynamodb,
      ours.map((t) => t.name),
    )
    const off = ours.filter((t) => !pitr.get(t.name)).map((t) => t.name)
    const unprotected = ours.filter((t) => !t.deletionProtection).map((t) => t.name)
    const problems = [
      ...(untagged.length ? [`not tagged as ${v.config.clusterName}'s: ${untagged.join(', ')}`] : []),
      ...(off.length ? [`point-in-time recovery is off on ${off.join(', ')}`] : []),
      ...(unprotected.length ? [`deletion protection is off on ${unprotected.join(', ')}`] : []),
    ]
    if (problems.length) return { ok: false, detail: problems.join('; ') }
    return {
      ok: true,
      detail: `${ours.length} Ledger tables${prefix ? ` with prefix "${prefix}"` : ''}, point-in-time recovery and deletion protection on`,
    }
  },
}

if (isMain(import.meta.url, 'tables')) await (await import('../lib/verify/runner.ts')).verify([tablesCheck])
