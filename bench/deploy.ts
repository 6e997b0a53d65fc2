// Benchmark: a full deployment (`npm run deploy`: 00 to 07, Ledger and Auditor) against the
// simulator with AWS's typical delays (sim --aws-delays: NAT gateway 2 min, instance 30 s, EKS
// control plane 10 min, node group 3 min, Pod 30 s, Job 60 s, load balancer 30 s) scaled by
// SCALE, then every step rerun on the finished environment. Figures:
//   criticalPathRatio   deployment wall time / the critical path those delays imply
//   rerunMutatingCalls  mutating AWS calls made by all the no-op reruns (target 0)
//   rerunTotalMs        wall time of all the no-op reruns (target < 10 s)
//   stepStartupMs       start-up cost of one step process (--help, median of 5)
// and per step: wall time, AWS calls (total, mutating), CLI invocations (kubectl, helm, eksctl).
// Merged into .runbook/bench.json. Not a test: `npm run bench`.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { stepArgs } from '../scripts/build.ts'
import { AWS_PENDING_MS } from '../sim/faults.ts'
import { AWS_KUBE_MS } from '../sim/kube/controllers.ts'
import { sampleLicence } from '../sim/licence.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scalardl-bench-deploy-'))
const SCALE = Number(process.env.BENCH_SCALE ?? 0.1)
const AWS = Object.fromEntries(Object.entries(AWS_PENDING_MS).map(([k, v]) => [k, v * SCALE])) as typeof AWS_PENDING_MS
const KUBE = Object.fromEntries(Object.entries(AWS_KUBE_MS).map(([k, v]) => [k, v * SCALE])) as typeof AWS_KUBE_MS

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'sim', 'cli.ts'), ...args, '--state-dir', dir], {
    cwd: root,
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`sim ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** kubectl through a shim that counts its invocations (KUBECTL may be a path). */
const kubectlLog = path.join(dir, 'kubectl.log')
const kubectlShim = path.join(dir, 'kubectl-counting')
fs.writeFileSync(kubectlShim, `#!/bin/sh\necho "$(date +%s.%3N) $*" >> ${JSON.stringify(kubectlLog)}\nexec kubectl "$@"\n`, { mode: 0o755 })
/** helm and eksctl through shims that log each call's start, end and arguments (tools.log), to read where the time goes. */
const toolsLog = path.join(dir, 'tools.log')
const shimDir = path.join(dir, 'shims')
fs.mkdirSync(shimDir)
for (const tool of ['helm', 'eksctl'])
  fs.writeFileSync(
    path.join(shimDir, tool),
    `#!/bin/sh\ns=$(date +%s.%3N)\n${JSON.stringify(path.join(root, 'sim', 'bin', tool))} "$@"\nrc=$?\necho "$s $(date +%s.%3N) ${tool} $*" >> ${JSON.stringify(toolsLog)}\nexit $rc\n`,
    { mode: 0o755 },
  )
const argvLog = path.join(dir, 'stand-in-argv.log')
const lines = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0)
const standIn = (tool: string) =>
  fs.existsSync(argvLog)
    ? fs
        .readFileSync(argvLog, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(`${tool} `)).length
    : 0

function envFor(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_NO_WARNINGS: '1',
    CI: 'true',
    CLUSTER_NAME: 'bench',
    RUNBOOK_STATE_DIR: path.join(dir, 'runbook'),
    GITHUB_USERNAME: 'bench',
    GITHUB_TOKEN: ['ghp', 'benchNotARealToken00000000000000000'].join('_'),
    SCALARDL_DB_USERNAME: 'AKIABENCH00000000000',
    SCALARDL_DB_PASSWORD: 'bench-secret-key',
    LEDGER_PRIVATE_KEY_FILE: path.join(dir, 'ledger-key.pem'),
    AUDITOR_ENABLED: 'true',
    AUDITOR_PRIVATE_KEY_FILE: path.join(dir, 'auditor-key.pem'),
    AUDITOR_CERTIFICATE_FILE: path.join(dir, 'auditor-cert.pem'),
    ...sampleLicence(dir),
    LEDGER_CERTIFICATE_FILE: path.join(dir, 'ledger-cert.pem'),
    KUBECTL: kubectlShim,
    SIM_ARGV_LOG: argvLog,
  }
  for (const line of fs.readFileSync(path.join(dir, 'env'), 'utf8').split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1)
  }
  env.PATH = `${shimDir}:${env.PATH}`
  return env
}

