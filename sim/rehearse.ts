// `npm run rehearse`: the runbook end to end against the local simulator. Starts the simulator
// (fake Kubernetes API, moto, eksctl and helm stand-ins), runs every step in runbooks/ in order
// with a sample configuration, runs them again to show that a rerun changes nothing, prints the
// verification result when 07-verify exists, and stops the simulator. Nothing leaves this machine.
//   npm run rehearse [-- --auditor] [-- --faults] [-- --keep] [-- --actions-out FILE]
//   --auditor  also deploys Scalar DL Auditor (05-auditor: its own VPC and cluster, peered)
//   --faults   (implies --auditor) puts AWS behind the fault proxy (20 % of calls throttled, failed with 5xx, dropped
//              or slowed; NAT gateways, instances and EKS clusters pending for a while) and
//              fails 5 % of kubectl's invocations once at the Kubernetes API (503, 500, reset)
//   --actions-out FILE  writes the IAM actions every AWS request needed (JSON, with counts, by principal:
//                       the operator's, and the database's the schema loader signs with)
//   --keep     leaves the simulator running and prints how to reach it
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm'
import { AttachUserPolicyCommand, CreateAccessKeyCommand, CreatePolicyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam'
import { bundleOr, ROOT as root, sourceArgs, stepArgs } from '../scripts/bundles.ts'
import { sampleLicence } from './licence.ts'

/** The simulator's CLI: its bundle when fresh, else its source through tsx. */
const cli = bundleOr('sim/cli.mjs', 'sim/cli.ts')
const keep = process.argv.includes('--keep')
const withFaults = process.argv.includes('--faults')
/** --actions-out FILE: the IAM actions every AWS request of the rehearsal needed (what an operator's policy must allow). */
const actionsOut = process.argv.includes('--actions-out') ? process.argv[process.argv.indexOf('--actions-out') + 1] : undefined
// The fault rehearsal is of the full environment: Ledger and Auditor.
const withAuditor = process.argv.includes('--auditor') || withFaults
const steps = fs
  .readdirSync(path.join(root, 'runbooks'))
  .filter((f) => /^0\d-[\w-]+\.ts$/.test(f))
  .filter((f) => withAuditor || !f.startsWith('05-auditor'))
  .sort()
  .map((f) => f.replace(/\.ts$/, ''))
/** Flags a rehearsal passes to a step: the sample Ledger key is generated on the first run. */
const STEP_FLAGS: Record<string, string[]> = {
  '04-scalardl': ['--generate-ledger-key'],
  '05-auditor': ['--generate-keys'],
  // As npm run deploy ends: the CloudWatch data of a new deployment is still arriving.
  '07-verify': ['--settle', '120'],
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scalardl-rehearsal-'))

function sim(...args: string[]): void {
  const r = spawnSync(process.execPath, [...cli, ...args, '--state-dir', dir], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  if (r.status !== 0) throw new Error(`sim ${args.join(' ')} failed`)
}

function readEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLUSTER_NAME: 'rehearsal',
    RUNBOOK_STATE_DIR: path.join(dir, 'runbook'),
    NODE_NO_WARNINGS: '1',
    // Sample credentials: the simulator accepts any; nothing real is needed or sent anywhere.
    GITHUB_USERNAME: 'rehearsal',
    GITHUB_TOKEN: ['ghp', 'rehearsalNotARealToken0000000000000'].join('_'),
    SCALARDL_DB_USERNAME: 'AKIAREHEARSAL0000000',
    SCALARDL_DB_PASSWORD: 'rehearsal-secret-access-key',
    LEDGER_PRIVATE_KEY_FILE: path.join(dir, 'ledger-key.pem'),
    // Every eksctl and helm invocation's arguments, for the secret scan at the end.
    SIM_ARGV_LOG: path.join(dir, 'output', 'stand-in-argv.log'),
    ...(withAuditor
      ? {
          AUDITOR_ENABLED: 'true',
          AUDITOR_PRIVATE_KEY_FILE: path.join(dir, 'auditor-key.pem'),
          AUDITOR_CERTIFICATE_FILE: path.join(dir, 'auditor-cert.pem'),
          LEDGER_CERTIFICATE_FILE: path.join(dir, 'ledger-cert.pem'),
          ...sampleLicence(dir),
        }
      : {}),
  }
  delete env.AWS_PROFILE
  for (const line of fs.readFileSync(path.join(dir, 'env'), 'utf8').split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1)
  }
  return env
}

const logs = path.join(dir, 'output')
fs.mkdirSync(logs, { recursive: true })
let runs = 0

/**
 * Runs one script with --json, its stderr shown live and, with its stdout, kept under
 * output/ for the secret scan; returns its exit code and reported status.
 */
