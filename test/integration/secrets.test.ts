// Secrets in SSM Parameter Store (lib/secrets/parameters.ts): `npm run secrets -- store` puts a
// local .env's secrets and key files there as SecureString; a step whose configuration refers to
// them (KEY=ssm:/scalardl-runbook/<cluster>/...) reads them, with the key file on a private
// memory-backed path; a reference to a missing parameter exits 2 naming the key and the fix; no
// value appears in any output.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { GetParameterCommand, GetParametersByPathCommand, ListTagsForResourceCommand, SSMClient } from '@aws-sdk/client-ssm'
import { certificateProblem } from '../../lib/scalardl/certs.ts'
import { generateSigningKey, keyFileProblem } from '../../lib/scalardl/keys.ts'
import { loadConfigResolved } from '../../lib/secrets/parameters.ts'
import { sampleLicence, SAMPLE_LICENCE_KEY } from '../../sim/licence.ts'
import { startMoto, type Moto } from '../../sim/moto.ts'
import { baseEnv, runStep, scriptArgs, tempDir } from '../helpers/run-step.ts'
import { awsConfig } from '../helpers/aws.ts'

let moto: Moto
before(async () => {
  moto = await startMoto()
})
after(async () => {
  await moto?.stop()
})

const TOKEN = ['ghp', 'storedSecretToken0000000000000000000'].join('_')
const DB_SECRET = 'stored-db-secret-value'

function local(): { env: NodeJS.ProcessEnv; keyFile: string } {
  const dir = tempDir('rb-secrets-')
  const keyFile = path.join(dir, 'ledger-key.pem')
  generateSigningKey(keyFile)
  return {
    keyFile,
    env: baseEnv({
      ...moto.env(),
      CLUSTER_NAME: 'sec',
      RUNBOOK_STATE_DIR: path.join(dir, 'state'),
      GITHUB_USERNAME: 'octo',
      GITHUB_TOKEN: TOKEN,
      SCALARDL_DB_USERNAME: 'AKIASTOREDSECRET0000',
      SCALARDL_DB_PASSWORD: DB_SECRET,
      LEDGER_PRIVATE_KEY_FILE: keyFile,
    }),
  }
}

const store = (env: NodeJS.ProcessEnv, ...flags: string[]) =>
  spawnSync(process.execPath, [...scriptArgs('runbooks/secrets.ts'), 'store', ...flags], {
    env,
    cwd: tempDir(),
    encoding: 'utf8',
  })

