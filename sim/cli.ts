// The simulator's command line. Scripts outside the project depend on this contract:
//   npx tsx sim/cli.ts up --state-dir DIR [--no-moto] [--pod-start-ms N] [--job-duration-ms N] [--lb-delay-ms N] [--fail-jobs REGEX] [--server-minor N] [--cloudwatch-interval-ms N] [--faults R] [--api-faults R] [--aws-delays] [--pending-ms N[,KIND=N...]] [--delay-scale F] [--fault-seed N] [--caller outside|INSTANCE] [--eks-version-status V=STATUS ...] [--quota SERVICE/CODE=N ...] [--user-data-delay-ms N] [--bootstrap-fault 404:TOOL|checksum:TOOL]
//   npx tsx sim/cli.ts cluster create NAME --state-dir DIR --nodes N [--label k=v ...] [--taint k=v:Effect ...] [--region R]
//   npx tsx sim/cli.ts nodes add NAME --state-dir DIR --count N [--label k=v ...]
//   npx tsx sim/cli.ts knobs --state-dir DIR [--pod-start-ms N] [--job-duration-ms N] [--lb-delay-ms N] [--fail-jobs REGEX] [--caller ''|outside|INSTANCE] [--eks-version-status V=STATUS ...] [--quota SERVICE/CODE=N ...] [--db-credentials-from-env (SIM_DB_CREDENTIALS=ID:SECRET)] [--user-data-delay-ms N] [--bootstrap-fault 404:TOOL|checksum:TOOL|'']
//   npx tsx sim/cli.ts cloudwatch tick CLUSTER [--minutes-ago N] --state-dir DIR   (one round of simulated CloudWatch data, now or N minutes back)
//   npx tsx sim/cli.ts aws-actions --state-dir DIR   (the IAM actions the AWS requests needed, with counts, by principal: operator, database)
//   npx tsx sim/cli.ts status --state-dir DIR
//   npx tsx sim/cli.ts down --state-dir DIR
// `up` writes DIR/env (KEY=VALUE lines: KUBECONFIG, KUBECACHEDIR, AWS_*, PATH with sim/bin first).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import YAML from 'yaml'
import { bundleOr, ROOT as root } from '../scripts/bundles.ts'
import { DAEMON_OPTIONS, daemonArgs, pairs as keyValues } from './kube/flags.ts'
import { alive, terminate } from './processes.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'state-dir': { type: 'string' },
    'minutes-ago': { type: 'string' },
    nodes: { type: 'string' },
    count: { type: 'string' },
    label: { type: 'string', multiple: true },
    taint: { type: 'string', multiple: true },
    region: { type: 'string' },
    'instance-type': { type: 'string' },
    'no-moto': { type: 'boolean' },
    'db-credentials-from-env': { type: 'boolean' },
    ...DAEMON_OPTIONS,
  },
})

function fail(msg: string, code = 2): never {
  console.error(`sim: ${msg}`)
  process.exit(code)
}

const stateDirArg = values['state-dir']
if (!stateDirArg && positionals[0] !== 'help') fail('--state-dir DIR is required')
const stateDir = path.resolve(stateDirArg ?? '.')
const file = (name: string) => path.join(stateDir, name)

interface SimInfo {
  controlUrl: string
  pid: number
  /** The fault proxy in front of moto, with --faults. */
  awsUrl?: string
}

function readInfo(): SimInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file('sim.json'), 'utf8')) as SimInfo
  } catch {
    return undefined
  }
}

async function healthy(info: SimInfo | undefined): Promise<boolean> {
  if (!info) return false
  try {
    return (await fetch(`${info.controlUrl}/health`, { signal: AbortSignal.timeout(2000) })).ok
  } catch {
    return false
  }
}

