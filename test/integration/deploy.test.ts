// `npm run deploy` (lib/deploy/deploy.ts) with the Auditor: flags no step takes exit 2 before anything is
// made; --dry-run changes nothing and takes no lock, and each flag reaches its step (04 plans the
// Ledger's key with --generate-ledger-key, 05 gets past its key files with --generate-keys). A full
// deployment with the Auditor (05-auditor --prepare beside 03-eks, the permissions boundary on
// eksctl's roles, a second run that changes nothing) is the README's `npm run bastion -- run
// deploy`: test/e2e/operator-path.test.ts.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { generateSigningKey } from '../../lib/scalardl/keys.ts'
import { ROOT, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { sampleLicence } from '../../sim/licence.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
const state = tempDir('rb-deploy-')
const licence = sampleLicence(state)

const env = (): NodeJS.ProcessEnv => ({
  ...sim.env,
  NODE_NO_WARNINGS: '1',
  CI: 'true',
  CLUSTER_NAME: 'dep',
  VPC_CIDR: '10.80.0.0/16',
  AUDITOR_ENABLED: 'true',
  AUDITOR_VPC_CIDR: '10.81.0.0/16',
  BASTION_ENABLED: 'false',
  RUNBOOK_STATE_DIR: path.join(state, 'runbook'),
  GITHUB_USERNAME: 'octo',
  GITHUB_TOKEN: ['ghp', 'deployTestToken0000000000000000000'].join('_'),
  SCALARDL_DB_USERNAME: 'AKIADEPLOYTEST000000',
  SCALARDL_DB_PASSWORD: 'deploy-test-secret',
  LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
  LEDGER_CERTIFICATE_FILE: path.join(state, 'ledger-cert.pem'),
  AUDITOR_PRIVATE_KEY_FILE: path.join(state, 'auditor-key.pem'),
  AUDITOR_CERTIFICATE_FILE: path.join(state, 'auditor-cert.pem'),
  ...licence,
  DYNAMODB_NAMESPACE_PREFIX: 'dep_',
})

function deploy(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'deploy.mjs'), ...args], {
      env: { ...env(), ...extra },
      cwd: state,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }))
  })
}

before(() => {
  sim = startSim(['--pod-start-ms', '50', '--job-duration-ms', '100', '--lb-delay-ms', '100', '--cloudwatch-interval-ms', '2000'])
})
after(() => stopSim(sim))

describe('npm run deploy with the Auditor', () => {
  test('a flag no step takes exits 2 and names the flags there are; nothing is made', async () => {
    const r = await deploy(['--generate-keys', '--no-such-flag'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /no step takes --no-such-flag/)
    assert.match(r.stderr, /--generate-ledger-key \(04-scalardl\)/)
    const ec2 = new EC2Client(awsConfig(sim.env, 'ap-northeast-1'))
    const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []
    ec2.destroy()
    assert.equal(vpcs.filter((v) => v.CidrBlock !== '172.31.0.0/16').length, 0, 'no VPC but the default one')
  })

  test('--dry-run on a fresh environment plans 01 to 04 and 06, stops at 05 (it needs the Ledger deployed), changes nothing and takes no run lock', async () => {
    // 05 validates the Ledger's key file before any call, and a dry run of 04 does not write it.
    generateSigningKey(env().LEDGER_PRIVATE_KEY_FILE!)
    const r = await deploy(['--dry-run', '--generate-ledger-key', '--generate-keys'])
    assert.equal(r.code, 1, r.stderr.slice(-4000))
    for (const step of ['01-vpc', '02-database', '03-eks', '04-scalardl', '06-monitoring'])
      assert.match(r.stderr, new RegExp(`RECAP ${step}: ok=\\d+ changed=0 planned=[1-9]\\d* failed=0`), step)
    assert.match(r.stderr, /05-auditor │ +✗ failed +Ledger deployed with Asset Proofs .* no kubeconfig for the Ledger cluster/)
    assert.match(r.stderr, /deploy stopped at 05-auditor \(exit 1\)/)
    assert.doesNotMatch(r.stderr, /^07-verify │/m, '07-verify never ran: a step it needs failed')
    const ec2 = new EC2Client(awsConfig(sim.env, 'ap-northeast-1'))
    const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []
    ec2.destroy()
    assert.equal(vpcs.filter((v) => v.CidrBlock !== '172.31.0.0/16').length, 0, 'no VPC but the default one')
    const ddb = new DynamoDBClient(awsConfig(sim.env, 'ap-northeast-1'))
    const tables = (await ddb.send(new ListTablesCommand({}))).TableNames ?? []
    ddb.destroy()
    assert.deepEqual(tables, [], 'not even the lock table')
  })

  test('--dry-run without the Auditor plans 01 to 04 and 06, then 07 names the checks it would run: exit 0, nothing made', async () => {
    const r = await deploy(['--dry-run', '--yes', '--generate-ledger-key'], {
      AUDITOR_ENABLED: 'false',
      CLUSTER_NAME: 'dep-dry',
      VPC_CIDR: '10.82.0.0/16',
      LEDGER_PRIVATE_KEY_FILE: path.join(state, 'dry-ledger-key.pem'),
    })
    assert.equal(r.code, 0, r.stderr.slice(-4000))
    for (const step of ['01-vpc', '02-database', '03-eks', '04-scalardl', '06-monitoring'])
      assert.match(r.stderr, new RegExp(`RECAP ${step}: ok=\\d+ changed=0 planned=[1-9]\\d* failed=0`), step)
    assert.match(r.stderr, /^07-verify │ +\+ planned envoy {2}Envoy load balancer/m)
    assert.match(r.stderr, /05-auditor skipped: AUDITOR_ENABLED is not true/)
    const ec2 = new EC2Client(awsConfig(sim.env, 'ap-northeast-1'))
    const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []
    ec2.destroy()
    assert.equal(vpcs.filter((v) => v.CidrBlock !== '172.31.0.0/16').length, 0, 'no VPC but the default one')
  })
})
