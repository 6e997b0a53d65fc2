// Where the runbook runs: the EKS endpoints are private, so the steps that use the Kubernetes API
// run on the Ledger's bastion (the Auditor's cluster is reached through the peering). The
// simulator places the caller (knob `caller`: outside AWS, or on an EC2 instance) and answers the
// instance metadata service and the API endpoints accordingly. From outside, the deployment stops
// before it makes a cluster, with the fix. The rest is on the README's operator path
// (test/e2e/operator-path.test.ts), whose deployments run on the bastion: with the Auditor, 05
// reaches both clusters there through the peering (auditor-checks.ts has the control plane's
// rule), and a step run from the laptop on the clusters made stops at once (bastion-checks.ts).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { EKSClient, ListClustersCommand } from '@aws-sdk/client-eks'
import { sampleLicence } from '../../sim/licence.ts'
import { ROOT, runStep, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
const state = tempDir('rb-where-')
const licence = sampleLicence(state)
const CLUSTER = 'wh'

const env = (): NodeJS.ProcessEnv => ({
  ...sim.env,
  NODE_NO_WARNINGS: '1',
  CI: 'true',
  CLUSTER_NAME: CLUSTER,
  VPC_CIDR: '10.90.0.0/16',
  AUDITOR_ENABLED: 'true',
  AUDITOR_VPC_CIDR: '10.91.0.0/16',
  RUNBOOK_STATE_DIR: path.join(state, 'runbook'),
  GITHUB_USERNAME: 'octo',
  GITHUB_TOKEN: ['ghp', 'whereTestToken00000000000000000000'].join('_'),
  SCALARDL_DB_USERNAME: 'AKIAWHERETEST0000000',
  SCALARDL_DB_PASSWORD: 'where-test-secret',
  LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
  LEDGER_CERTIFICATE_FILE: path.join(state, 'ledger-cert.pem'),
  AUDITOR_PRIVATE_KEY_FILE: path.join(state, 'auditor-key.pem'),
  AUDITOR_CERTIFICATE_FILE: path.join(state, 'auditor-cert.pem'),
  ...licence,
  DYNAMODB_NAMESPACE_PREFIX: 'wh_',
  // The runbook asks the (simulated) instance metadata service where it runs.
  AWS_EC2_METADATA_DISABLED: 'false',
  AWS_EC2_METADATA_SERVICE_ENDPOINT: JSON.parse(fs.readFileSync(path.join(sim.dir, 'sim.json'), 'utf8')).imdsUrl,
})

function deploy(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'deploy.mjs'), ...args], {
      env: env(),
      cwd: state,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }))
  })
}

const standOn = (caller: string) => assert.equal(sim.cli('knobs', '--caller', caller).code, 0)

before(() => {
  sim = startSim(['--pod-start-ms', '50', '--job-duration-ms', '100', '--lb-delay-ms', '100', '--cloudwatch-interval-ms', '2000'])
})
after(() => stopSim(sim))

describe('where the runbook runs (private endpoints)', () => {
  test('from outside AWS: 01 makes the network and the bastion; the deployment then stops before any cluster, naming the fix', async () => {
    standOn('outside')
    const vpc = await runStep('runbooks/01-vpc.ts', [], env())
    assert.equal(vpc.code, 0, vpc.stderr)
    const r = await deploy(['--generate-ledger-key', '--generate-keys'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(
      r.stderr,
      /ENDPOINT_PUBLIC_ACCESS: is false: the Kubernetes API of wh will answer only inside its VPC, and this step runs on a host outside AWS/,
    )
    assert.match(r.stderr, /run this step on the bastion of wh \(aws ssm start-session/)
    const eks = new EKSClient(awsConfig(sim.env, 'ap-northeast-1'))
    assert.deepEqual((await eks.send(new ListClustersCommand({}))).clusters, [], 'no control plane was made')
    eks.destroy()
  })
})
