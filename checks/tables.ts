// Check: the Scalar DL tables in DynamoDB, with the namespace prefix. Used by 02-database to
// report what exists and by 07-verify to assert the schema was loaded.
import { DescribeContinuousBackupsCommand, DescribeTableCommand, paginateListTables, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { isMain } from '../lib/main.ts'
import type { Check } from '../lib/verify/check.ts'

/** The Ledger's tables as the schema loader makes them on DynamoDB (<namespace>.<table>). */
export const LEDGER_TABLES = [
  'scalar.asset',
  'scalar.asset_metadata',
  'scalar.certificate',
  'scalar.contract',
  'scalar.contract_class',
  'scalar.function',
  'scalar.tx_state',
  'coordinator.state',
  'scalardb.metadata',
]

/** The Auditor's tables (05-auditor). */
export const AUDITOR_TABLES = ['auditor.asset', 'auditor.asset_lock', 'auditor.certificate', 'auditor.contract', 'auditor.contract_class', 'auditor.request_proof']

/** Namespaces Scalar DL uses; any table in them counts as Scalar DL's (newer versions add tables). */
const NAMESPACES = ['scalar', 'auditor', 'coordinator', 'scalardb']

export interface TablesReport {
  prefix: string
  /** Every Scalar DL table found, prefixed names. */
  found: string[]
  /** Expected tables not found, prefixed names. */
  missing: string[]
}

export async function listTableNames(dynamodb: DynamoDBClient): Promise<string[]> {
  const names: string[] = []
  for await (const page of paginateListTables({ client: dynamodb, pageSize: 100 }, {})) names.push(...(page.TableNames ?? []))
  return names
}

export async function scalarTables(dynamodb: DynamoDBClient, prefix: string, expected: string[] = LEDGER_TABLES): Promise<TablesReport> {
  const all = new Set(await listTableNames(dynamodb))
  const found = [...all].filter((n) => n.startsWith(prefix) && NAMESPACES.includes(n.slice(prefix.length).split('.')[0]!) && n.slice(prefix.length).includes('.')).sort()
  const missing = expected.map((t) => prefix + t).filter((t) => !all.has(t))
  return { prefix, found, missing }
}

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
    const pitr = await Promise.all(expected.map(async (t) => [t, (await v.aws.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: t }))).ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus] as const))
    const off = pitr.filter(([, s]) => s !== 'ENABLED').map(([t]) => t)
    const unprotected = (await Promise.all(expected.map(async (t) => ((await v.aws.dynamodb.send(new DescribeTableCommand({ TableName: t }))).Table?.DeletionProtectionEnabled ? undefined : t)))).filter(Boolean)
    const problems = [...(off.length ? [`point-in-time recovery is off on ${off.join(', ')}`] : []), ...(unprotected.length ? [`deletion protection is off on ${unprotected.join(', ')}`] : [])]
    if (problems.length) return { ok: false, detail: problems.join('; ') }
    return { ok: true, detail: `${expected.length} Ledger tables${prefix ? ` with prefix "${prefix}"` : ''}, point-in-time recovery and deletion protection on` }
  },
}

if (isMain(import.meta.url, 'tables')) await (await import('../lib/verify/runner.ts')).verify([tablesCheck])
