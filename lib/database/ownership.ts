// Which Scalar DL tables are the runbook's: those it tagged `scalardl-runbook/cluster=<cluster>`
// right after its schema-loading Job made them, never a table found by its name alone. A name
// such as coordinator.state is also another ScalarDB application's (the namespaces are shared
// unless DYNAMODB_NAMESPACE_PREFIX tells them apart), so protection, 07's check and
// `99-teardown --delete-data` act only on the tagged ones, and 00-preflight refuses a fresh
// deployment into a prefix whose tables are someone else's.
import {
  DescribeTableCommand,
  ListTagsOfResourceCommand,
  TagResourceCommand,
  UpdateContinuousBackupsCommand,
  DescribeContinuousBackupsCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb'
import { CLUSTER_TAG } from '../aws/tags.ts'
import { listTableNames } from './tables.ts'

/** The namespaces the schema loader makes tables in: the Ledger's (04) and the Auditor's (05). */
export const LEDGER_NAMESPACES = ['scalar', 'coordinator', 'scalardb']
export const AUDITOR_NAMESPACES = ['auditor']

export interface TableInfo {
  name: string
  arn: string
  createdAt: number
  /** The cluster named by its scalardl-runbook/cluster tag, if any. */
  owner?: string
  deletionProtection: boolean
}

/** Every table <prefix><namespace>.<table> in the namespaces, described with its owner tag. */
export async function namespaceTables(dynamodb: DynamoDBClient, prefix: string, namespaces: string[]): Promise<TableInfo[]> {
  const names = (await listTableNames(dynamodb)).filter((n) => {
    const rest = n.slice(prefix.length)
    return n.startsWith(prefix) && rest.includes('.') && namespaces.includes(rest.split('.')[0]!)
  })
  const tables = await Promise.all(
    names.map(async (name) => {
      const t = (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table!
      const tags = (await dynamodb.send(new ListTagsOfResourceCommand({ ResourceArn: t.TableArn! }))).Tags ?? []
      return {
        name,
        arn: t.TableArn!,
        createdAt: t.CreationDateTime?.getTime() ?? 0,
        owner: tags.find((x) => x.Key === CLUSTER_TAG)?.Value,
        deletionProtection: Boolean(t.DeletionProtectionEnabled),
      }
    }),
  )
  return tables.sort((a, b) => a.name.localeCompare(b.name))
}

/** Splits tables into the deployment's (tagged with one of its clusters) and the rest. */
export function byOwner(tables: TableInfo[], clusters: string[]): { ours: TableInfo[]; others: TableInfo[] } {
  return {
    ours: tables.filter((t) => t.owner && clusters.includes(t.owner)),
    others: tables.filter((t) => !t.owner || !clusters.includes(t.owner)),
  }
}

export async function tagTables(dynamodb: DynamoDBClient, tables: TableInfo[], cluster: string): Promise<void> {
  for (const t of tables) await dynamodb.send(new TagResourceCommand({ ResourceArn: t.arn, Tags: [{ Key: CLUSTER_TAG, Value: cluster }] }))
}

/** Point-in-time recovery of each table: true when ENABLED. */
export async function pitrStatus(dynamodb: DynamoDBClient, names: string[]): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>()
  await Promise.all(
    names.map(async (n) =>
      out.set(
        n,
        (await dynamodb.send(new DescribeContinuousBackupsCommand({ TableName: n }))).ContinuousBackupsDescription
          ?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED',
      ),
    ),
  )
  return out
}

export async function enablePitr(dynamodb: DynamoDBClient, names: string[]): Promise<void> {
  for (const n of names)
    await dynamodb.send(
      new UpdateContinuousBackupsCommand({ TableName: n, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
    )
}
