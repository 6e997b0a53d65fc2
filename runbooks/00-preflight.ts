// Prerequisites of "Scalar DL on AWS": the tools on the bastion (kubectl >= 1.19, helm >= 3.5,
// eksctl), the AWS identity, a region with 3 AZs, a Kubernetes version in EKS standard support, the
// quotas the design needs, and a valid configuration. Changes nothing.
import { bootstrapProblems } from '../lib/bastion/tasks.ts'
import { isMain } from '../lib/engine/main.ts'
import { clusterAccessTask, configurationTask, identityTask, zonesTask } from '../lib/preflight/account.ts'
import { QUOTA_IDS, quotaTask } from '../lib/preflight/quotas.ts'
import { TOOLS, toolTask } from '../lib/preflight/tools.ts'
import { kubernetesVersionTask } from '../lib/preflight/versions.ts'
import { foreignTablesProblems } from '../lib/preflight/tables.ts'
import { runStep } from '../lib/engine/runner.ts'
import { defineStep, type StepResult } from '../lib/engine/task.ts'

function table(result: StepResult): string {
  const width = Math.max(...result.tasks.map((t) => t.title.length))
  const rows = result.tasks.map((t) => `  ${t.title.padEnd(width)}  ${(t.status === 'ok' ? 'OK' : 'MISSING').padEnd(7)}  ${t.detail}`)
  const failed = result.tasks.filter((t) => t.status === 'failed')
  const tail = failed.length
    ? ['', `  ${failed.length} prerequisite${failed.length > 1 ? 's' : ''} missing: ${failed.map((t) => t.title).join('; ')}`]
    : []
  return ['', `  ${'CHECK'.padEnd(width)}  RESULT   DETAIL`, ...rows, ...tail].join('\n')
}

export const step = defineStep({
  name: '00-preflight',
  description: 'Prerequisites: tools, AWS identity, region, configuration',
  readOnly: true,
  continueOnFailure: true,
  concurrent: true,
  // A bastion that would have no usable kubectl: exit 2 before any call.
  validate: (config) => bootstrapProblems(config),
  // Another application's tables under the deployment's names: exit 2 before anything is checked.
  preflight: foreignTablesProblems,
  tasks: [
    configurationTask(),
    ...TOOLS.map(toolTask),
    identityTask(),
    clusterAccessTask(),
    zonesTask(),
    kubernetesVersionTask(),
    ...QUOTA_IDS.map(quotaTask),
  ],
  report: (result) => table(result),
})

if (isMain(import.meta.url, '00-preflight')) await runStep(step)
