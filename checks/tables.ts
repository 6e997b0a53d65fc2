// Check: the Scalar DL tables in DynamoDB, with the namespace prefix, point-in-time recovery and
// deletion protection on (the tables themselves: lib/database/tables.ts).
import { DescribeContinuousBackupsCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { LEDGER_TABLES, scalarTables } from '../lib/database/tables.ts'
import { isMain } from '../lib/main.ts'
import type { Check } from '../lib/verify/check.ts'

// --- the check -----------------------------------------------------------------------------------

export const tablesCheck: Check = {
  name: 'tables',
  title: 'Scalar DL tables in DynamoDB, point-in-time recovery and deletion protection on',
  hint: 'a missing table means the schema was not loaded or a table was deleted; protection off means someone turned it off: rerun 04-scalardl, which restores both (RUNBOOK.md, 07-verify: tables)',
  async run(v) {
    const prefix = v.config.dynamodbNamespacePrefix
    const r = await scalarTables(v.aws.dynamodb, prefix)
    if (r.missing.length) return { ok: false, detail: `missing ${r.missing.join(', ')}${prefix ? ` (prefix "${prefix}")` : ''}` }
    const expected = LEDGER_TABLES.map((t) => prefix + t)
    const pitr = await Promise.all(
      expected.map(
        async (t) =>
          [
            t,
            (await v.aws.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: t }))).ContinuousBackupsDescription
              ?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus,
          ] as const,
      ),
    )
    const off = pitr.filter(([, s]) => s !== 'ENABLED').map(([t]) => t)
    const unprotected = (
      await Promise.all(
        expected.map(async (t) =>
          (await v.aws.dynamodb.send(new DescribeTableCommand({ TableName: t }))).Table?.DeletionProtectionEnabled ? undefined : t,
        ),
      )
    ).filter(Boolean)
    const problems = [
      ...(off.length ? [`point-in-time recovery is off on ${off.join(', ')}`] : []),
      ...(unprotected.length ? [`deletion protection is off on ${unprotected.join(', ')}`] : []),
    ]
    if (problems.length) return { ok: false, detail: problems.join('; ') }
    return {
      ok: true,
      detail: `${expected.length} Ledger tables${prefix ? ` with prefix "${prefix}"` : ''}, point-in-time recovery and deletion protection on`,
    }
  },
}

if (isMain(import.meta.url, 'tables')) await (await import('../lib/verify/runner.ts')).verify([tablesCheck])
