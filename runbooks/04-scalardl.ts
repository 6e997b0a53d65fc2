// Step 4 of "Scalar DL on AWS": Scalar DL Ledger and Envoy via helm. The chart repository, the
// secrets (image pull, Asset Proofs key, database credentials), the schema loaded by the
// schema-loading Job, then the Ledger and Envoy: one of each per Scalar DL node, and the envoy
// load balancer's hostname.
import { STEP_FLAGS } from '../lib/engine/steps.ts'
import { isMain } from '../lib/engine/main.ts'
import { runStep } from '../lib/engine/runner.ts'
import { credentialProblems, keyProblems } from '../lib/scalardl/validate.ts'
import { valuesProblems } from '../lib/scalardl/values.ts'
import {
  dbSecretTask,
  helmTask,
  ledgerKeyFileTask,
  ledgerKeysTask,
  ledgerReleaseTask,
  ledgerValuesTask,
  namespaceTask,
  pullSecretTask,
  repoTask,
  schemaReleaseTask,
  schemaValuesTask,
  type ScalarState,
} from '../lib/scalardl/tasks.ts'
import { clusterAccessProblems } from '../lib/eks/access.ts'
import { deletionProtectionTask } from '../lib/database/protection.ts'
import { defineStep, sideBySide } from '../lib/engine/task.ts'

export const step = defineStep<ScalarState>({
  name: '04-scalardl',
  description: 'Step 4: Scalar DL Ledger and Envoy via Helm',
  state: () => ({ poolNodes: 0 }),
  ...STEP_FLAGS['04-scalardl'],
  validate(config, flags) {
    const c = config.scalardl
    return [
      ...credentialProblems(config),
      ...valuesProblems(config),
      ...(c.proofEnabled
        ? keyProblems(
            'LEDGER_PRIVATE_KEY_FILE',
            c.privateKeyFile,
            '--generate-ledger-key',
            Boolean(flags['generate-ledger-key']),
            'when LEDGER_PROOF_ENABLED=true',
          )
        : []),
    ]
  },
  // Side by side what needs nothing of each other: the chart repository (helm, on the bastion)
  // beside the secrets (kubectl), the Ledger's values beside the schema-loading Job, and the
  // tables' deletion protection beside the Ledger's release.
  // Before anything else: may this principal use the cluster at all (kubectl would say only "Unauthorized")?
  preflight: clusterAccessProblems,
  tasks: [
    sideBySide(helmTask(), repoTask(), [
      namespaceTask(),
      sideBySide(pullSecretTask(), [ledgerKeyFileTask(), ledgerKeysTask()], dbSecretTask()),
    ]),
    sideBySide([schemaValuesTask(), schemaReleaseTask()], ledgerValuesTask()),
    // The tables exist once the schema is loaded: their deletion protection beside the Ledger's release.
    sideBySide(ledgerReleaseTask(), deletionProtectionTask()),
  ],
  report: (result, _ctx, s) =>
    s.envoyHostname && result.status !== 'failed'
      ? `\n  Scalar DL endpoint (envoy EXTERNAL-IP): ${s.envoyHostname}  ports 50051, 50052`
      : undefined,
})

if (isMain(import.meta.url, '04-scalardl')) await runStep(step)