async function run(name: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number; status?: string }> {
  const child = spawn(process.execPath, [...stepArgs(name), '--env-file', path.join(root, '.env.example'), '--json', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: root,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => {
    stderr += d
    process.stderr.write(d)
  })
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)))
  const n = String(++runs).padStart(2, '0')
  fs.writeFileSync(path.join(logs, `${n}-${name}.stdout`), stdout)
  fs.writeFileSync(path.join(logs, `${n}-${name}.stderr`), stderr)
  let status: string | undefined
  try {
    const out = JSON.parse(stdout)
    // 07-verify prints its checklist as an array of checks.
    status = Array.isArray(out) ? (out.every((c: { status: string }) => c.status === 'pass') ? 'ok' : 'failed') : out.status
  } catch {
    // reported through the exit code
  }
  return { code, status }
}

async function dumpAwsSide(env: NodeJS.ProcessEnv): Promise<void> {
  const cfg = {
    region: env.AWS_REGION ?? 'ap-northeast-1',
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'testing', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'testing' },
  }
  const ec2 = new EC2Client(cfg)
  const ssm = new SSMClient(cfg)
  const out = path.join(dir, 'aws-side')
  fs.mkdirSync(out, { recursive: true })
  const instances = ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? [])
  for (const i of instances) {
    const data = (await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: i.InstanceId, Attribute: 'userData' }))).UserData?.Value
    fs.writeFileSync(path.join(out, `user-data-${i.InstanceId}.txt`), data ? Buffer.from(data, 'base64').toString('utf8') : '')
  }
  fs.writeFileSync(
    path.join(out, 'ssm-commands.json'),
    JSON.stringify((await ssm.send(new ListCommandsCommand({}))).Commands ?? [], null, 2),
  )
  console.error(`\nAWS side for the secret scan: user data of ${instances.length} instance(s), SSM Run Commands`)
  ec2.destroy()
  ssm.destroy()
}

/** Every file the rehearsal left (step output, journal, rendered files, argv of every stand-in call, simulator logs), searched for the secrets it used. */
function leaks(env: NodeJS.ProcessEnv): string[] {
  const pem = (f?: string) =>
    f && fs.existsSync(f)
      ? fs
          .readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => l && !l.startsWith('-----'))
      : []
  const keyFiles = [env.LEDGER_PRIVATE_KEY_FILE, env.AUDITOR_PRIVATE_KEY_FILE].filter((f): f is string => Boolean(f))
  const needles = [
    ['GITHUB_TOKEN', env.GITHUB_TOKEN],
    ['GITHUB_TOKEN (base64)', Buffer.from(env.GITHUB_TOKEN ?? '').toString('base64')],
    ['SCALARDL_DB_PASSWORD', env.SCALARDL_DB_PASSWORD],
    ['SCALARDL_DB_PASSWORD (base64)', Buffer.from(env.SCALARDL_DB_PASSWORD ?? '').toString('base64')],
    ...keyFiles.flatMap((f) => pem(f).map((line, i) => [`${path.basename(f)} line ${i + 1}`, line])),
    ...keyFiles.map((f) => [`${path.basename(f)} (base64)`, Buffer.from(fs.readFileSync(f, 'utf8')).toString('base64').slice(0, 40)]),
  ].filter((x): x is [string, string] => Boolean(x[1]) && x[1]!.length >= 8)
  const found: string[] = []
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name)
      if (e.isDirectory()) walk(f)
      else if (!keyFiles.includes(f)) {
        const text = fs.readFileSync(f, 'utf8')
        for (const [what, needle] of needles) if (text.includes(needle)) found.push(`${what} in ${path.relative(dir, f)}`)
      }
    }
  }
  walk(dir)
  return found
}

/**
 * The operator the steps run as: an IAM user holding only the policy `npm run iam-policy` prints for
 * this configuration (a managed policy, as its size asks), made by the account's administrator. The
 * simulator's AWS layer enforces IAM for it (sim/iam-enforce.ts), so an action the policy lacks
 * fails here, not on a customer's account. Returns the environment with the operator's key.
 */
async function asOperator(admin: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const policy = spawnSync(
    process.execPath,
    [...sourceArgs('runbooks/iam-policy.ts'), '--env-file', path.join(root, '.env.example'), '--account', '123456789012'],
    { cwd: root, env: admin, encoding: 'utf8' },
  )
  if (policy.status !== 0) throw new Error(`npm run iam-policy failed: ${policy.stderr}`)
  const iam = new IAMClient({
    region: 'us-east-1',
    endpoint: admin.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: admin.AWS_ACCESS_KEY_ID!, secretAccessKey: admin.AWS_SECRET_ACCESS_KEY! },
  })
  const user = 'rehearsal-operator'
  await iam.send(new CreateUserCommand({ UserName: user }))
  const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: 'scalardl-runbook-operator', PolicyDocument: policy.stdout }))).Policy!
    .Arn!
  await iam.send(new AttachUserPolicyCommand({ UserName: user, PolicyArn: arn }))
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: user }))).AccessKey!
  iam.destroy()
  console.error(`rehearsal: the steps run as IAM user ${user}, holding only the operator policy (npm run iam-policy)`)
  return { ...admin, AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey }
}