async function control(method: string, route: string, body?: unknown): Promise<any> {
  const info = readInfo()
  if (!(await healthy(info)))
    fail(`the simulator is not running for ${stateDir}: run \`npx tsx sim/cli.ts up --state-dir ${stateDir}\` first`, 1)
  const res = await fetch(`${info!.controlUrl}${route}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  })
  const out = await res.json()
  if (!res.ok) fail(out.error ?? `HTTP ${res.status}`, 1)
  return out
}

function pairs(list: string[] | undefined, what: string): Record<string, string> {
  try {
    return keyValues(list, what)
  } catch (err) {
    fail((err as Error).message)
  }
}

function taints(list: string[] | undefined) {
  return (list ?? []).map((t) => {
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(t)
    if (!m) fail(`--taint must look like key=value:NoSchedule: ${t}`)
    return { key: m[1]!, ...(m[2] !== undefined ? { value: m[2] } : {}), effect: m[3]! }
  })
}

function knobFlags(): Record<string, unknown> {
  const k: Record<string, unknown> = {}
  if (values['pod-start-ms']) k.podStartMs = Number(values['pod-start-ms'])
  if (values['job-duration-ms']) k.jobDurationMs = Number(values['job-duration-ms'])
  if (values['lb-delay-ms']) k.lbDelayMs = Number(values['lb-delay-ms'])
  if (values['fail-jobs'] !== undefined) k.failJobs = values['fail-jobs']
  if (values['api-faults'] !== undefined) k.apiFaultRate = Number(values['api-faults'])
  if (values.caller !== undefined) k.caller = values.caller
  if (values['access-entry-delay-ms'] !== undefined) k.accessEntryDelayMs = Number(values['access-entry-delay-ms'])
  if (values['user-data-delay-ms'] !== undefined) k.userDataDelayMs = Number(values['user-data-delay-ms'])
  if (values['bootstrap-fault'] !== undefined) {
    if (values['bootstrap-fault'] && !/^(404|checksum):(node|kubectl|helm|eksctl)$/.test(values['bootstrap-fault']))
      fail(
        `--bootstrap-fault must be 404:TOOL or checksum:TOOL (TOOL: node, kubectl, helm, eksctl), or '' to repair: ${values['bootstrap-fault']}`,
      )
    k.bootstrapFault = values['bootstrap-fault']
  }
  // Each replaces the whole setting; an empty value ('') clears it.
  if (values['eks-version-status']) k.eksVersionStatus = pairs(values['eks-version-status'].filter(Boolean), '--eks-version-status')
  if (values.quota)
    k.quotas = Object.fromEntries(Object.entries(pairs(values.quota.filter(Boolean), '--quota')).map(([q, v]) => [q, Number(v)]))
  // The one DynamoDB key the simulated AWS accepts from Scalar DL: ID:SECRET from the environment
  // (never a command line); SIM_DB_CREDENTIALS unset or empty: any well-formed key.
  if (values['db-credentials-from-env']) k.dbCredentials = process.env.SIM_DB_CREDENTIALS ?? ''
  return k
}

interface Kubeconfig {
  apiVersion: 'v1'
  kind: 'Config'
  clusters: { name: string; cluster: { server: string } }[]
  users: { name: string; user: Record<string, string> }[]
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[]
  'current-context': string
  preferences: Record<string, never>
}

function readKubeconfig(): Kubeconfig {
  try {
    return YAML.parse(fs.readFileSync(file('kubeconfig'), 'utf8')) as Kubeconfig
  } catch {
    return { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], 'current-context': '', preferences: {} }
  }
}

function writeKubeconfig(k: Kubeconfig): void {
  fs.writeFileSync(file('kubeconfig'), YAML.stringify(k), { mode: 0o600 })
}

function addContext(name: string, server: string): void {
  const k = readKubeconfig()
  k.clusters = [...(k.clusters ?? []).filter((c) => c.name !== name), { name, cluster: { server } }]
  k.users = [...(k.users ?? []).filter((u) => u.name !== name), { name, user: { token: 'simulator' } }]
  k.contexts = [...(k.contexts ?? []).filter((c) => c.name !== name), { name, context: { cluster: name, user: name } }]
  k['current-context'] = name
  writeKubeconfig(k)
}

async function up(): Promise<void> {
  fs.mkdirSync(stateDir, { recursive: true })
  // Only `up` needs the bundler and moto's launcher: the other commands start without them. (Loaded
  // before the build, which may replace this CLI's own bundle and its chunks.)
  const [{ ensureBuilt }, { startMoto }] = await Promise.all([import('../scripts/build.ts'), import('./moto.ts')])
  // The stand-ins start from their bundles (a tenth of a second, as the real binaries do) when built.
  await ensureBuilt().catch((err) =>
    console.error(`note: could not build the stand-ins' bundles (${(err as Error).message}); they run from the sources`),
  )
  let awsEnv: Record<string, string> = {}
  const motoPidFile = file('moto.json')
  const motoInfo = fs.existsSync(motoPidFile)
    ? (JSON.parse(fs.readFileSync(motoPidFile, 'utf8')) as { pid: number; url: string })
    : undefined
  if (!values['no-moto']) {
    if (motoInfo && alive(motoInfo.pid)) awsEnv = envFor(motoInfo.url)
    else {
      try {
        const moto = await startMoto({ detached: true, logFile: file('moto.log') })
        fs.writeFileSync(motoPidFile, JSON.stringify({ pid: moto.pid, url: moto.url }))
        awsEnv = moto.env()
      } catch (e) {
        console.error(`sim: moto not started (${(e as Error).message}); AWS calls will not be simulated`)
      }
    }
  }
  if (!(await healthy(readInfo()))) {
    const log = fs.openSync(file('sim.log'), 'a')
    const args = [...bundleOr('sim/daemon.mjs', 'sim/kube/daemon.ts'), '--state-dir', stateDir, ...daemonArgs(values)]
    const child = spawn(process.execPath, args, {
      cwd: root,
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...awsEnv },
    })
    child.unref()
    fs.closeSync(log)
    const deadline = Date.now() + 20_000
    while (!(await healthy(readInfo()))) {
      if (Date.now() > deadline) fail(`the simulator did not start; see ${file('sim.log')}`, 1)
      if (child.exitCode !== null) fail(`the simulator exited with ${child.exitCode}; see ${file('sim.log')}`, 1)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  if (!fs.existsSync(file('kubeconfig'))) writeKubeconfig(readKubeconfig())
  fs.mkdirSync(file('kube-cache'), { recursive: true })
  const env: Record<string, string> = {
    KUBECONFIG: file('kubeconfig'),
    KUBECACHEDIR: file('kube-cache'),
    SIM_STATE_DIR: stateDir,
    ...awsEnv,
    // With --faults, the AWS SDK (the runbook's and the stand-ins') goes through the fault proxy.
    ...(readInfo()?.awsUrl ? { AWS_ENDPOINT_URL: readInfo()!.awsUrl! } : {}),
    PATH: `${path.join(root, 'sim', 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    // Simulated load balancers' hostnames resolve to their loopback listeners, in every Node.js
    // process of this environment and nowhere else (sim/dns.mjs).
    NODE_OPTIONS: simNodeOptions(root),
  }
  fs.writeFileSync(
    file('env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  )
  console.log(`simulator up: ${readInfo()!.controlUrl}; environment in ${file('env')}`)
}

/** NODE_OPTIONS with the simulator's name resolution, after what the caller's own NODE_OPTIONS holds. */
function simNodeOptions(root: string, given = process.env.NODE_OPTIONS ?? ''): string {
  const preload = `--import=${path.join(root, 'sim', 'dns.mjs')}`
  return given.includes(preload) ? given : `${given} ${preload}`.trim()
}

function envFor(url: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: url,
    AWS_REGION: 'ap-northeast-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing-secret-key',
    AWS_EC2_METADATA_DISABLED: 'true',
  }
}

async function down(): Promise<void> {
  const info = readInfo()
  const motoFile = file('moto.json')
  const moto = fs.existsSync(motoFile) ? (JSON.parse(fs.readFileSync(motoFile, 'utf8')) as { pid: number }) : undefined
  // Both at once: each takes a moment to close what it holds.
  await Promise.all([info?.pid, moto?.pid].filter((pid): pid is number => pid !== undefined).map((pid) => terminate(pid)))
  if (moto) fs.rmSync(motoFile)
  fs.rmSync(file('sim.json'), { force: true })
  console.log('simulator down')
}

const [cmd, sub, name] = positionals
switch (cmd) {
  case 'up':
    await up()
    break
  case 'down':
    await down()
    break
  case 'status':
    console.log(
      JSON.stringify(
        { running: await healthy(readInfo()), clusters: (await healthy(readInfo())) ? await control('GET', '/clusters') : [] },
        null,
        2,
      ),
    )
    break
  case 'cloudwatch':
    // Forces one round of the CloudWatch feed now (tests; rehearsals use the timer).
    if (sub !== 'tick' || !name) fail('usage: cloudwatch tick CLUSTER [--minutes-ago N] --state-dir DIR')
    if (values['minutes-ago'] !== undefined && !/^\d+$/.test(values['minutes-ago'])) fail('--minutes-ago takes a whole number')
    console.log(
      JSON.stringify(
        await control('POST', `/clusters/${encodeURIComponent(name)}/cloudwatch-tick?minutesAgo=${values['minutes-ago'] ?? 0}`),
      ),
    )
    break
  case 'knobs':
    console.log(JSON.stringify(await control('POST', '/knobs', knobFlags())))
    break
  case 'aws-actions':
    // Every IAM action the AWS requests so far needed (the runbook's, eksctl's, the AWS CLI's), with counts.
    console.log(JSON.stringify(await control('GET', '/aws-actions')))
    break
  case 'faults':
    // What the fault proxy injected so far (with `up --faults`).
    console.log(JSON.stringify(await control('GET', '/faults')))
    break
  case 'cluster': {
    if (sub !== 'create' || !name) fail('usage: cluster create NAME --state-dir DIR --nodes N [--label k=v ...] [--taint k=v:Effect ...]')
    const c = await control('POST', '/clusters', {
      name,
      nodes: Number(values.nodes ?? 0),
      labels: pairs(values.label, '--label'),
      taints: taints(values.taint),
      region: values.region,
      instanceType: values['instance-type'],
    })
    addContext(name, c.url)
    console.log(`cluster ${name} at ${c.url} with ${c.nodes} node(s); kubeconfig context "${name}" is current`)
    break
  }
  case 'addon': {
    // The cloudwatch add-on's health as EKS reports it (DescribeAddon status and health issues):
    // `addon degrade CLUSTER` makes it DEGRADED with one issue, `addon heal CLUSTER` ACTIVE again.
    if (!['degrade', 'heal'].includes(sub ?? '') || !name) fail('usage: addon degrade|heal CLUSTER --state-dir DIR')
    const path = `/clusters/${encodeURIComponent(name)}/addons/amazon-cloudwatch-observability`
    const a = await control('GET', path)
    const issue = {
      Code: 'InsufficientNumberOfReplicas',
      Message: "The add-on is unhealthy because it doesn't have the desired number of replicas.",
      ResourceIDs: ['amazon-cloudwatch/fluent-bit'],
    }
    console.log(
      JSON.stringify(
        await control('PUT', path, { ...a, Status: sub === 'degrade' ? 'DEGRADED' : 'ACTIVE', Issues: sub === 'degrade' ? [issue] : null }),
      ),
    )
    break
  }
  case 'nodes': {
    if (sub !== 'add' || !name) fail('usage: nodes add CLUSTER --state-dir DIR --count N [--label k=v ...]')
    const out = await control('POST', `/clusters/${encodeURIComponent(name)}/nodes`, {
      count: Number(values.count ?? 1),
      labels: pairs(values.label, '--label'),
      taints: taints(values.taint),
    })
    console.log(out.nodes.join('\n'))
    break
  }
  default:
    fail('usage: sim/cli.ts up|down|status|knobs|cluster create|nodes add --state-dir DIR')
}
