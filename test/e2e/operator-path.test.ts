// The README's operator path, run as written (README.md "Quick start on AWS": the blocks marked
// operator-path). From a fresh clone of this repository and a .env copied from .env.example with
// only the keys the README names filled in, on a laptop outside AWS (the simulator's caller is
// "outside": the private EKS endpoints do not answer there), each line runs in bash in that clone:
// 00 and 01, the secrets (the keys made there), push, the deployment and the checklist on the
// bastion through SSM, and the teardown; for the Ledger alone, then with the Auditor. Nothing is
// prepared that an operator would not have: no key, no policy, no file but what the README says.
// One exception, said here: `npm ci` links the checkout's node_modules into the clone (the same
// lockfile) instead of downloading them again. A line the README changes is the line that runs.
// The two deployments this path makes are also the fixture of the read-only checks of working
// through the bastion (bastion-checks.ts: what push ships, how run follows a step, the bastion
// role under IAM) and of the Auditor (auditor-checks.ts: how npm run deploy builds it, its rerun,
// the peering's rule), each a subtest at the point of the path where it holds.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, type TestContext, test } from 'node:test'
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3'
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm'
import dotenv from 'dotenv'
import { sampleLicence, SAMPLE_LICENCE_KEY } from '../../sim/licence.ts'
import { awsConfig } from '../helpers/aws.ts'
import { inventory } from '../helpers/inventory.ts'
import { ROOT, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { auditorPlaneAdmitsTheBastion, deployWithAuditor } from './auditor-checks.ts'
import {
  afterDeploy,
  afterPush,
  bastionRoleHeld,
  failureComesBack,
  type Journey,
  noSecretThroughAws,
  privateFromTheLaptop,
  pushRefusedBeforeSecrets,
  type Ran,
} from './bastion-checks.ts'

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')

/** The lines of the bash block after `<!-- operator-path:NAME -->`, without comments and blank lines. */
function operatorBlock(readme: string, name: string): string[] {
  const at = readme.indexOf(`<!-- operator-path:${name} -->`)
  assert.ok(at >= 0, `README.md has no operator-path:${name} block`)
  const m = /```bash\n([\s\S]*?)```/.exec(readme.slice(at))
  assert.ok(m, `no bash block after operator-path:${name}`)
  return m[1]!
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'))
}

/** The keys the README says to fill in (the `cp .env.example .env` line's comment), and those it adds for the Auditor. */
function fillIn(readme: string): { ledger: string[]; auditor: string[]; auditorFile: string } {
  const ledger = /cp \.env\.example \.env\s+# fill in: ([A-Z_ ]+)/.exec(readme)?.[1]?.trim().split(/\s+/)
  const also = /With the Auditor, fill in also: ([^,]+), and save the\s+licence certificate Scalar gave you as `([^`]+)`/.exec(readme)
  assert.ok(ledger && also, 'README names the keys to fill in')
  return { ledger, auditor: also[1]!.trim().split(/\s+/), auditorFile: also[2]! }
}

const TOKEN = ['ghp', 'operatorPathToken00000000000000000000'].join('_')
const DB_SECRET = ['operator', 'path', 'db', 'secret'].join('-')
/** What the operator types into .env: their GitHub account, the database key, Scalar's licence. */
const VALUES: Record<string, string> = {
  GITHUB_USERNAME: 'octo',
  GITHUB_TOKEN: TOKEN,
  SCALARDL_DB_USERNAME: 'AKIAOPERATORPATH0000',
  SCALARDL_DB_PASSWORD: DB_SECRET,
  // .env.example: the licence key is JSON text, in single quotes.
  SCALARDL_AUDITOR_LICENSE_KEY: `'${SAMPLE_LICENCE_KEY}'`,
}

let sim: Sim
before(() => {
  sim = startSim(['--pod-start-ms', '50', '--job-duration-ms', '100', '--lb-delay-ms', '100', '--cloudwatch-interval-ms', '2000'])
  assert.equal(sim.cli('knobs', '--caller', 'outside').code, 0)
})
after(() => stopSim(sim))

/** A fresh clone of this repository (what is committed), as an operator gets it. */
function clone(): string {
  const dir = path.join(tempDir('rb-operator-'), 'scalardl-eks-runbook')
  execFileSync('git', ['clone', '--quiet', ROOT, dir])
  return dir
}

/** The laptop: the simulator's AWS and tools, outside AWS (its instance metadata says it is no EC2 instance). */
const laptop = (): NodeJS.ProcessEnv => ({
  ...sim.env,
  NODE_NO_WARNINGS: '1',
  CI: 'true',
  AWS_EC2_METADATA_DISABLED: 'false',
  AWS_EC2_METADATA_SERVICE_ENDPOINT: JSON.parse(fs.readFileSync(path.join(sim.dir, 'sim.json'), 'utf8')).imdsUrl,
})

/** Runs one README line in the clone, `<KEY>` replaced by .env's value; fails with its output unless it exits 0. */
async function run(dir: string, line: string): Promise<Ran> {
  const r = await attempt(dir, line)
  // The failed tasks wherever they are in a long output, then its end.
  const failed = r.out.split('\n').filter((l) => /✗|\bexit(ed)? [1-9]/.test(l))
  assert.equal(r.code, 0, `\`${line}\` exited ${r.code}:\n${failed.join('\n')}\n…\n${r.out.slice(-6000)}`)
  return r
}

