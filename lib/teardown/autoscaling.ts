// The auto scaling of the tables `99-teardown --delete-data` deletes. The schema loader registers
// an Application Auto Scaling scalable target for each table's read and write capacity (and each
// index's) with a target-tracking policy, whose CloudWatch alarms Application Auto Scaling makes
// (ScalarDB's DynamoAdmin.createTable unless --no-scaling: scalar-labs/scalardb v3.17.2
// core/src/main/java/com/scalar/db/storage/dynamo/DynamoAdmin.java:271-274, 534-611). "When you
// delete a table or global table replica then any associated scalable targets, scaling polices, or
// CloudWatch alarms are not automatically deleted with it"
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html). So, before
// the tables go and while their ownership tags still say which are the deployment's, their targets
// are deregistered ("Deregistering a scalable target deletes the scaling policies and the scheduled
// actions that are associated with it": Application Auto Scaling API reference,
// API_DeregisterScalableTarget; deleting a target tracking policy deletes its alarms), and any
// target-tracking alarm of theirs still there is deleted.
import {
  DeregisterScalableTargetCommand,
  paginateDescribeScalableTargets,
  type ScalableDimension,
} from '@aws-sdk/client-application-auto-scaling'
import { DeleteAlarmsCommand, DescribeAlarmsCommand, paginateDescribeAlarms } from '@aws-sdk/client-cloudwatch'
import { isAwsError } from '../aws/clients.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { tablesByOwner } from './aws.ts'

interface TableScaling {
  tables: string[]
  /** Scalable targets: resource id (table/<t> or table/<t>/index/<i>) and dimension. */
  targets: { resourceId: string; dimension: ScalableDimension }[]
  alarms: string[]
}

/** Whether a resource id (of a target, or inside a policy ARN) is one of the table's or its indexes'. */
const ofTable = (resourceId: string, table: string) => resourceId === `table/${table}` || resourceId.startsWith(`table/${table}/index/`)

/** Target tracking's alarms of the tables: named TargetTracking-table/<t>..., acting on a policy of the table. */
async function trackingAlarms(ctx: TaskContext, tables: string[]): Promise<string[]> {
  const out: string[] = []
  for await (const page of paginateDescribeAlarms(
    { client: ctx.aws.cloudwatch },
    { AlarmNamePrefix: `TargetTracking-table/${ctx.config.dynamodbNamespacePrefix}` },
  ))
    for (const a of page.MetricAlarms ?? []) {
      // The action is the policy's ARN: ...:scalingPolicy:<id>:resource/dynamodb/<resource id>:policyName/<name>
      const resources = (a.AlarmActions ?? []).map((x) => /:resource\/dynamodb\/(.+?):policyName\//.exec(x)?.[1] ?? '')
      if (tables.some((t) => a.AlarmName!.startsWith(`TargetTracking-table/${t}`) && resources.some((r) => ofTable(r, t))))
        out.push(a.AlarmName!)
    }
  return out
}

async function scalingOf(ctx: TaskContext): Promise<TableScaling> {
  const tables = (await tablesByOwner(ctx)).ours.map((t) => t.name)
  if (!tables.length) return { tables, targets: [], alarms: [] }
  const targets: TableScaling['targets'] = []
  for await (const page of paginateDescribeScalableTargets({ client: ctx.aws.autoscaling }, { ServiceNamespace: 'dynamodb' }))
    for (const t of page.ScalableTargets ?? [])
      if (tables.some((name) => ofTable(t.ResourceId!, name))) targets.push({ resourceId: t.ResourceId!, dimension: t.ScalableDimension! })
  return { tables, targets, alarms: await trackingAlarms(ctx, tables) }
}

/** Deletes the alarms, 100 a call; one a service deleted meanwhile is not an error. */
async function deleteAlarms(ctx: TaskContext, names: string[]): Promise<number> {
  let deleted = 0
  for (let i = 0; i < names.length; i += 100) {
    let batch = names.slice(i, i + 100)
    try {
      await ctx.aws.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: batch }))
    } catch (e) {
      // "If you specify an incorrect alarm name or make any other error in the operation, no alarms
      // are deleted" (CloudWatch API reference, DeleteAlarms): ask which remain, delete those.
      if (!isAwsError(e, 'ResourceNotFound', 'ResourceNotFoundException')) throw e
      batch = ((await ctx.aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: batch }))).MetricAlarms ?? []).map(
        (a) => a.AlarmName!,
      )
      if (batch.length) await ctx.aws.cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: batch }))
    }
    deleted += batch.length
  }
  return deleted
}

export function autoScalingTask(): Task<unknown, TableScaling> {
  return {
    title: "Auto scaling of the runbook's tables removed with them (--delete-data): scalable targets, their policies and alarms",
    async check(ctx) {
      if (!ctx.flags['delete-data']) return { holds: true, detail: 'kept with the tables (--delete-data removes it with them)' }
      const s = await scalingOf(ctx)
      if (!s.tables.length) return { holds: true, detail: "none: no table of the runbook's left" }
      if (!s.targets.length && !s.alarms.length)
        return { holds: true, detail: `none registered for the ${s.tables.length} table(s) of the runbook's`, reading: s }
      return {
        holds: false,
        detail: `deregister ${s.targets.length} scalable target(s) (their scaling policies with them) and delete the target-tracking alarms left of ${s.tables.length} table(s)`,
        reading: s,
      }
    },
    async apply(ctx, _s, reading) {
      const s = reading ?? (await scalingOf(ctx))
      for (const t of s.targets)
        try {
          await ctx.aws.autoscaling.send(
            new DeregisterScalableTargetCommand({
              ServiceNamespace: 'dynamodb',
              ResourceId: t.resourceId,
              ScalableDimension: t.dimension,
            }),
          )
        } catch (e) {
          if (!isAwsError(e, 'ObjectNotFoundException')) throw e // deregistered meanwhile
        }
      // Deregistration deleted the policies and, with them, their alarms; delete what remains.
      const left = await trackingAlarms(ctx, s.tables)
      const deleted = await deleteAlarms(ctx, left)
      return `deregistered ${s.targets.length} scalable target(s) of ${s.tables.length} table(s)${deleted ? `; deleted ${deleted} alarm(s) left: ${left.join(', ')}` : ''}`
    },
  }
}
