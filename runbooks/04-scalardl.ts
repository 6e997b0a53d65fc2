// Step 4 of "Scalar DL on AWS": Scalar DL Ledger and Envoy via helm. The chart repository, the
// secrets (image pull, Asset Proofs key, database credentials), the schema loaded by the
// schema-loading Job, then the Ledger and Envoy: one of each per Scalar DL node, and the envoy
// load balancer's hostname.
import fs from 'node:fs'
import type { ConfigProblem } from '../lib/config.ts'
import { isMain } from '../lib/main.ts'
import { runStep } from '../lib/runner.ts'
import { keyFileProblem } from '../lib/scalardl/keys.ts'
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
import { defineStep } from '../lib/task.ts'

const FIX_TOKEN = 'set GITHUB_TOKEN to a personal access token with read:packages, in .env (mode 600) or the environment; never on a command line'

export const step = defineStep<ScalarState>({
  name: '04-scalardl',
  description: 'Step 4: Scalar DL Ledger and Envoy via Helm',
  state: () => ({ poolNodes: 0 }),
  flags: { 'generate-ledger-key': 'create LEDGER_PRIVATE_KEY_FILE (EC P-256, mode 600) when it does not exist' },
  validate(config, flags) {
    const c = config.scalardl
    const problems: ConfigProblem[] = []
    if (!c.github.username) problems.push({ key: 'GITHUB_USERNAME', message: 'is required to pull the Scalar DL images from ghcr.io', fix: 'set GITHUB_USERNAME to the GitHub account of the token' })
    if (!c.github.token) problems.push({ key: 'GITHUB_TOKEN', message: 'is required to pull the Scalar DL images from ghcr.io', fix: FIX_TOKEN })
    if (!c.db.username) problems.push({ key: 'SCALARDL_DB_USERNAME', message: 'is required: the access key id Scalar DL uses for DynamoDB', fix: 'set SCALARDL_DB_USERNAME' })
    if (!c.db.password) problems.push({ key: 'SCALARDL_DB_PASSWORD', message: 'is required: the secret access key Scalar DL uses for DynamoDB', fix: 'set SCALARDL_DB_PASSWORD in .env (mode 600) or the environment' })
    if (c.proofEnabled) {
      if (!c.privateKeyFile) problems.push({ key: 'LEDGER_PRIVATE_KEY_FILE', message: 'is required when LEDGER_PROOF_ENABLED=true', fix: 'set LEDGER_PRIVATE_KEY_FILE=./ledger-key.pem and pass --generate-ledger-key to create it' })
      else if (!fs.existsSync(c.privateKeyFile)) {
        if (!flags['generate-ledger-key']) problems.push({ key: 'LEDGER_PRIVATE_KEY_FILE', message: `${c.privateKeyFile} does not exist`, fix: 'pass --generate-ledger-key to create an EC P-256 key there, or point it at your key' })
      } else {
        const problem = keyFileProblem(c.privateKeyFile)
        if (problem) problems.push({ key: 'LEDGER_PRIVATE_KEY_FILE', message: problem, fix: 'use an EC P-256 private key in PEM with mode 600 (openssl ecparam -name prime256v1 -genkey -noout -out ledger-key.pem)' })
      }
    }
    return problems
  },
  tasks: [helmTask(), repoTask(), namespaceTask(), ledgerKeyFileTask(), pullSecretTask(), ledgerKeysTask(), dbSecretTask(), schemaValuesTask(), schemaReleaseTask(), ledgerValuesTask(), ledgerReleaseTask()],
  report: (result, _ctx, s) => (s.envoyHostname && result.status !== 'failed' ? `\n  Scalar DL endpoint (envoy EXTERNAL-IP): ${s.envoyHostname}  ports 50051, 50052` : undefined),
})

if (isMain(import.meta.url)) await runStep(step)