async function attempt(dir: string, line: string): Promise<Ran> {
  if (line === 'npm ci') {
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
    return { code: 0, stdout: '', out: '' }
  }
  const env = dotenvOf(dir)
  const command = line.replace(/<([A-Z_]+)>/g, (_, k: string) => {
    assert.ok(env[k], `${line}: ${k} has no value in .env`)
    return env[k]!
  })
  const child = spawn('bash', ['-c', command], { cwd: dir, env: laptop(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let stdout = ''
  child.stdout.on('data', (d) => {
    out += d
    stdout += d
  })
  child.stderr.on('data', (d) => (out += d))
  const code = await new Promise<number | null>((r) => child.on('close', r))
  return { code, stdout, out }
}

/** The clone's .env, as the steps read it (empty before it is copied). */
const dotenvOf = (dir: string): Record<string, string> =>
  fs.existsSync(path.join(dir, '.env')) ? dotenv.parse(fs.readFileSync(path.join(dir, '.env'), 'utf8')) : {}

/** Sets KEY=value lines in .env, as an operator edits it. */
function setKeys(dir: string, values: Record<string, string>): void {
  const file = path.join(dir, '.env')
  let text = fs.readFileSync(file, 'utf8')
  for (const [k, v] of Object.entries(values)) {
    const re = new RegExp(`^${k}=.*$`, 'm')
    text = re.test(text) ? text.replace(re, () => `${k}=${v}`) : `${text}${k}=${v}\n`
  }
  fs.writeFileSync(file, text)
}

/**
 * The README's deploy block, line by line, then its teardown block. Between them, and at the points
 * of the path where they hold, the checks of bastion-checks.ts and auditor-checks.ts look at the
 * deployment this path made, each a subtest.
 */
async function operatorPath(t: TestContext, auditor: boolean): Promise<void> {
  const dir = clone()
  const keys = fillIn(README)
  const deploy = operatorBlock(README, 'deploy')
  const journey: Journey = { dir, sim, env: () => dotenvOf(dir), attempt: (line) => attempt(dir, line) }
  const line = (re: RegExp) => {
    const l = deploy.find((x) => re.test(x))
    assert.ok(l, `the README's deploy block has a line ${re}`)
    return l
  }
  const [store, push, deployAll] = [line(/^npm run secrets -- store$/), line(/^npm run bastion -- push$/), line(/ run deploy$/)]
  const outputs: string[] = []
  const ran = new Map<string, Ran>()
  for (const l of deploy) {
    if (l === store && !auditor)
      await t.test('push before the secrets are stored: refused, naming the secret it will not send', () =>
        pushRefusedBeforeSecrets(journey, push),
      )
    const r = await run(dir, l)
    outputs.push(r.out)
    ran.set(l, r)
    if (l.startsWith('cp .env.example .env')) {
      setKeys(dir, Object.fromEntries(keys.ledger.map((k) => [k, VALUES[k]!])))
      if (auditor) {
        const [k, v] = keys.auditor[0]!.split('=') as [string, string]
        setKeys(dir, { [k]: v, ...Object.fromEntries(keys.auditor.slice(1).map((x) => [x, VALUES[x]!])) })
        // The licence certificate Scalar gives with the key (the simulator's sample one).
        const cert = sampleLicence(tempDir('rb-licence-')).SCALARDL_AUDITOR_LICENSE_CERT_FILE!
        fs.copyFileSync(cert, path.join(dir, keys.auditorFile))
      }
    }
  }
  const env = dotenvOf(dir)
  const cluster = env.CLUSTER_NAME!
  const verify = outputs.at(-1)!
  assert.match(verify, auditor ? /VERIFY 07-verify: 10 of 10 checks passed/ : /VERIFY 07-verify: 8 of 8 checks passed/)
  // The keys were made where the operator is, private; no secret was sent in the clear.
  assert.equal(fs.statSync(path.join(dir, env.LEDGER_PRIVATE_KEY_FILE!)).mode & 0o777, 0o600)
  if (auditor) assert.equal(fs.statSync(path.join(dir, env.AUDITOR_PRIVATE_KEY_FILE!)).mode & 0o777, 0o600)
  for (const out of outputs)
    assert.ok(!out.includes(TOKEN) && !out.includes(DB_SECRET) && !out.includes('PRIVATE KEY'), 'no secret in any output')

  if (auditor) {
    await t.test('npm run deploy built the Auditor beside 03, bounded every role, and its rerun changes nothing', () =>
      deployWithAuditor(journey, deployAll, ran.get(deployAll)!),
    )
    await t.test("the Auditor's control plane admits the Ledger's bastion by its security group alone", () =>
      auditorPlaneAdmitsTheBastion(journey),
    )
  } else {
    let shipped: Awaited<ReturnType<typeof afterPush>> | undefined
    await t.test('push shipped a private .env of Parameter Store references; the staging bucket is encrypted and expires', async () => {
      shipped = await afterPush(journey)
    })
    await t.test('run followed the log on the bastion, printed all of it once and kept it; the bastion role made the cluster', () =>
      afterDeploy(journey, ran.get(deployAll)!),
    )
    await t.test('a step that fails on the bastion fails here with its exit code and its JSON', () => failureComesBack(journey))
    await t.test('a step run from the laptop on the clusters stops at once: their endpoint is private', () => privateFromTheLaptop(journey))
    await t.test("IAM holds the bastion's role to the operator policy and the permissions boundary", () => bastionRoleHeld(journey))
    await t.test('no secret in the pushed .env, the staged bundle or any SSM command', async () => {
      assert.ok(shipped, 'what push shipped was read')
      const key = fs.readFileSync(path.join(dir, env.LEDGER_PRIVATE_KEY_FILE!), 'utf8').split('\n')[1]!
      await noSecretThroughAws(journey, shipped, { GITHUB_TOKEN: TOKEN, SCALARDL_DB_PASSWORD: DB_SECRET, 'the Ledger key': key })
    })
  }

  // The laptop's teardown alone, first: the clusters' private API does not answer there, so it
  // stops before any change (deleting a cluster first would leave its envoy's load balancer).
  const teardown = operatorBlock(README, 'teardown')
  const before = await inventory(sim.env, cluster)
  const alone = await attempt(dir, teardown.at(-1)!.replace(/<CLUSTER_NAME>/g, cluster))
  assert.equal(alone.code, 2, alone.out.slice(-3000))
  assert.match(alone.out, /does not answer from this host/)
  assert.match(
    alone.out,
    new RegExp(
      `fix: run the teardown of the clusters on the bastion first: npm run bastion -- run 99-teardown --keep-bastion --yes --confirm ${cluster}`,
    ),
  )
  assert.deepEqual(await inventory(sim.env, cluster), before, 'nothing deleted')
  for (const line of teardown) await run(dir, line)
  // Nothing of the deployment is left outside the VPCs either: its parameters, the staged bundles
  // and their bucket (the permissions boundary stays: one per account).
  const ssm = new SSMClient(awsConfig(sim.env, 'ap-northeast-1'))
  const s3 = new S3Client({ ...awsConfig(sim.env, 'ap-northeast-1'), forcePathStyle: true })
  assert.deepEqual((await ssm.send(new GetParametersByPathCommand({ Path: '/scalardl-runbook', Recursive: true }))).Parameters, [])
  assert.deepEqual(
    ((await s3.send(new ListBucketsCommand({}))).Buckets ?? [])
      .map((b) => b.Name)
      .filter((n) => n?.startsWith('scalardl-runbook-staging-')),
    [],
  )
  ssm.destroy()
  s3.destroy()
  for (const c of auditor ? [cluster, `${cluster}-auditor`] : [cluster]) {
    const left = await inventory(sim.env, c)
    assert.ok(
      Object.values(left).every((n) => n === 0),
      `${c}: left ${JSON.stringify(left)}`,
    )
  }
}

describe("the README's operator path, as written", () => {
  test('the Ledger alone: from a fresh clone and .env.example to a verified deployment through the bastion, then nothing left', async (t) => {
    await operatorPath(t, false)
  })
  test('with the Auditor (AUDITOR_ENABLED=true and the licence): the same path, both verified, then nothing left', async (t) => {
    await operatorPath(t, true)
  })
})