let failed = false
// New NAT gateways, clusters and node groups stay pending 1.8 s (180 s scaled by 0.01), instances
// 6 s: longer than a step starved of CPU on a busy machine takes from RunInstances to its first
// describe (with 1.8 s, a full test run once saw the bastion running at its first look).
sim(
  'up',
  ...(withFaults ? ['--faults', '0.2', '--api-faults', '0.05', '--pending-ms', '180000,instance=600000', '--delay-scale', '0.01'] : []),
)
let env: NodeJS.ProcessEnv = {}
let adminEnv: NodeJS.ProcessEnv = {}
try {
  adminEnv = readEnv()
  env = await asOperator(adminEnv)
  console.error(`rehearsal: simulator state in ${dir}; steps: ${steps.join(', ')}`)
  for (const pass of ['first run', 'rerun: nothing should change']) {
    console.error(`\n=== ${pass} ===\n`)
    for (const step of steps) {
      const r = await run(step, env, STEP_FLAGS[step] ?? [])
      if (r.code !== 0 || (pass.startsWith('rerun') && r.status !== 'ok')) {
        console.error(`\n${step} ${r.code !== 0 ? `exited ${r.code}` : `reported "${r.status}" on a rerun instead of "ok"`}`)
        failed = true
        break
      }
    }
    if (failed) break
  }
  // Unless kept, the rehearsal ends as an environment's life does: with a teardown, twice.
  if (!failed && !keep) {
    // With its data and logs: every deletion 99 can make runs under the operator policy here.
    const teardown = ['--yes', '--confirm', 'rehearsal', '--delete-data', '--delete-logs']
    console.error(`\n=== teardown (99-teardown ${teardown.join(' ')}), then again: nothing left to delete ===\n`)
    for (const [i, args] of [teardown, teardown].entries()) {
      const r = await run('99-teardown', env, args)
      if (r.code !== 0 || (i === 1 && r.status !== 'ok')) {
        console.error(`\n99-teardown ${r.code !== 0 ? `exited ${r.code}` : `reported "${r.status}" on the second run`}`)
        failed = true
        break
      }
    }
  }
} finally {
  if (keep)
    console.error(
      `\nthe simulator keeps running. Point a shell at it with:\n  set -a; . ${dir}/env; set +a\nStop it with: npx tsx sim/cli.ts down --state-dir ${dir}`,
    )
  else {
    if (withFaults) {
      const stats = JSON.parse(
        spawnSync(process.execPath, [...cli, 'faults', '--state-dir', dir], {
          cwd: root,
          encoding: 'utf8',
        }).stdout || '{}',
      )
      const total = Object.values((stats.injected ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0)
      console.error(
        `\nfault proxy: ${total} faults injected in ${stats.requests} AWS requests (${Object.entries(stats.injected ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`,
      )
    }
    // What AWS itself holds that a secret could have reached: every instance's user data and every
    // SSM Run Command's parameters, written next to the rest for the secret scan.
    if (env.AWS_ENDPOINT_URL)
      await dumpAwsSide(adminEnv).catch((e: Error) => console.error(`could not read the AWS side for the secret scan: ${e.message}`))
    if (actionsOut) {
      const actions = spawnSync(process.execPath, [...cli, 'aws-actions', '--state-dir', dir], {
        cwd: root,
        encoding: 'utf8',
      }).stdout
      fs.writeFileSync(actionsOut, actions)
      const by = JSON.parse(actions || '{}') as Record<string, Record<string, number>>
      const counts = Object.entries(by).map(([who, a]) => `${Object.keys(a).length} the ${who}'s`)
      console.error(`\nAWS actions the rehearsal needed: ${counts.join(', ')}; written to ${actionsOut}`)
    }
    sim('down')
  }
}
const leaked = env.GITHUB_TOKEN ? leaks(env) : []
console.error(
  `secret scan: ${leaked.length ? `LEAKS FOUND: ${leaked.join('; ')}` : 'no GitHub token, database secret or private key material in any output, journal, rendered file, stand-in argv, simulator log, instance user data or SSM command'}`,
)
if (leaked.length) failed = true
console.error(
  failed
    ? '\nrehearsal FAILED'
    : `\nrehearsal passed: ${steps.length} steps ran, and the rerun changed nothing${keep ? '' : '; teardown left nothing'}`,
)
process.exit(failed ? 1 : 0)