interface StepFigures {
  step: string
  ms: number
  awsCalls: number
  mutatingCalls: number
  kubectl: number
  helm: number
  eksctl: number
}

const STEPS = ['00-preflight', '01-vpc', '02-database', '03-eks', '04-scalardl', '05-auditor', '06-monitoring', '07-verify']

async function runStep(step: string, env: NodeJS.ProcessEnv): Promise<StepFigures> {
  const before = { kubectl: lines(kubectlLog), helm: standIn('helm'), eksctl: standIn('eksctl') }
  const t = process.hrtime.bigint()
  const child = spawn(process.execPath, [...stepArgs(step), '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)))
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (code !== 0) throw new Error(`${step} exited ${code}: ${err.slice(-2000)}`)
  // AWS calls from the journal's last line for this step (07-verify writes none: it only reads).
  const journal = path.join(env.RUNBOOK_STATE_DIR!, 'journal.jsonl')
  const last = fs.existsSync(journal)
    ? fs
        .readFileSync(journal, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((j) => j.step === step)
        .at(-1)
    : undefined
  void out
  return {
    step,
    ms: Math.round(ms),
    awsCalls: last?.awsCalls?.total ?? 0,
    mutatingCalls: last?.awsCalls?.mutating ?? 0,
    kubectl: lines(kubectlLog) - before.kubectl,
    helm: standIn('helm') - before.helm,
    eksctl: standIn('eksctl') - before.eksctl,
  }
}

/**
 * The critical path the delays imply, with the guide's dependencies: the Ledger's NAT gateway
 * and bastion side by side (step 1), then its EKS control plane, then its node groups (side by
 * side); the schema Job (Pod start, then its work), then the Ledger and Envoy Pods beside the
 * load balancer; then the Auditor's Pods and load balancer, which need the Ledger's endpoint,
 * beside the Ledger's Pods restarting in Auditor mode; then the certificate registration Jobs
 * (both clusters at once), which need both servers. Off the path: the Auditor's network, peering,
 * control plane, node groups, secrets and schema Job (they start once step 1 has made the Ledger's
 * VPC, as the Ledger's cluster does, and take as long: its NAT gateway and peering beside its 10
 * minutes of control plane, then 3 of node groups and the Job), the DynamoDB endpoint (beside the cluster), and the
 * monitoring agents (they need only the nodes).
 */
function criticalPathMs(): number {
  const job = KUBE.podStartMs + KUBE.jobDurationMs
  // The NLB is active after lbDelayMs and its targets healthy after as long again (sim/kube/load-balancers.ts).
  const pods = Math.max(KUBE.podStartMs, 2 * KUBE.lbDelayMs)
  return (
    Math.max(AWS.nat, AWS.instance) +
    AWS.cluster +
    AWS.nodegroup +
    job +
    pods /* Ledger */ +
    pods /* Auditor, beside the Ledger's restart */ +
    job
  ) /* certificates */
}

/** Each step's duration in the deployment, from the journal (steps ran side by side). */
function journalled(
  env: NodeJS.ProcessEnv,
  since: number,
): { step: string; ms: number; awsCalls: number; mutatingCalls: number; tasks: { title: string; ms: number }[] }[] {
  const journal = path.join(env.RUNBOOK_STATE_DIR!, 'journal.jsonl')
  return fs
    .readFileSync(journal, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((j) => Date.parse(j.ts) >= since)
    .map((j) => ({
      step: `${j.step}${j.argv?.includes('--prepare') ? ' --prepare' : ''}`,
      ms: j.durationMs,
      awsCalls: j.awsCalls?.total ?? 0,
      mutatingCalls: j.awsCalls?.mutating ?? 0,
      tasks: (j.tasks as { title: string; durationMs?: number }[]).map((t) => ({ title: t.title, ms: t.durationMs ?? 0 })),
    }))
}

/** Busy and total CPU time of the machine so far (/proc/stat), to tell a CPU-bound run. */
function cpuTimes(): { busy: number; total: number } {
  const [, ...f] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/)
  const n = f.map(Number)
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0)
  return { busy: total - n[3]! - n[4]!, total }
}

/** `npm run deploy` with the flags that make the keys; its wall time. */
async function deploy(env: NodeJS.ProcessEnv): Promise<number> {
  const t = Date.now()
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'deploy.mjs'), '--generate-ledger-key', '--generate-keys'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // The deploy's output (the steps log on stderr), each line stamped with ms since its start, kept for reading the timeline.
  const log = fs.createWriteStream(path.join(dir, 'deploy.log'))
  let err = ''
  for (const stream of [child.stdout, child.stderr]) {
    let partial = ''
    stream.on('data', (d) => {
      if (stream === child.stderr) err += d
      const parts = (partial + d).split('\n')
      partial = parts.pop()!
      for (const l of parts) log.write(`${String(Date.now() - t).padStart(7)} ${l}\n`)
    })
  }
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)))
  if (code !== 0) throw new Error(`deploy exited ${code}: ${err.slice(-3000)}`)
  return Date.now() - t
}

