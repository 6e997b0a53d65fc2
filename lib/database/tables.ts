// The Scalar DL tables in DynamoDB: which tables the Ledger and the Auditor have (as the schema
// loader makes them, <namespace>.<table>, after DYNAMODB_NAMESPACE_PREFIX), and which of them exist.
// Domain data of 02 (what exists), 04/05 (deletion protection), 07 (the tables check) and 99.
import { paginateListTables, type DynamoDBClient } from '@aws-sdk/client-dynamodb'

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
export const AUDITOR_TABLES = [
  'auditor.asset',
  'auditor.asset_lock',
  'auditor.certificate',
  'auditor.contract',
  'auditor.contract_class',
  'auditor.request_proof',
]

/** Namespaces Scalar DL uses; any table in them counts as Scalar DL's (newer versions add tables). */
const NAMESPACES = ['scalar', 'auditor', 'coordinator', 'scalardb']

interface TablesReport {
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
  const found = [...all]
    .filter(
      (n) => n.startsWith(prefix) && NAMESPACES.includes(n.slice(prefix.length).split('.')[0]!) && n.slice(prefix.length).includes('.'),
    )
    .sort()
  const missing = expected.map((t) => prefix + t).filter((t) => !all.has(t))
  return { prefix, found, missing }
}
