// Step 6 of "Scalar DL on AWS": monitoring. EKS control-plane logging, Container Insights (the
// CloudWatch agent for metrics, Fluent Bit for logs) through the amazon-cloudwatch-observability
// add-on with the Scalar DL toleration, the agents ready on every node, and log retention; the
// same for the Auditor's cluster when AUDITOR_ENABLED=true, beside the Ledger's.
import { isMain } from '../lib/engine/main.ts'
import { clusterMonitoringTasks } from '../lib/monitoring/cluster.ts'
import { ifAuditor, scoped } from '../lib/auditor/view.ts'
import { runStep } from '../lib/engine/runner.ts'
import { clusterAccessProblems } from '../lib/eks/access.ts'
import { defineStep, sideBySide } from '../lib/engine/task.ts'

export const step = defineStep({
  name: '06-monitoring',
  locks: (c) => [c.clusterName, ...(c.auditor.enabled ? [c.auditor.clusterName] : [])],
  description: 'Step 6: CloudWatch Container Insights and control-plane logs',
  // Before anything else: may this principal use the cluster at all (kubectl would say only "Unauthorized")?
  preflight: clusterAccessProblems,
  tasks: [
    // The Auditor's cluster gets the same monitoring (Scalar's Auditor guide, Step 4), beside the Ledger's.
    sideBySide(
      clusterMonitoringTasks(),
      clusterMonitoringTasks().map((t) => scoped(ifAuditor(), t)),
    ),
  ],
})

if (isMain(import.meta.url, '06-monitoring')) await runStep(step)
