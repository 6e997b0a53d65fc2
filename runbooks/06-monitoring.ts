// Step 6 of "Scalar DL on AWS": monitoring. EKS control-plane logging, Container Insights (the
// CloudWatch agent for metrics, Fluent Bit for logs) through the amazon-cloudwatch-observability
// add-on with the Scalar DL toleration, the agents ready on every node, and log retention.
import { isMain } from '../lib/main.ts'
import { agentsOnEveryNodeTask, containerInsightsTask, controlPlaneLoggingTask, logRetentionTask } from '../lib/monitoring/tasks.ts'
import { runStep } from '../lib/runner.ts'
import { defineStep } from '../lib/task.ts'

export const step = defineStep({
  name: '06-monitoring',
  description: 'Step 6: CloudWatch Container Insights and control-plane logs',
  tasks: [controlPlaneLoggingTask(), containerInsightsTask(), agentsOnEveryNodeTask(), logRetentionTask()],
})

if (isMain(import.meta.url)) await runStep(step)
