// `npm run deploy` (lib/deploy/deploy.ts) with the Auditor: flags no step takes exit 2 before anything is
// made; --dry-run changes nothing and takes no lock; a full deployment prepares the Auditor's
// side (05-auditor --prepare: environment, secrets, schema) while steps 01 to 04 build the Ledger's, under the
// deployment's locks, then finishes 05 to 07; a second deployment changes nothing.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { generateSigningKey } from '../../lib/scalardl/keys.ts'
import { ROOT, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { sampleLicence } from '../../sim/licence.ts'
import { awsConfig } from '../helpers/aws.ts'
import { GetRoleCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam'
import { boundaryArn } from '../../lib/iam/boundary.ts'

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

  test("the Auditor's environment is built beside steps 01 to 04, each flag reaches its step, and a second deployment changes nothing", async () => {
    const r = await deploy(['--generate-ledger-key', '--generate-keys'])
    assert.equal(r.code, 0, r.stderr.slice(-4000))
    assert.match(r.stderr, /^05-auditor --prepare │ ▶ 05-auditor/m)
    assert.match(r.stderr, /^03-eks │ ▶ 03-eks/m)
    assert.match(r.stderr, /deploy: 9 steps done, independent ones side by side/)
    const journal = fs
      .readFileSync(path.join(state, 'runbook', 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((j) => !j.dryRun)
    const span = (j: any) => [Date.parse(j.ts) - j.durationMs, Date.parse(j.ts)] as const
    const infra = journal.find((j) => j.step === '05-auditor' && j.argv.includes('--prepare'))
    const eks = journal.find((j) => j.step === '03-eks')
    assert.ok(infra && eks, 'both journalled')
    const [a, b] = [span(infra), span(eks)]
    assert.ok(a[0] < b[1] && b[0] < a[1], `05 --prepare ${a.join('-')} and 03-eks ${b.join('-')} overlap`)
    assert.equal(journal.find((j) => j.step === '05-auditor' && !j.argv.includes('--prepare'))?.status, 'changed')
    // Every role eksctl made (the clusters' service roles, the node groups', vpc-cni's and the
    // CloudWatch agents') carries the permissions boundary 01 made (the bastion's: bastion.test.ts).
    const iam = new IAMClient(awsConfig(sim.env, 'ap-northeast-1'))
    const names = ((await iam.send(new ListRolesCommand({}))).Roles ?? [])
      .map((x) => x.RoleName!)
      .filter((n) => /^eksctl-|-bastion$/.test(n))
    const kinds = ['cluster-ServiceRole', 'NodeInstanceRole', 'addon-vpc-cni', 'addon-amazon-cloudwatch']
    for (const k of kinds)
      assert.ok(
        names.some((n) => n.includes(k)),
        `a ${k} role among ${names.join(', ')}`,
      )
    for (const n of names)
      assert.equal(
        (await iam.send(new GetRoleCommand({ RoleName: n }))).Role?.PermissionsBoundary?.PermissionsBoundaryArn,
        boundaryArn('123456789012'),
        n,
      )
    iam.destroy()

    const again = await deploy([])
    assert.equal(again.code, 0, again.stderr.slice(-4000))
    const recaps = [...again.stderr.matchAll(/RECAP (\S+): ok=\d+ changed=(\d+)/g)].map((m) => [m[1], Number(m[2])])
    assert.equal(recaps.length, 8, again.stderr.slice(-3000))
    assert.deepEqual(
      recaps.filter(([, changed]) => changed !== 0),
      [],
    )
    assert.match(again.stderr, /VERIFY 07-verify: 10 of 10 checks passed/)
  })
})
