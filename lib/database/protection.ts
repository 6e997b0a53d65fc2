// DynamoDB deletion protection on the Scalar DL tables once the schema is loaded: a table with
// it on cannot be deleted by any call (DeleteTable fails with a ValidationException) until it is
// turned off (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection).
// 99-teardown --delete-data turns it off, after the backups, just before it deletes.
import { DescribeTableCommand, UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { AUDITOR_TABLES, LEDGER_TABLES } from './tables.ts'
import type { Task, TaskContext } from '../task.ts'

/** The view's tables: the Ledger's (04) or the Auditor's (05), with the namespace prefix. */
export const viewTables = (ctx: Pick<TaskContext, 'config'>) =>
  (ctx.config.scalardl.app === 'auditor' ? AUDITOR_TABLES : LEDGER_TABLES).map((t) => ctx.config.dynamodbNamespacePrefix + t)

/** Each table's deletion protection: true, false, or undefined when it does not exist. */
export async function protection(dynamodb: DynamoDBClient, tables: string[]): Promise<Map<string, boolean | undefined>> {
  const out = new Map<string, boolean | undefined>()
  await Promise.all(
    tables.map(async (t) => {
      try {
        out.set(t, Boolean((await dynamodb.send(new DescribeTableCommand({ TableName: t }))).Table?.DeletionProtectionEnabled))
      } catch (e) {
        if ((e as Error).name !== 'ResourceNotFoundException') throw e
        out.set(t, undefined)
      }
    }),
  )
  return out
}

export async function setProtection(dynamodb: DynamoDBClient, tables: string[], on: boolean): Promise<void> {
  for (const t of tables) await dynamodb.send(new UpdateTableCommand({ TableName: t, DeletionProtectionEnabled: on }))
}

export function deletionProtectionTask<S>(): Task<S> {
  return {
    title: 'Deletion protection on the Scalar DL tables',
    async check(ctx) {
      const p = await protection(ctx.aws.dynamodb, viewTables(ctx))
      const absent = [...p].filter(([, v]) => v === undefined).map(([t]) => t)
      const off = [...p].filter(([, v]) => v === false).map(([t]) => t)
      if (absent.length === p.size)
        return {
          holds: !ctx.dryRun,
          detail: `no table yet${ctx.dryRun ? ': protect them once the schema is loaded' : ` (${absent.slice(0, 2).join(', ')}...): the schema loader makes them`}`,
        }
      const missing = absent.length ? `; not found: ${absent.join(', ')}` : ''
      return off.length
        ? { holds: false, detail: `turn it on for ${off.join(', ')}${missing}` }
        : { holds: true, detail: `on for ${p.size - absent.length} tables${missing}` }
    },
    async apply(ctx) {
      const p = await protection(ctx.aws.dynamodb, viewTables(ctx))
      const off = [...p].filter(([, v]) => v === false).map(([t]) => t)
      await setProtection(ctx.aws.dynamodb, off, true)
      return `turned on for ${off.join(', ')}`
    },
  }
}
