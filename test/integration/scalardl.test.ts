// 04-scalardl against the simulator: secrets, schema loading, the Ledger and Envoy release,
// idempotent reruns, scaling, recovery, refusals, and no secret anywhere it should not be.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { stopSim, eventually, startSim, type Sim } from '../helpers/sim.ts'
import { runStep, tempDir } from '../helpers/run-step.ts'
import { awsConfig } from '../helpers/aws.ts'

const TOKEN = ['ghp', 'TestTokenDoNotLeak0123456789abcdefXYZ'].join('_')
const DB_SECRET = 'db-secret-access-key-do-not-leak'
let sim: Sim
let env: NodeJS.ProcessEnv
let kubeconfig: string

const argv = () => (fs.existsSync(env.SIM_ARGV_LOG!) ? fs.readFileSync(env.SIM_ARGV_LOG!, 'utf8').trim().split('\n') : [])
async function k(args: string[]): Promise<string> {
  const r = await sim.kubectl(['--kubeconfig', kubeconfig, ...args])
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const pods = async (app: string) => JSON.parse(await k(['get', 'pods', '-l', `app.kubernetes.io/app=${app}`, '-o', 'json'])).items as any[]
const secret = async (name: string) => JSON.parse(await k(['get', 'secret', name, '-o', 'json']))
const outputs: string[] = []
async function step(script: string, args: string[] = [], extra: Record<string, string> = {}) {
  const r = await runStep(script, ['--json', ...args], { ...env, ...extra })
  outputs.push(r.stdout, r.stderr)
  return r
}

before(async () => {
  sim = startSim(['--pod-start-ms', '50', '--job-duration-ms', '200', '--lb-delay-ms', '100', '--cloudwatch-interval-ms', '0'])
  const state = tempDir('rb-dl-')
  env = {
    ...sim.env,
    NODE_NO_WARNINGS: '1',
    CI: 'true',
    CLUSTER_NAME: 'dl',
    RUNBOOK_STATE_DIR: state,
    SIM_ARGV_LOG: path.join(tempDir('argv-'), 'argv.log'),
    BASTION_ENABLED: 'false',
    DYNAMODB_NAMESPACE_PREFIX: 'dl_',
    GITHUB_USERNAME: 'octocat',
    GITHUB_TOKEN: TOKEN,
    SCALARDL_DB_USERNAME: 'AKIATESTTESTTEST0000',
    SCALARDL_DB_PASSWORD: DB_SECRET,
    LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
  }
  kubeconfig = path.join(state, 'dl', 'kubeconfig')
  for (const s of ['runbooks/01-vpc.ts', 'runbooks/03-eks.ts']) {
    const r = await step(s)
    assert.equal(r.code, 0, r.stderr)
  }
})
after(() => {
  stopSim(sim)
})

describe('04-scalardl against the simulator', () => {
  test('refusals before any change: missing GITHUB_TOKEN, a key file that is not EC P-256, a missing key without --generate-ledger-key', async () => {
    const before = argv().length
    const noToken = await step('runbooks/04-scalardl.ts', [], { GITHUB_TOKEN: '' })
    assert.equal(noToken.code, 2)
    assert.ok(noToken.json.problems.some((p: any) => p.key === 'GITHUB_TOKEN'))
    const rsa = path.join(tempDir(), 'rsa.pem')
    fs.writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      { mode: 0o600 },
    )
    const bad = await step('runbooks/04-scalardl.ts', [], { LEDGER_PRIVATE_KEY_FILE: rsa })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /holds a rsa key; Scalar DL needs an EC P-256 key/)
    const missing = await step('runbooks/04-scalardl.ts')
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /--generate-ledger-key/)
    assert.equal(argv().length, before, 'no helm or eksctl ran')
  })

  test('--dry-run plans everything and changes nothing: no key file, no secret, no release', async () => {
    const before = argv().length
    const r = await step('runbooks/04-scalardl.ts', ['--dry-run', '--generate-ledger-key'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'planned')
    assert.ok(!fs.existsSync(env.LEDGER_PRIVATE_KEY_FILE!), 'no key generated')
    assert.equal((await sim.kubectl(['--kubeconfig', kubeconfig, 'get', 'secret', 'reg-docker-secrets'])).code, 1)
    assert.ok(
      !argv()
        .slice(before)
        .some((a) => /^helm .*\b(upgrade|install|uninstall|repo add)\b/.test(a)),
    )
    assert.match(r.stderr, /\| +"replicaCount": 3/, 'dry-run shows the computed values')
  })

  test('fresh: secrets, schema tables, both releases, one Ledger and one Envoy per pool node, the envoy hostname', async () => {
    const r = await step('runbooks/04-scalardl.ts', ['--generate-ledger-key'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'changed')
    assert.equal(fs.statSync(env.LEDGER_PRIVATE_KEY_FILE!).mode & 0o777, 0o600)
    const reg = await secret('reg-docker-secrets')
    assert.equal(reg.type, 'kubernetes.io/dockerconfigjson')
    const auths = JSON.parse(Buffer.from(reg.data['.dockerconfigjson'], 'base64').toString()).auths
    assert.equal(Buffer.from(auths['ghcr.io'].auth, 'base64').toString(), `octocat:${TOKEN}`)
    const keys = await secret('ledger-keys')
    assert.equal(Buffer.from(keys.data['private-key'], 'base64').toString(), fs.readFileSync(env.LEDGER_PRIVATE_KEY_FILE!, 'utf8'))
    const db = await secret('my-release-scalardl-db-credentials')
    // db-username/db-password for the charts' existingSecret, SCALAR_DB_* for envFrom (secretName).
    assert.deepEqual(Object.keys(db.data).sort(), ['SCALAR_DB_PASSWORD', 'SCALAR_DB_USERNAME', 'db-password', 'db-username'])
    const releases = JSON.parse(await k(['get', 'secrets', '-l', 'owner=helm,status=deployed', '-o', 'json']))
      .items.map((s: any) => s.metadata.labels.name)
      .sort()
    assert.deepEqual(releases, ['load-schema', 'my-release-scalardl'])
    const ddb = new DynamoDBClient(awsConfig(env, 'ap-northeast-1'))
    const tables = (await ddb.send(new ListTablesCommand({}))).TableNames!
    ddb.destroy()
    for (const t of ['scalar.asset', 'scalar.tx_state', 'coordinator.state', 'scalardb.metadata'])
      assert.ok(tables.includes(`dl_${t}`), `dl_${t}`)
    for (const app of ['ledger', 'envoy']) {
      const p = await pods(app)
      assert.equal(p.length, 3, app)
      assert.ok(p.every((x) => x.status.phase === 'Running'))
      assert.equal(new Set(p.map((x) => x.spec.nodeName)).size, 3, `${app} on distinct nodes`)
    }
    assert.match(r.stderr, /Scalar DL endpoint \(envoy EXTERNAL-IP\): \S+\.elb\.ap-northeast-1\.amazonaws\.com/)
    const ledgerPod = (await pods('ledger'))[0]
    assert.deepEqual(ledgerPod.spec.nodeSelector, { agentpool: 'scalardlpool' })
    assert.ok(ledgerPod.spec.volumes.some((v: any) => v.secret?.secretName === 'ledger-keys'))
  })

  test('a rerun changes nothing and runs no helm upgrade or eksctl create', async () => {
    const before = argv().length
    const r = await step('runbooks/04-scalardl.ts')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'ok')
    const calls = argv().slice(before)
    assert.ok(
      calls.some((a) => /^helm .*\blist\b/.test(a)),
      'the rerun did consult helm',
    )
    assert.ok(!calls.some((a) => /^helm .*\b(upgrade|install|uninstall)\b|^eksctl create/.test(a)), calls.join('\n'))
  })

  test('a rotated database password reaches the Ledger: its Pods are replaced and 04 says why; the envoy is not', async () => {
    const ledgerBefore = (await pods('ledger')).map((p) => p.metadata.name).sort()
    const envoyBefore = (await pods('envoy')).map((p) => p.metadata.name).sort()
    const rotated = `${DB_SECRET}-rotated`
    const r = await step('runbooks/04-scalardl.ts', [], { SCALARDL_DB_PASSWORD: rotated })
    assert.equal(r.code, 0, r.stderr)
    const values = r.json.tasks.find((x: any) => /^Values for scalardl/.test(x.title))
    assert.equal(values.status, 'changed')
    assert.match(values.detail, /the database credentials, licence or keys changed, so the Pods will be replaced/)
    const ledgerAfter = (await pods('ledger')).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name)
    assert.equal(ledgerAfter.length, 3)
    assert.deepEqual(
      ledgerAfter.filter((n) => ledgerBefore.includes(n)),
      [],
      'every Ledger Pod replaced',
    )
    assert.deepEqual((await pods('envoy')).map((p) => p.metadata.name).sort(), envoyBefore, 'the envoy reads no Secret of these')
    // Back to the password the other tests use: replaced again; then a rerun changes nothing.
    assert.equal((await step('runbooks/04-scalardl.ts')).code, 0)
    const again = await step('runbooks/04-scalardl.ts')
    assert.equal(again.json.status, 'ok', again.stderr)
  })

  test('changed by hand: the envoy scaled to 1 and its metrics Service deleted; the rerun repairs both and says so', async () => {
    await k(['scale', 'deployment', 'my-release-scalardl-envoy', '--replicas=1'])
    await k(['delete', 'service', 'my-release-scalardl-envoy-metrics'])
    const r = await step('runbooks/04-scalardl.ts')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'changed')
    const t = r.json.tasks.find((x: any) => /^Scalar DL Ledger and Envoy release/.test(x.title))
    assert.equal(t.status, 'changed')
    assert.equal(JSON.parse(await k(['get', 'deployment', 'my-release-scalardl-envoy', '-o', 'json'])).spec.replicas, 3)
    assert.equal(
      (await sim.kubectl(['--kubeconfig', kubeconfig, 'get', 'service', 'my-release-scalardl-envoy-metrics'])).code,
      0,
      'the Service is back',
    )
    assert.equal((await pods('envoy')).filter((p) => p.status.phase === 'Running').length, 3)
    assert.equal((await step('runbooks/04-scalardl.ts')).json.status, 'ok', 'then nothing to do')
  })

  test('database credentials DynamoDB does not accept: the Ledger crash-loops and 04 says why; accepted again, the rerun restarts it', async () => {
    process.env.SIM_DB_CREDENTIALS = 'AKIAOTHERKEY00000000:another-secret'
    assert.equal(sim.cli('knobs', '--db-credentials-from-env').code, 0)
    try {
      // 02 finds it first: DynamoDB does not know the key (the simulated account knows only the registered one).
      const db = await step('runbooks/02-database.ts')
      assert.equal(db.code, 1)
      const keyTask = db.json.tasks.find((x: any) => /database key/.test(x.title))
      assert.equal(keyTask.status, 'failed')
      assert.match(
        keyTask.detail,
        /DynamoDB refused the database key \(SCALARDL_DB_USERNAME\) on 9 of 9 tables .*UnrecognizedClientException/,
      )
      assert.match(db.stderr, /are not an access key DynamoDB knows/)
      await k(['delete', 'pod', '-l', 'app.kubernetes.io/app=ledger'])
      const r = await step('runbooks/04-scalardl.ts')
      assert.equal(r.code, 1)
      const t = r.json.tasks.find((x: any) => /^Scalar DL Ledger and Envoy release/.test(x.title))
      assert.equal(t.status, 'failed')
      assert.match(t.detail, /CrashLoopBackOff.*UnrecognizedClientException/)
    } finally {
      process.env.SIM_DB_CREDENTIALS = `${env.SCALARDL_DB_USERNAME}:${DB_SECRET}`
      assert.equal(sim.cli('knobs', '--db-credentials-from-env').code, 0)
      delete process.env.SIM_DB_CREDENTIALS
    }
    const ok = await step('runbooks/04-scalardl.ts')
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal((await pods('ledger')).filter((p) => p.status.containerStatuses?.[0]?.ready).length, 3)
    assert.equal(sim.cli('knobs', '--db-credentials-from-env').code, 0, 'back to any well-formed key')
  })

  test('ledger-keys removed by hand: the rerun restores it and the Ledger Pods recover', async () => {
    await k(['delete', 'secret', 'ledger-keys'])
    await k(['delete', 'pod', '-l', 'app.kubernetes.io/app=ledger'])
    await eventually(
      async () =>
        (await pods('ledger')).some((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating') && true,
      'Ledger pods stuck without their key',
    )
    const r = await step('runbooks/04-scalardl.ts')
    assert.equal(r.code, 0, r.stderr)
    const changed = r.json.tasks.filter((t: any) => t.status === 'changed').map((t: any) => t.title)
    assert.equal(changed[0], 'Secret ledger-keys (Asset Proofs private key)')
    const ledger = await pods('ledger')
    assert.equal(ledger.length, 3)
    assert.ok(
      ledger.every((p) => p.status.phase === 'Running'),
      'the Ledger Pods recovered once the key was back',
    )
  })

  test('NODE_COUNT raised: 03 scales and taints, 04 follows with one more Ledger and Envoy', async () => {
    assert.equal((await step('runbooks/03-eks.ts', [], { NODE_COUNT: '4' })).code, 0)
    const r = await step('runbooks/04-scalardl.ts', [], { NODE_COUNT: '4' })
    assert.equal(r.code, 0, r.stderr)
    for (const app of ['ledger', 'envoy']) {
      const p = await pods(app)
      assert.equal(p.filter((x) => x.status.phase === 'Running').length, 4, app)
      assert.equal(new Set(p.map((x) => x.spec.nodeName)).size, 4)
    }
    assert.ok(argv().some((a) => /^helm .*\bupgrade --install my-release-scalardl\b/.test(a)))
  })

  test('a failed schema load says why; once fixed, the rerun reinstalls the schema release', async () => {
    // Changing the namespace prefix changes the schema values: the Job must be reinstalled.
    const failing = sim.cli('knobs', '--fail-jobs', '^load-schema')
    assert.equal(failing.code, 0, failing.stderr)
    const r = await step('runbooks/04-scalardl.ts', [], { DYNAMODB_NAMESPACE_PREFIX: 'dl2_', NODE_COUNT: '4' })
    assert.equal(r.code, 1)
    const t = r.json.tasks.find((x: any) => /^Schema loaded/.test(x.title))
    assert.equal(t.status, 'failed')
    assert.match(t.detail, /the Job failed: .*(Error|BackoffLimitExceeded)/)
    assert.match(t.detail, /kubectl logs job\/load-schema-schema-loading/)
    assert.equal(sim.cli('knobs', '--fail-jobs', '').code, 0)
    const before = new Set((await pods('ledger')).map((p) => p.metadata.labels['pod-template-hash']))
    const ok = await step('runbooks/04-scalardl.ts', [], { DYNAMODB_NAMESPACE_PREFIX: 'dl2_', NODE_COUNT: '4' })
    assert.equal(ok.code, 0, ok.stderr)
    // The prefix is in the Ledger's properties: checksum/config changed, and every Pod rolled.
    const rolled = await pods('ledger')
    assert.equal(rolled.length, 4)
    assert.equal(new Set(rolled.map((p) => p.metadata.labels['pod-template-hash'])).size, 1)
    assert.ok(!before.has(rolled[0].metadata.labels['pod-template-hash']), 'every Ledger Pod on the new template')
    assert.match(ok.json.tasks.find((x: any) => /^Schema loaded/.test(x.title)).detail, /reinstalled/)
  })

  test('the GitHub token and the database secret appear in no argv, output, journal or rendered file', () => {
    const texts = [argv().join('\n'), ...outputs]
    const dir = env.RUNBOOK_STATE_DIR!
    for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
      const p = path.join(dir, f)
      if (fs.statSync(p).isFile() && !p.endsWith('.pem')) texts.push(fs.readFileSync(p, 'utf8'))
    }
    for (const t of texts) {
      assert.ok(!t.includes(TOKEN), 'the GitHub token leaked')
      assert.ok(!t.includes(DB_SECRET), 'the database secret leaked')
    }
    for (const f of fs.readdirSync(path.join(dir, 'dl')))
      assert.equal(fs.statSync(path.join(dir, 'dl', f)).mode & 0o077, 0, `${f} is private`)
  })
})
