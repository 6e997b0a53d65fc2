// The run-lock table (lib/engine/lock.ts), with `99-teardown --delete-lock-table`: every deployment in the
// account and region shares it, so it goes only at the end of a full teardown and only when no
// item of another cluster is in it (a lock held now, or left by a run that died: either says that
// deployment uses the table). This run's own items (its clusters' locks, held while it runs) do not
// keep it; the runner's release then finds the table gone, which is a lock released. DynamoDB's
// DeleteTable takes no condition: a lock another deployment takes between the last scan and the
// deletion goes with the table (its run goes on unlocked; its release tolerates the gone table).
import { DeleteTableCommand, DescribeTableCommand, paginateScan } from '@aws-sdk/client-dynamodb'
import { isAwsError } from '../aws/clients.ts'
import { deploymentClusters } from '../config/load.ts'
import { LOCK_TABLE } from '../engine/lock.ts'
import type { Task, TaskContext } from '../engine/task.ts'

interface LockTable {
  exists: boolean
  /** The clusters other than the deployment's with an item in it. */
  others: string[]
}

async function lockTable(ctx: TaskContext): Promise<LockTable> {
  try {
    await ctx.aws.dynamodb.send(new DescribeTableCommand({ TableName: LOCK_TABLE }))
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) return { exists: false, others: [] }
    throw e
  }
  const ours = deploymentClusters(ctx.config)
  const others = new Set<string>()
  try {
    for await (const page of paginateScan(
      { client: ctx.aws.dynamodb },
      { TableName: LOCK_TABLE, ConsistentRead: true, ProjectionExpression: 'lockId' },
    ))
      for (const item of page.Items ?? []) {
        const id = item.lockId?.S
        if (id && !ours.includes(id)) others.add(id)
      }
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) return { exists: false, others: [] }
    throw e
  }
  return { exists: true, others: [...others].sort() }
}

const kept = (others: string[]) => `kept: other deployments hold or left locks in it (${others.join(', ')})`

export function lockTableTask(): Task<unknown, LockTable> {
  return {
    title: `The run-lock table ${LOCK_TABLE} deleted once no other deployment uses it (--delete-lock-table)`,
    async check(ctx) {
      if (!ctx.flags['delete-lock-table'])
        return {
          holds: true,
          detail: 'kept: every deployment in the account uses it (--delete-lock-table deletes it when none other does)',
        }
      const t = await lockTable(ctx)
      if (!t.exists) return { holds: true, detail: 'no lock table' }
      if (t.others.length) return { holds: true, detail: kept(t.others), reading: t }
      return { holds: false, detail: `delete ${LOCK_TABLE}: no other deployment has a lock in it`, reading: t }
    },
    async apply(ctx) {
      // Read again just before: another deployment may have taken a lock since the check.
      const t = await lockTable(ctx)
      if (!t.exists) return 'no lock table'
      if (t.others.length) return kept(t.others)
      try {
        await ctx.aws.dynamodb.send(new DeleteTableCommand({ TableName: LOCK_TABLE }))
      } catch (e) {
        if (!isAwsError(e, 'ResourceNotFoundException')) throw e
      }
      return `deleted ${LOCK_TABLE} (this run's own lock went with it)`
    },
  }
}
