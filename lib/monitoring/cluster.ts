// The monitoring of one cluster, in Step 6's order: control-plane logging, Container Insights
// (the amazon-cloudwatch-observability add-on), both agents on every node, log retention. 06 runs it
// for the Ledger's cluster and, on the Auditor's view, for the Auditor's; 05 --prepare runs the
// Auditor's while the Ledger's side is still being built.
import type { Task } from '../engine/task.ts'
import { agentsOnEveryNodeTask, containerInsightsTask, controlPlaneLoggingTask, logRetentionTask } from './tasks.ts'

export const clusterMonitoringTasks = (): Task[] => [
  controlPlaneLoggingTask(),
  containerInsightsTask(),
  agentsOnEveryNodeTask(),
  logRetentionTask(),
]
