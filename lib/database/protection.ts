// The Scalar DL tables once the schema is loaded: the ones this deployment's schema-loading Job
// made are tagged as the runbook's (lib/database/ownership.ts), and every table of the runbook's
// gets deletion protection and point-in-time recovery, whatever the schema version adds
// (ScalarDL v3.13.0's schema also makes scalar.secret and scalar.namespace). A table with
// deletion protection on cannot be deleted by any call (DeleteTable fails with a
// ValidationException) until it is turned off
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection).
// 99-teardown --delete-data turns it off, after the backups, just before it deletes.
import { DescribeTableCommand, UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { schemaJobCreatedAt } from '../scalardl/tasks.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { auditorView } from '../auditor/view.ts'
import { AUDITOR_NAMESPACES, LEDGER_NAMESPACES, enablePitr, namespaceTables, pitrStatus, tagTables, type TableInfo } from './ownership.ts'

/** The view's namespaces: the Ledger's (04) or the Auditor's (05). */
const viewNamespaces = (ctx: Pick<TaskContext, 'config'>) =>
  ctx.config.scalardl.app === 'auditor' ? AUDITOR_NAMESPACES : LEDGER_NAMESPACES

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

interface Survey {
  /** Tagged with this view's cluster. */
  ours: TableInfo[]
  /** Untagged, made by this deployment's schema Job: to be tagged. */
  claim: TableInfo[]
  /** Someone else's: untagged and older than the Job, or tagged with another cluster. */
  foreign: TableInfo[]
  /** Ours (and claimed) without deletion protection or point-in-time recovery. */
  unprotected: string[]
  noPitr: string[]
}

async function survey(ctx: TaskContext): Promise<Survey> {
  const cluster = ctx.config.clusterName
  // The Ledger's ScalarDB metadata table (scalardb.metadata) is made by whichever of the
  // deployment's schema Jobs runs first, and with the Auditor that may be the Auditor's (05
  // --prepare loads its schema beside 04): in the Ledger's view a table is the deployment's when
  // made after the earliest of the two Jobs.
  const auditorJob =
    ctx.config.scalardl.app === 'ledger' && ctx.config.auditor.enabled
      ? schemaJobCreatedAt({ ...ctx, config: auditorView(ctx.config) })
      : undefined
  const [tables, ledgerJobAt, auditorJobAt] = await Promise.all([
    namespaceTables(ctx.aws.dynamodb, ctx.config.dynamodbNamespacePrefix, viewNamespaces(ctx)),
    schemaJobCreatedAt(ctx),
    auditorJob,
  ])
  const times = [ledgerJobAt, auditorJobAt].filter((t): t is number => t !== undefined)
  const jobAt = times.length ? Math.min(...times) : undefined
  const ours = tables.filter((t) => t.owner === cluster)
  // creationTimestamp has whole seconds: a table made in the Job's first second counts.
  const claim = tables.filter((t) => !t.owner && jobAt !== undefined && t.createdAt >= jobAt - 1000)
  const foreign = tables.filter((t) => (t.owner && t.owner !== cluster) || (!t.owner && !claim.includes(t)))
  const mine = [...ours, ...claim]
  const pitr = await pitrStatus(
    ctx.aws.dynamodb,
    mine.map((t) => t.name),
  )
  return {
    ours,
    claim,
    foreign,
    unprotected: mine.filter((t) => !t.deletionProtection).map((t) => t.name),
    noPitr: mine.filter((t) => !pitr.get(t.name)).map((t) => t.name),
  }
}

export function deletionProtectionTask<S>(): Task<S, Survey> {
  return {
    title: "Scalar DL tables: the runbook's tagged, deletion protection and point-in-time recovery on",
    async check(ctx) {
      const s = await survey(ctx)
      if (s.foreign.length)
        return {
          holds: false,
          conflict: `${s.foreign.map((t) => `${t.name}${t.owner ? ` (of ${t.owner})` : ''}`).join(', ')} ${s.foreign.length === 1 ? 'is' : 'are'} not the runbook's: this deployment would share ${s.foreign.length === 1 ? 'it' : 'them'} with another application`,
          hint: "set DYNAMODB_NAMESPACE_PREFIX to a prefix of this deployment's own (e.g. prod_) and rerun; if they are this deployment's from before, tag them: aws dynamodb tag-resource --resource-arn <arn> --tags Key=scalardl-runbook/cluster,Value=<CLUSTER_NAME>",
        }
      const todo = [
        ...(s.claim.length ? [`tag ${s.claim.map((t) => t.name).join(', ')} as ${ctx.config.clusterName}'s`] : []),
        ...(s.unprotected.length ? [`turn deletion protection on for ${s.unprotected.join(', ')}`] : []),
        ...(s.noPitr.length ? [`turn point-in-time recovery on for ${s.noPitr.join(', ')}`] : []),
      ]
      const count = s.ours.length + s.claim.length
      if (!count)
        return {
          holds: !ctx.dryRun,
          detail: ctx.dryRun ? 'protect the tables once the schema is loaded' : 'no table yet: the schema loader makes them',
        }
      return todo.length
        ? { holds: false, detail: todo.join('; '), reading: s }
        : { holds: true, detail: `${count} table(s) of ${ctx.config.clusterName}: deletion protection and point-in-time recovery on` }
    },
    async apply(ctx, _state, reading) {
      const s = reading ?? (await survey(ctx))
      await tagTables(ctx.aws.dynamodb, s.claim, ctx.config.clusterName)
      await setProtection(ctx.aws.dynamodb, s.unprotected, true)
      await enablePitr(ctx.aws.dynamodb, s.noPitr)
      return [
        ...(s.claim.length ? [`tagged ${s.claim.map((t) => t.name).join(', ')}`] : []),
        ...(s.unprotected.length ? [`deletion protection on for ${s.unprotected.join(', ')}`] : []),
        ...(s.noPitr.length ? [`point-in-time recovery on for ${s.noPitr.join(', ')}`] : []),
      ].join('; ')
    },
  }
}