describe('secrets in SSM Parameter Store', () => {
  test('store --dry-run says what it would store and stores nothing', async () => {
    const { env } = local()
    const r = store({ ...env, CLUSTER_NAME: 'sec-dry' }, '--dry-run')
    assert.equal(r.status, 0, r.stderr)
    assert.equal((r.stderr.match(/~ planned .* \(SecureString, not stored yet\)/g) ?? []).length, 4, r.stderr)
    assert.match(r.stderr, /DRY RUN: nothing was stored/)
    assert.ok(![r.stdout, r.stderr].some((o) => o.includes(TOKEN) || o.includes(DB_SECRET)), 'no value in the output')
    const ssm = new SSMClient(awsConfig(env, 'ap-northeast-1'))
    const listed = await ssm.send(new GetParametersByPathCommand({ Path: '/scalardl-runbook/sec-dry', Recursive: true }))
    ssm.destroy()
    assert.deepEqual(listed.Parameters, [], 'nothing stored')
  })

  test('store puts each secret as a SecureString, tagged, and prints the references; a second store changes nothing', async () => {
    const { env, keyFile } = local()
    const r = store(env)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(
      r.stdout.trim(),
      [
        'GITHUB_TOKEN=ssm:/scalardl-runbook/sec/github-token',
        'SCALARDL_DB_USERNAME=ssm:/scalardl-runbook/sec/db-username',
        'SCALARDL_DB_PASSWORD=ssm:/scalardl-runbook/sec/db-password',
        'LEDGER_PRIVATE_KEY_FILE=ssm:/scalardl-runbook/sec/ledger-private-key',
      ].join('\n'),
    )
    for (const out of [r.stdout, r.stderr]) {
      assert.ok(!out.includes(TOKEN) && !out.includes(DB_SECRET) && !out.includes('PRIVATE KEY'), 'no value in the output')
    }
    const ssm = new SSMClient(awsConfig(env, 'ap-northeast-1'))
    const p = (await ssm.send(new GetParameterCommand({ Name: '/scalardl-runbook/sec/ledger-private-key', WithDecryption: true })))
      .Parameter!
    assert.equal(p.Type, 'SecureString')
    assert.equal(p.Value, fs.readFileSync(keyFile, 'utf8'))
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/scalardl-runbook/sec/github-token' }),
    )
    assert.deepEqual(tags.TagList, [{ Key: 'scalardl-runbook/cluster', Value: 'sec' }])
    ssm.destroy()
    const again = store(env)
    assert.equal(again.status, 0, again.stderr)
    assert.equal((again.stderr.match(/unchanged/g) ?? []).length, 4)
  })

  test('keys where the operator is: store makes the missing key files (and the certificates with the Auditor), mode 600, then stores them; what the configuration does not use is neither made nor stored', async () => {
    const dir = tempDir('rb-keys-')
    const files = {
      LEDGER_PRIVATE_KEY_FILE: path.join(dir, 'ledger-key.pem'),
      AUDITOR_PRIVATE_KEY_FILE: path.join(dir, 'auditor-key.pem'),
      AUDITOR_CERTIFICATE_FILE: path.join(dir, 'auditor-cert.pem'),
      LEDGER_CERTIFICATE_FILE: path.join(dir, 'ledger-cert.pem'),
    }
    const { env } = local()
    // The Ledger alone: the Auditor's key is configured (.env.example's default) but not used.
    const ledgerOnly = { ...env, CLUSTER_NAME: 'keys-ledger', ...files }
    const dry = store(ledgerOnly, '--dry-run')
    assert.equal(dry.status, 0, dry.stderr)
    assert.match(dry.stderr, /~ planned make LEDGER_PRIVATE_KEY_FILE .*ledger-key\.pem \(EC P-256 private key, mode 600\)/)
    assert.ok(!fs.existsSync(files.LEDGER_PRIVATE_KEY_FILE), '--dry-run makes nothing')
    const r = store(ledgerOnly)
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /~ changed made LEDGER_PRIVATE_KEY_FILE/)
    assert.equal(fs.statSync(files.LEDGER_PRIVATE_KEY_FILE).mode & 0o777, 0o600)
    assert.equal(keyFileProblem(files.LEDGER_PRIVATE_KEY_FILE), undefined)
    assert.ok(!fs.existsSync(files.AUDITOR_PRIVATE_KEY_FILE), "the Auditor's key is not made without the Auditor")
    assert.match(r.stderr, /not used by this configuration, so not stored: .*AUDITOR_PRIVATE_KEY_FILE/)
    assert.match(r.stdout, /^LEDGER_PRIVATE_KEY_FILE=ssm:\/scalardl-runbook\/keys-ledger\/ledger-private-key$/m)
    assert.doesNotMatch(r.stdout, /AUDITOR/)

    // With the Auditor: its key, both certificates (each of its key), and its licence key.
    const withAuditor = {
      ...ledgerOnly,
      CLUSTER_NAME: 'keys-auditor',
      AUDITOR_ENABLED: 'true',
      ...sampleLicence(dir),
    }
    const a = store(withAuditor)
    assert.equal(a.status, 0, a.stderr)
    for (const f of [files.AUDITOR_PRIVATE_KEY_FILE, files.AUDITOR_CERTIFICATE_FILE, files.LEDGER_CERTIFICATE_FILE])
      assert.equal(fs.statSync(f).mode & 0o777, 0o600, f)
    assert.equal(certificateProblem(files.AUDITOR_CERTIFICATE_FILE, files.AUDITOR_PRIVATE_KEY_FILE), undefined)
    assert.equal(certificateProblem(files.LEDGER_CERTIFICATE_FILE, files.LEDGER_PRIVATE_KEY_FILE), undefined)
    assert.doesNotMatch(a.stderr, /made LEDGER_PRIVATE_KEY_FILE/, 'the existing Ledger key is kept')
    assert.match(a.stdout, /^AUDITOR_PRIVATE_KEY_FILE=ssm:/m)
    assert.match(a.stdout, /^SCALARDL_AUDITOR_LICENSE_KEY=ssm:/m)
    for (const out of [r.stdout, r.stderr, a.stdout, a.stderr]) assert.ok(!out.includes('PRIVATE KEY') && !out.includes(SAMPLE_LICENCE_KEY))

    // A key already in Parameter Store (its line an ssm: reference) is not made here, nor a
    // certificate of it: a local key would not be the stored one.
    const elsewhere = path.join(tempDir('rb-keys-ref-'), 'ledger-cert.pem')
    const ref = store({
      ...withAuditor,
      LEDGER_PRIVATE_KEY_FILE: 'ssm:/scalardl-runbook/keys-auditor/ledger-private-key',
      LEDGER_CERTIFICATE_FILE: elsewhere,
    })
    assert.equal(ref.status, 0, ref.stderr)
    assert.doesNotMatch(ref.stderr, /made (LEDGER_PRIVATE_KEY_FILE|LEDGER_CERTIFICATE_FILE)/)
    assert.ok(!fs.existsSync(elsewhere), 'no certificate of a key that is not here')
  })

  test('a configuration that refers to them loads with the values, the key file private and off the disk', async () => {
    const { env, keyFile } = local()
    assert.equal(store(env).status, 0)
    const refs = { ...env }
    for (const [k, n] of [
      ['GITHUB_TOKEN', 'github-token'],
      ['SCALARDL_DB_USERNAME', 'db-username'],
      ['SCALARDL_DB_PASSWORD', 'db-password'],
      ['LEDGER_PRIVATE_KEY_FILE', 'ledger-private-key'],
    ] as const)
      refs[k] = `ssm:/scalardl-runbook/sec/${n}`
    // In this process the SDK reads its endpoint and credentials from process.env, as a step's does.
    const saved = { ...process.env }
    Object.assign(process.env, moto.env())
    const c = await loadConfigResolved(undefined, refs).finally(() => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    })
    assert.equal(c.scalardl.github.token, TOKEN)
    assert.equal(c.scalardl.db.password, DB_SECRET)
    const file = c.scalardl.privateKeyFile
    assert.notEqual(file, keyFile)
    assert.equal(fs.readFileSync(file, 'utf8'), fs.readFileSync(keyFile, 'utf8'))
    assert.equal(fs.statSync(file).mode & 0o777, 0o600)
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700)
    if (fs.existsSync('/dev/shm')) assert.ok(file.startsWith('/dev/shm/'), file)
  })

  test('a reference to a parameter that is not there: the step exits 2 naming the key and the fix, before any change', async () => {
    const { env } = local()
    const r = await runStep('runbooks/02-database.ts', ['--json'], { ...env, SCALARDL_DB_PASSWORD: 'ssm:/scalardl-runbook/sec/nowhere' })
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /SCALARDL_DB_PASSWORD: .*\/scalardl-runbook\/sec\/nowhere, which is not in SSM Parameter Store/)
    assert.match(r.stderr, /npm run secrets -- store/)
    // A bad key elsewhere is reported without asking AWS for anything.
    const bad = await runStep('runbooks/02-database.ts', ['--json'], {
      ...env,
      SCALARDL_DB_PASSWORD: 'ssm:/scalardl-runbook/sec/nowhere',
      NODE_COUNT: 'many',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /NODE_COUNT/)
    assert.doesNotMatch(bad.stderr, /Parameter Store/)
  })
})
