// The monitoring of one cluster, in Step 6's order: control-plane logging, Container Insights
// (the add-on or the quick-start manifest), both agents on every node, log retention. 06 runs it
// for the Ledger's cluster and, on the Auditor's view, for the Auditor's; 05 --prepare runs the
// Auditor's while the Ledger's side is still being built.
import type { Task, TaskContext } from '../task.ts'
import { quickstartTask } from './manifest.ts'
import { agentsOnEveryNodeTask, containerInsightsTask, controlPlaneLoggingTask, logRetentionTask } from './tasks.ts'

/** The add-on (CONTAINER_INSIGHTS=addon) or the DaemonSets of config/ (manifest). */
function containerInsightsByMode(): Task {
  const addon = containerInsightsTask()
  const manifest = quickstartTask()
  const pick = (ctx: TaskContext) => (ctx.config.monitoring.containerInsights === 'manifest' ? manifest : addon)
  return {
    title: 'Container Insights (CloudWatch agent + Fluent Bit) tolerating the Scalar DL taint',
    check: (ctx, s) => pick(ctx).check(ctx, s),
    apply: (ctx, s, reading) => pick(ctx).apply!(ctx, s, reading),
  }
}

export const clusterMonitoringTasks = (): Task[] => [
  controlPlaneLoggingTask(),
  containerInsightsByMode(),
  agentsOnEveryNodeTask(),
  logRetentionTask(),
]