function startupMs(env: NodeJS.ProcessEnv): number {
  const runs: number[] = []
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint()
    spawnSync(process.execPath, [...stepArgs('01-vpc'), '--help'], { cwd: root, env })
    runs.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return Math.round(runs.sort((a, b) => a - b)[2]!)
}

cli('up', '--aws-delays', '--delay-scale', String(SCALE), '--cloudwatch-interval-ms', '2000')
try {
  const env = envFor()
  const t0 = Date.now()
  const counts = { kubectl: lines(kubectlLog), helm: standIn('helm'), eksctl: standIn('eksctl') }
  const cpu0 = cpuTimes()
  const deployMs = await deploy(env)
  const cpu1 = cpuTimes()
  const deployCpuBusy = Number(((cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total)).toFixed(2))
  const first = journalled(env, t0)
  const deployCalls = {
    kubectl: lines(kubectlLog) - counts.kubectl,
    helm: standIn('helm') - counts.helm,
    eksctl: standIn('eksctl') - counts.eksctl,
  }
  const reruns: StepFigures[] = []
  for (const step of STEPS) reruns.push(await runStep(step, env))
  const critical = criticalPathMs()
  const figures = {
    criticalPathRatio: Number((deployMs / critical).toFixed(2)),
    deployMs,
    criticalPathMs: Math.round(critical),
    deployCpuBusy,
    delayScale: SCALE,
    rerunMutatingCalls: reruns.reduce((n, r) => n + r.mutatingCalls, 0),
    rerunTotalMs: reruns.reduce((n, r) => n + r.ms, 0),
    stepStartupMs: startupMs(env),
    reruns,
    deploy: { steps: first, calls: deployCalls },
  }
  fs.mkdirSync(path.join(root, '.runbook'), { recursive: true })
  const file = path.join(root, '.runbook', 'bench.json')
  const previous = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {}
  fs.writeFileSync(file, JSON.stringify({ ...previous, ...figures }, null, 2) + '\n')
  const row = (r: StepFigures) =>
    `${r.step.padEnd(14)} ${String(r.ms).padStart(7)} ms  aws ${String(r.awsCalls).padStart(4)} (mutating ${r.mutatingCalls})  kubectl ${String(r.kubectl).padStart(3)}  helm ${String(r.helm).padStart(3)}  eksctl ${String(r.eksctl).padStart(3)}`
  console.log(
    `npm run deploy, Ledger + Auditor, AWS delays x${SCALE}: ${deployMs} ms (kubectl ${deployCalls.kubectl}, helm ${deployCalls.helm}, eksctl ${deployCalls.eksctl}; the machine's CPUs ${Math.round(deployCpuBusy * 100)} % busy, simulator included)`,
  )
  for (const r of first) {
    const slow = [...r.tasks]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3)
      .map((t) => `${t.title.slice(0, 40)} ${t.ms}`)
      .join('; ')
    console.log(
      `  ${r.step.padEnd(26)} ${String(r.ms).padStart(7)} ms  aws ${String(r.awsCalls).padStart(4)} (mutating ${r.mutatingCalls})  slowest: ${slow}`,
    )
  }
  console.log('no-op reruns')
  for (const r of reruns) console.log(`  ${row(r)}`)
  console.log(`criticalPathRatio (target <= 1.10)   ${figures.criticalPathRatio}  (${deployMs} ms / ${figures.criticalPathMs} ms)`)
  console.log(`rerunMutatingCalls (target 0)        ${figures.rerunMutatingCalls}`)
  console.log(`rerunTotalMs (target < 10000)        ${figures.rerunTotalMs}`)
  console.log(`stepStartupMs (one step, --help)     ${figures.stepStartupMs}`)
  console.log(`written to ${file}; the deploy's timeline is in ${path.join(dir, 'deploy.log')}`)
} finally {
  cli('down')
}
