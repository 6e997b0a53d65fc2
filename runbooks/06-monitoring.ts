// Step 6 of "Scalar DL on AWS": monitoring. EKS control-plane logging, Container Insights (the
// CloudWatch agent for metrics, Fluent Bit for logs) through the amazon-cloudwatch-observability
// add-on with the Scalar DL toleration, the agents ready on every node, and log retention; the
// same for the Auditor's cluster when AUDITOR_ENABLED=true.
import { isMain } from '../lib/main.ts'
import { agentsOnEveryNodeTask, containerInsightsTask, controlPlaneLoggingTask, logRetentionTask } from '../lib/monitoring/tasks.ts'
import { quickstartTask } from '../lib/monitoring/manifest.ts'
import { ifAuditor, scoped } from '../lib/auditor/view.ts'
import { runStep } from '../lib/runner.ts'
import { defineStep, type Task, type TaskContext } from '../lib/task.ts'

/** The add-on (CONTAINER_INSIGHTS=addon) or the DaemonSets of config/ (manifest). */
function containerInsightsByMode(): Task {
  const addon = containerInsightsTask()
  const manifest = quickstartTask()
  const pick = (ctx: TaskContext) => (ctx.config.monitoring.containerInsights === 'manifest' ? manifest : addon)
  return {
    title: 'Container Insights (CloudWatch agent + Fluent Bit) tolerating the Scalar DL taint',
    check: (ctx, s) => pick(ctx).check(ctx, s),
    apply: (ctx, s) => pick(ctx).apply!(ctx, s),
  }
}

export const step = defineStep({
  name: '06-monitoring',
  locks: (c) => [c.clusterName, ...(c.auditor.enabled ? [c.auditor.clusterName] : [])],
  description: 'Step 6: CloudWatch Container Insights and control-plane logs',
  tasks: [
    controlPlaneLoggingTask(),
    containerInsightsByMode(),
    agentsOnEveryNodeTask(),
    logRetentionTask(),
    // The Auditor's cluster gets the same monitoring (Scalar's Auditor guide, Step 4).
    ...[controlPlaneLoggingTask(), containerInsightsByMode(), agentsOnEveryNodeTask(), logRetentionTask()].map((t) => scoped(ifAuditor(), t)),
  ],
})

if (isMain(import.meta.url, '06-monitoring')) await runStep(step)
