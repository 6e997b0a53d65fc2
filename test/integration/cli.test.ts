// The command-line contract, process-level: exit codes, --help, bad usage, and invalid
// configuration refused before any call to AWS.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { baseEnv, runStep, tempDir } from '../helpers/run-step.ts'

let server: net.Server
let connections = 0
let endpoint = ''
before(async () => {
  // Stands where AWS would be: any connection to it is an AWS call the runbook should not make.
  server = net.createServer((s) => {
    connections++
    s.destroy()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
})
after(() => new Promise<void>((r) => server.close(() => r())))

const STEPS = ['runbooks/00-preflight.ts', 'runbooks/01-vpc.ts', 'runbooks/02-database.ts']

describe('command-line contract', () => {
  for (const step of STEPS) {
    test(`${path.basename(step)}: invalid configuration exits 2 listing every problem, before any AWS call`, async () => {
      const env = baseEnv({
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        CLUSTER_NAME: 'Bad_Name',
        VPC_CIDR: '10.0.0.0/8',
        NAT_GATEWAYS: 'many',
        BASTION_SSH_CIDR: '0.0.0.0/0',
        DATABASE: 'mysql',
        RUNBOOK_STATE_DIR: tempDir(),
      })
      const before = connections
      const r = await runStep(step, ['--json'], env)
      assert.equal(r.code, 2, r.stderr)
      assert.equal(connections, before, 'no connection reached the AWS endpoint')
      for (const key of ['AWS_REGION', 'CLUSTER_NAME', 'VPC_CIDR', 'NAT_GATEWAYS', 'BASTION_SSH_CIDR', 'DATABASE']) {
        assert.ok(
          r.json.problems.some((p: any) => p.key === key),
          `${key} is reported`,
        )
        assert.match(r.stderr, new RegExp(`${key}: `))
      }
      assert.ok(
        r.json.problems.every((p: any) => p.fix),
        'every problem says how to fix it',
      )
      assert.match(r.stderr, /not supported yet/)
      assert.match(r.stderr, /nothing was changed/)
    })
  }

  test('--env-file is read, and the environment wins over it', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'custom.env')
    fs.writeFileSync(file, 'AWS_REGION=ap-northeast-1\nCLUSTER_NAME=from-file\nNODE_COUNT=zero\n')
    const r = await runStep(
      'runbooks/01-vpc.ts',
      ['--env-file', file, '--json'],
      baseEnv({ AWS_ENDPOINT_URL: endpoint, NODE_COUNT: '4', VPC_CIDR: '10.1.0.0/24', RUNBOOK_STATE_DIR: tempDir() }),
    )
    assert.equal(r.code, 2)
    assert.deepEqual(
      r.json.problems.map((p: any) => p.key),
      ['VPC_CIDR'],
      'NODE_COUNT from the environment won; only VPC_CIDR is wrong',
    )
  })

  test('a missing --env-file stops before anything runs', async () => {
    const r = await runStep('runbooks/01-vpc.ts', ['--env-file', '/nonexistent/.env', '--json'], baseEnv({ AWS_ENDPOINT_URL: endpoint }))
    // Node 20 itself reads any --env-file in argv, even the script's, and exits 9 when the file
    // is missing, before the runbook starts (RUNBOOK.md, "Node 20"); later Node versions leave it to us.
    if (r.code === 9) assert.match(r.stderr, /node: \/nonexistent\/\.env: not found/)
    else {
      assert.equal(r.code, 2)
      assert.match(r.stderr, /does not exist/)
    }
    assert.equal(r.json, undefined)
  })

  test('bad input around the configuration: malformed or unreadable .env, no AWS credentials, unusable key files: exit 2 naming the cause, no AWS call', async () => {
    const before = connections
    const quiet = { AWS_ENDPOINT_URL: endpoint, RUNBOOK_STATE_DIR: tempDir(), AWS_EC2_METADATA_DISABLED: 'true' }
    // A line dotenv would silently drop.
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, '.env'), 'AWS_REGION=ap-northeast-1\nCLUSTER_NAME=ok\nNODE_COUNT 3\n', { mode: 0o600 })
    const malformed = await runStep('runbooks/01-vpc.ts', ['--json'], baseEnv(quiet), dir)
    assert.equal(malformed.code, 2, malformed.stderr)
    assert.deepEqual(
      malformed.json.problems.map((p: any) => p.key),
      ['.env:3'],
    )
    assert.match(malformed.stderr, /is not KEY=value: "NODE_COUNT 3"/)
    // A quote never closed.
    fs.writeFileSync(path.join(dir, '.env'), 'AWS_REGION=ap-northeast-1\nCLUSTER_NAME="ok\n', { mode: 0o600 })
    assert.match((await runStep('runbooks/01-vpc.ts', [], baseEnv(quiet), dir)).stderr, /a quoted value is never closed/)
    // .env that cannot be read (here: a directory).
    const unreadable = tempDir()
    fs.mkdirSync(path.join(unreadable, '.env'))
    const r2 = await runStep('runbooks/01-vpc.ts', ['--json'], baseEnv(quiet), unreadable)
    assert.equal(r2.code, 2, r2.stderr)
    assert.match(r2.stderr, /\.env: cannot be read: EISDIR/)
    // No AWS credentials anywhere (no keys, no profile, an empty HOME, no instance metadata).
    const nocreds = await runStep('runbooks/01-vpc.ts', ['--json'], {
      ...baseEnv({ ...quiet, AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'nocreds' }),
      HOME: tempDir(),
    })
    assert.equal(nocreds.code, 2, nocreds.stderr)
    assert.equal(nocreds.json.problems[0].key, 'AWS credentials')
    assert.match(nocreds.stderr, /no AWS credentials/)
    // Key files: a directory, a file that is not a key.
    const keys = tempDir()
    fs.writeFileSync(path.join(keys, 'notes.txt'), 'not a key\n', { mode: 0o600 })
    const step4 = {
      ...quiet,
      AWS_REGION: 'ap-northeast-1',
      CLUSTER_NAME: 'keys',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
      GITHUB_USERNAME: 'octo',
      GITHUB_TOKEN: ['ghp', 'cliTestToken000000000000000000000'].join('_'),
      SCALARDL_DB_USERNAME: 'AKIACLITEST000000000',
      SCALARDL_DB_PASSWORD: 'cli-test-secret',
    }
    for (const [file, why] of [
      [keys, /cannot be read/],
      [path.join(keys, 'notes.txt'), /is not a PEM private key/],
    ] as const) {
      const k = await runStep('runbooks/04-scalardl.ts', ['--json'], baseEnv({ ...step4, LEDGER_PRIVATE_KEY_FILE: file }))
      assert.equal(k.code, 2, k.stderr)
      assert.equal(k.json.problems[0].key, 'LEDGER_PRIVATE_KEY_FILE')
      assert.match(k.json.problems[0].message, why)
    }
    assert.equal(connections, before, 'no AWS call was made')
  })

  test('.env in the working directory is read by default', async () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, '.env'), 'AWS_REGION=ap-northeast-1\nCLUSTER_NAME=UPPER\n')
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], baseEnv({ AWS_ENDPOINT_URL: endpoint, RUNBOOK_STATE_DIR: tempDir() }), dir)
    assert.equal(r.code, 2)
    assert.deepEqual(
      r.json.problems.map((p: any) => p.key),
      ['CLUSTER_NAME'],
    )
  })

  test('unknown flags exit 2 with the usage; --help exits 0', async () => {
    const bad = await runStep('runbooks/01-vpc.ts', ['--dryrun'], baseEnv({}))
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /unknown argument: --dryrun/)
    assert.match(bad.stderr, /Usage: npx tsx runbooks\/01-vpc\.ts/)
    const badJson = await runStep('runbooks/01-vpc.ts', ['--dryrun', '--json'], baseEnv({}))
    assert.equal(badJson.code, 2)
    assert.deepEqual(JSON.parse(badJson.stdout).problems, [
      { key: 'command line', message: 'unknown argument: --dryrun', fix: '01-vpc --help lists the flags' },
    ])
    const help = await runStep('runbooks/01-vpc.ts', ['--help'], baseEnv({}))
    assert.equal(help.code, 0)
    assert.match(help.stderr, /--dry-run/)
    assert.match(help.stderr, /Exit codes: 0/)
  })

  test('07-verify takes the common flags: --dry-run --yes names the checks it would run and reads nothing (npm run deploy -- --dry-run ends there)', async () => {
    const before = connections
    const r = await runStep(
      'runbooks/07-verify.ts',
      ['--dry-run', '--yes', '--json'],
      baseEnv({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'dry', RUNBOOK_STATE_DIR: tempDir() }),
    )
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      r.json.map((c: any) => [c.name, c.status]),
      ['tables', 'pods', 'nodes', 'envoy', 'health', 'logs', 'metrics', 'releases'].map((n) => [n, 'planned']),
    )
    assert.match(r.stderr, /DRY RUN: nothing is read/)
    assert.equal(connections, before, 'no AWS call')
  })

  test('an unreachable AWS endpoint fails the step (exit 1) with the call, the error and a hint', async () => {
    const r = await runStep(
      'runbooks/01-vpc.ts',
      ['--json'],
      baseEnv({
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_REGION: 'ap-northeast-1',
        CLUSTER_NAME: 'unreachable',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'y',
        AWS_MAX_ATTEMPTS: '1',
        RUNBOOK_STATE_DIR: tempDir(),
      }),
    )
    assert.equal(r.code, 1)
    assert.equal(r.json.status, 'failed')
    // The run lock is the first AWS call of a mutating step: it names the call and the cause.
    assert.equal(r.json.tasks[0].title, 'Run lock')
    assert.equal(r.json.tasks[0].status, 'failed')
    assert.match(r.json.tasks[0].detail, /DynamoDB call on the lock table scalardl-runbook-locks failed: .*ECONNREFUSED/)
    assert.match(r.stderr, /hint: /)
    // 00-preflight takes no lock: there the first task names the AWS call.
    const pre = await runStep(
      'runbooks/00-preflight.ts',
      ['--json'],
      baseEnv({
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_REGION: 'ap-northeast-1',
        CLUSTER_NAME: 'unreachable',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'y',
        AWS_MAX_ATTEMPTS: '1',
        RUNBOOK_STATE_DIR: tempDir(),
      }),
    )
    assert.equal(pre.code, 1)
    assert.ok(
      pre.json.tasks.some((t: any) => t.status === 'failed' && /ECONNREFUSED/.test(t.detail)),
      pre.stderr,
    )
  })
})
