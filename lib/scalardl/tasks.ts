// Step 4: Scalar DL Ledger and Envoy through helm, after the schema is loaded.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { kubectlFor } from '../eks/tasks.ts'
import { kubeAccess, kubeconfigFile, POOL_LABEL } from '../eks/cluster-config.ts'
import { RunbookError } from '../engine/errors.ts'
import { Helm, type HelmRelease } from '../tools/helm.ts'
import { settleInterrupted } from '../tools/helm-interrupted.ts'
import type { KubeObject } from '../tools/kubectl.ts'
import type { CheckResult, Task, TaskContext } from '../engine/task.ts'
import { atLeast } from '../tools/version.ts'
import { waitFor } from '../engine/wait.ts'
import { isInTreeNlb, nlbState } from '../aws/load-balancers.ts'
import { describeVpcs, vpcCidrs } from '../aws/peering.ts'
import { envoySourceRanges } from './values.ts'
import { generateSigningKey, keyFileProblem } from './keys.ts'
import { keysSecretName, scalardlFullname, schemaJobName, serverApp, serverChart } from './names.ts'
import { liveDrift, podProblem, rolloutOf } from './rollout.ts'
import {
  AUDITOR_KEYS,
  auditorKeysSecret,
  dbSecret,
  dbSecretName,
  LEDGER_KEYS,
  ledgerKeysSecret,
  pullSecret,
  secretDrift,
  secretManifest,
  type SecretSpec,
} from './secrets.ts'
import {
  coalesce,
  overridesFile,
  readValues,
  SECRETS_CHECKSUM,
  schemaOverrides,
  serverOverrides,
  valuesChart,
  valuesFile,
  writeOverrides,
  type ValuesKind,
} from './values.ts'

const REPO = { name: 'scalar-labs', url: 'https://scalar-labs.github.io/helm-charts' }

export interface ScalarState {
  poolNodes: number
  envoyHostname?: string
  /** The VPC ranges the envoy's load balancer admits (found by the values task). */
  envoySourceRanges?: string[]
  /** The Auditor's view: the Ledger envoy's hostname, found by 05-auditor. */
  ledgerHost?: string
  /** The digest of the Secrets the server reads (lib/scalardl/values.ts LiveInputs). */
  secretsDigest?: string
}

const helmFor = (ctx: TaskContext) => new Helm({ command: ctx.config.tools.helm, kubeconfig: kubeAccess(ctx.config) })
const ns = (ctx: TaskContext) => ctx.config.scalardl.namespace
const haveCluster = (ctx: TaskContext) => fs.existsSync(kubeconfigFile(ctx.config))

function needCluster(ctx: TaskContext): { holds: false; detail?: string; conflict?: string; hint?: string } {
  return ctx.dryRun
    ? { holds: false, detail: 'once 03-eks has made the cluster' }
    : { holds: false, conflict: `no kubeconfig at ${kubeconfigFile(ctx.config)}`, hint: 'run 03-eks first' }
}

export function helmTask(): Task<ScalarState> {
  return {
    title: 'helm >= 3.5',
    async check(ctx) {
      const v = await helmFor(ctx).version()
      return atLeast(v.version, '3.5.0')
        ? { holds: true, detail: v.raw }
        : { holds: false, detail: `helm ${v.raw} is older than 3.5`, hint: 'install helm 3.5 or newer (see 00-preflight)' }
    },
  }
}

/** Whether the pinned chart versions are in the repository; lists the available ones when not. */
async function pinnedVersions(ctx: TaskContext): Promise<CheckResult<never>> {
  const c = ctx.config.scalardl
  const charts = await helmFor(ctx).chartVersions(REPO.name)
  for (const [chart, version, key] of [
    [
      `${REPO.name}/${serverChart(ctx.config)}`,
      c.chartVersion,
      c.app === 'auditor' ? 'SCALARDL_AUDIT_CHART_VERSION' : 'SCALARDL_CHART_VERSION',
    ],
    [`${REPO.name}/schema-loading`, c.schemaChartVersion, 'SCHEMA_LOADING_CHART_VERSION'],
  ] as const) {
    const available = charts.get(chart) ?? []
    if (!available.includes(version))
      return {
        holds: false,
        conflict: `${chart} ${version} is not in the repository; available: ${available.slice(0, 12).join(', ')}`,
        hint: `set ${key} to one of them`,
      }
  }
  return { holds: true, detail: `${serverChart(ctx.config)} ${c.chartVersion}, schema-loading ${c.schemaChartVersion}` }
}

export function repoTask(): Task<ScalarState, { listed: boolean }> {
  return {
    title: `Chart repository ${REPO.name} with the pinned chart versions`,
    async check(ctx) {
      const repo = (await helmFor(ctx).repoList()).find((r) => r.name === REPO.name)
      if (!repo) return { holds: false, detail: `helm repo add ${REPO.name} ${REPO.url}`, reading: { listed: false } }
      if (repo.url.replace(/\/$/, '') !== REPO.url)
        return {
          holds: false,
          conflict: `the helm repository "${REPO.name}" points to ${repo.url}, not ${REPO.url}`,
          hint: `helm repo remove ${REPO.name}, then rerun`,
        }
      const pinned = await pinnedVersions(ctx)
      // A local index older than the pinned versions is brought up to date by apply.
      return pinned.conflict ? { holds: false, detail: `helm repo update: ${pinned.conflict}`, reading: { listed: true } } : pinned
    },
    async apply(ctx, _s, read) {
      const h = helmFor(ctx)
      const listed = read?.listed ?? (await h.repoList()).some((r) => r.name === REPO.name)
      // `helm repo add` downloads the index; an existing repository is brought up to date.
      if (!listed) await h.repoAdd(REPO.name, REPO.url)
      else await h.repoUpdate()
      const v = await pinnedVersions(ctx)
      if (v.conflict) throw new RunbookError(v.conflict, v.hint)
      return `${listed ? `updated ${REPO.name}` : `added ${REPO.name}`}; ${v.detail}`
    },
  }
}

export function namespaceTask(): Task<ScalarState> {
  return {
    title: 'Namespace',
    async check(ctx) {
      if (!haveCluster(ctx)) return needCluster(ctx)
      return (await kubectlFor(ctx).get('namespace', ns(ctx)))
        ? { holds: true, detail: ns(ctx) }
        : { holds: false, detail: `create ${ns(ctx)}` }
    },
    async apply(ctx) {
      await kubectlFor(ctx).apply(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns(ctx)}\n`)
      return `created ${ns(ctx)}`
    },
  }
}

function secretTask(
  title: string,
  spec: (ctx: TaskContext) => SecretSpec | undefined,
): Task<ScalarState, { live?: KubeObject & { type?: string } }> {
  return {
    title,
    async check(ctx) {
      const s = spec(ctx)
      if (!s) return { holds: true, detail: 'not needed (LEDGER_PROOF_ENABLED=false)' }
      if (!haveCluster(ctx)) return needCluster(ctx)
      const live = await kubectlFor(ctx).get('secret', s.name, { namespace: ns(ctx) })
      const drift = secretDrift(live, s)
      return drift ? { holds: false, detail: drift, reading: { live } } : { holds: true, detail: `${s.name} (${s.describe})` }
    },
    async apply(ctx, _state, read) {
      const s = spec(ctx)!
      const k = kubectlFor(ctx)
      const live = (read ?? { live: await k.get('secret', s.name, { namespace: ns(ctx) }) }).live as
        | (KubeObject & { type?: string })
        | undefined
      if (live && live.type !== s.type) await k.delete('secret', s.name, { namespace: ns(ctx) }) // a Secret's type cannot change
      await k.apply(secretManifest(s, ns(ctx)), { namespace: ns(ctx) }) // on stdin: no secret in argv
      return `${live ? 'updated' : 'created'} ${s.name} (${s.describe})`
    },
  }
}

export const pullSecretTask = () => secretTask('Image pull secret reg-docker-secrets (ghcr.io)', (ctx) => pullSecret(ctx.config))
export const dbSecretTask = () => secretTask('Database credentials secret', (ctx) => dbSecret(ctx.config))
function keysSpec(c: TaskContext['config']): SecretSpec | undefined {
  if (!c.scalardl.proofEnabled) return undefined
  const pem = fs.readFileSync(c.scalardl.privateKeyFile, 'utf8')
  if (c.scalardl.app === 'auditor') return auditorKeysSecret(pem, fs.readFileSync(c.scalardl.certificateFile, 'utf8'))
  const cert =
    c.auditor.enabled && c.scalardl.certificateFile && fs.existsSync(c.scalardl.certificateFile)
      ? fs.readFileSync(c.scalardl.certificateFile, 'utf8')
      : undefined
  return ledgerKeysSecret(pem, cert)
}

/** ledger-keys (Asset Proofs private key) or, in the Auditor's view, auditor-keys (key and certificate). */
export const keysSecretTask = (title = 'Secret ledger-keys (Asset Proofs private key)'): Task<ScalarState> => {
  const task = secretTask(title, (ctx) => keysSpec(ctx.config))
  return {
    ...task,
    async check(ctx, s) {
      // In --dry-run the key may not be generated yet (the key file task plans it above).
      const c = ctx.config.scalardl
      const files = [c.privateKeyFile, ...(c.app === 'auditor' ? [c.certificateFile] : [])]
      if (c.proofEnabled && files.some((f) => !fs.existsSync(f)))
        return { holds: false, detail: `create ${keysSecretName(ctx.config)} from the files generated above` }
      return task.check(ctx, s)
    },
  }
}
export const ledgerKeysTask = () => keysSecretTask()

export function ledgerKeyFileTask(): Task<ScalarState> {
  return {
    title: 'Ledger private key file (EC P-256)',
    async check(ctx) {
      const file = ctx.config.scalardl.privateKeyFile
      if (!ctx.config.scalardl.proofEnabled) return { holds: true, detail: 'not needed (LEDGER_PROOF_ENABLED=false)' }
      if (!fs.existsSync(file)) return { holds: false, detail: `generate ${file} (--generate-ledger-key)` }
      const problem = keyFileProblem(file)
      return problem ? { holds: false, conflict: problem } : { holds: true, detail: file }
    },
    async apply(ctx) {
      generateSigningKey(ctx.config.scalardl.privateKeyFile)
      return `generated ${ctx.config.scalardl.privateKeyFile} (mode 600); register its certificate with the Auditor if you use one`
    },
  }
}

/**
 * The digest of the Secrets this view's server reads (LiveInputs.secretsDigest): their uids and
 * resourceVersions, which change when their data does (a write of the same data leaves them).
 */
async function secretsDigest(ctx: TaskContext): Promise<string | undefined> {
  if (!haveCluster(ctx)) return undefined
  const names = [dbSecretName(ctx.config), ctx.config.scalardl.app === 'auditor' ? AUDITOR_KEYS : LEDGER_KEYS]
  const k = kubectlFor(ctx)
  const found = await Promise.all(names.map((n) => k.get('secret', n, { namespace: ns(ctx) })))
  const parts = found.map((o, i) => `${names[i]}:${o?.metadata?.uid ?? 'absent'}:${o?.metadata?.resourceVersion ?? ''}`)
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16)
}

/** Who may reach this view's envoy: its VPC, the other Scalar DL VPC and the client VPCs (their ranges from EC2). */
async function envoyRanges(ctx: TaskContext): Promise<string[]> {
  const c = ctx.config
  const clients =
    c.auditor.enabled && c.auditor.clientVpcIds.length ? (await describeVpcs(ctx.aws.ec2, c.auditor.clientVpcIds)).flatMap(vpcCidrs) : []
  return envoySourceRanges(c, clients)
}

function valuesTask(kind: ValuesKind, title: string): Task<ScalarState, { rotated: string }> {
  const compute = (ctx: TaskContext, s: ScalarState) => (kind === 'server' ? serverOverrides(ctx.config, s) : schemaOverrides(ctx.config))
  return {
    title,
    async check(ctx, s) {
      if (kind === 'server') {
        const [nodes, ranges, digest] = await Promise.all([
          haveCluster(ctx) ? kubectlFor(ctx).list('nodes', { selector: `${POOL_LABEL.key}=${POOL_LABEL.value}` }) : [],
          envoyRanges(ctx),
          secretsDigest(ctx),
        ])
        s.poolNodes = nodes.length || ctx.config.nodeCount
        s.envoySourceRanges = ranges
        s.secretsDigest = digest
      }
      const file = overridesFile(ctx.config, kind)
      const want = compute(ctx, s)
      if (ctx.dryRun) ctx.log.plain(JSON.stringify(want, null, 2).replace(/^/gm, '      | '))
      const have = fs.existsSync(file) ? readValues(file) : undefined
      if (have && isDeepStrictEqual(have, want)) return { holds: true, detail: file }
      const app = ctx.config.scalardl.app
      const rotated =
        kind === 'server' &&
        have?.[app]?.podAnnotations?.[SECRETS_CHECKSUM] &&
        have[app].podAnnotations[SECRETS_CHECKSUM] !== s.secretsDigest
          ? ': the database credentials, licence or keys changed, so the Pods will be replaced'
          : ''
      return { holds: false, detail: `${have ? 'update' : 'write'} ${file}${rotated}`, reading: { rotated } }
    },
    async apply(ctx, s, reading) {
      writeOverrides(ctx.config, kind, compute(ctx, s))
      return `wrote ${overridesFile(ctx.config, kind)} (mode 600)${reading?.rotated ?? ''}`
    },
  }
}
export const schemaValuesTask = () =>
  valuesTask('schema', 'Values for schema-loading: config/schema-loading-custom-values.yaml + computed overrides')
export const ledgerValuesTask = () => valuesTask('server', 'Values for scalardl: config/scalardl-custom-values.yaml + computed overrides')
export const auditorValuesTask = () =>
  valuesTask('server', 'Values for scalardl-audit: config/scalardl-audit-custom-values.yaml + computed overrides')

function desiredValues(ctx: TaskContext, kind: ValuesKind): unknown {
  return coalesce(readValues(valuesFile(ctx.config, kind)), readValues(overridesFile(ctx.config, kind)))
}

async function releaseState(ctx: TaskContext, name: string): Promise<{ release?: HelmRelease; values?: unknown }> {
  const h = helmFor(ctx)
  // The values are asked beside the list (one round trip instead of two); they fail for a release
  // that does not exist, and are used only for a deployed one, asked again if that first ask failed.
  const [release, early] = await Promise.all([
    h.release(name, ns(ctx)),
    h.getValues(name, ns(ctx)).then(
      (v) => ({ v }),
      () => undefined,
    ),
  ])
  if (!release || release.status === 'uninstalled') return {}
  if (release.status !== 'deployed') return { release }
  return { release, values: early ? early.v : await h.getValues(name, ns(ctx)) }
}

/** A release as read (absent when not installed) and why it differs from what is wanted, if it does. */
type Drift = { release?: HelmRelease; drift?: string }

/**
 * Why the release differs from the pinned chart version and the desired values (or is not
 * deployed), or undefined when it does not: the one comparison behind "upgrade only when needed".
 */
async function releaseDrift(ctx: TaskContext, name: string, kind: ValuesKind): Promise<Drift> {
  const { release, values } = await releaseState(ctx, name)
  if (!release) return { drift: 'not installed' }
  const want = `${valuesChart(ctx.config, kind)}-${kind === 'server' ? ctx.config.scalardl.chartVersion : ctx.config.scalardl.schemaChartVersion}`
  if (release.chart !== want) return { release, drift: `chart ${release.chart} -> ${want}` }
  if (release.status !== 'deployed') return { release, drift: `status ${release.status}` }
  if (!isDeepStrictEqual(values, desiredValues(ctx, kind))) return { release, drift: 'values changed' }
  if (kind === 'server') {
    // What someone changed by hand in the live objects (kubectl scale, a deleted Service): the
    // upgrade restores it (helm 3 patches the live objects towards the manifest).
    const live = await liveDrift(kubectlFor(ctx), ns(ctx), await helmFor(ctx).manifest(name, ns(ctx)))
    if (live.length) return { release, drift: `live objects differ from the release: ${live.join('; ')}` }
  }
  return { release }
}

/**
 * releaseDrift before changing a release: a revision an interrupted run left pending is first
 * waited for or settled (lib/tools/helm-interrupted.ts), then the release read again; `settled` says what was done.
 */
async function driftBeforeChange(
  ctx: TaskContext,
  name: string,
  kind: ValuesKind,
  read?: Drift,
): Promise<{ release?: HelmRelease; drift?: string; settled?: string }> {
  const first = read ?? (await releaseDrift(ctx, name, kind))
  if (!first.release || !/^(pending-|uninstalling$)/.test(first.release.status)) return first
  const settled = await settleInterrupted({
    helm: helmFor(ctx),
    release: name,
    namespace: ns(ctx),
    log: ctx.log,
    timeoutMs: ctx.config.waitTimeoutMs,
  })
  return { ...(await releaseDrift(ctx, name, kind)), settled }
}

interface JobView {
  status: 'complete' | 'failed' | 'running' | 'absent'
  reason: string
}

/** When this deployment's schema-loading Job was made (undefined: no such Job): the tables made after it are its. */
export async function schemaJobCreatedAt(ctx: TaskContext): Promise<number | undefined> {
  if (!haveCluster(ctx)) return undefined
  const job = await kubectlFor(ctx).get('job', schemaJobName(ctx.config), { namespace: ns(ctx) })
  const t = job?.metadata?.creationTimestamp as string | undefined
  return t ? Date.parse(t) : undefined
}

async function schemaJob(ctx: TaskContext): Promise<JobView> {
  const name = schemaJobName(ctx.config)
  const k = kubectlFor(ctx)
  // The Job and its Pods at once (the Pods say why a Job is not done yet).
  const [job, pods] = await Promise.all([
    k.get('job', name, { namespace: ns(ctx) }),
    k.list('pods', { namespace: ns(ctx), selector: `job-name=${name}` }),
  ])
  if (!job) return { status: 'absent', reason: `job ${name} not found` }
  const conds = (job.status?.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[]
  if (conds.some((c) => c.type === 'Complete' && c.status === 'True')) return { status: 'complete', reason: 'Complete' }
  const failed = conds.find((c) => c.type === 'Failed' && c.status === 'True')
  const pod = pods.at(-1)
  const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting
  const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated
  const unsched = (pod?.status?.conditions ?? []).find((c: { reason?: string }) => c.reason === 'Unschedulable')
  const why = unsched
    ? `Pending: ${unsched.message}`
    : waiting
      ? `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`
      : terminated
        ? `${terminated.reason} (exit ${terminated.exitCode})`
        : (pod?.status?.phase ?? 'no pod yet')
  if (failed)
    return {
      status: 'failed',
      reason: `${failed.reason ?? 'Failed'}; pod ${pod?.metadata.name ?? '?'}: ${why}; see kubectl logs job/${name} -n ${ns(ctx)}`,
    }
  return { status: 'running', reason: `pod ${pod?.metadata.name ?? '?'}: ${why}` }
}

export function schemaReleaseTask(): Task<ScalarState, Drift & { job?: JobView }> {
  return {
    title: 'Schema loaded (schema-loading release, Job Complete)',
    async check(ctx) {
      if (!haveCluster(ctx)) return needCluster(ctx)
      const c = ctx.config.scalardl
      // The release and its Job at once: the Job is read in vain only before the first install.
      const [{ release, drift }, job] = await Promise.all([releaseDrift(ctx, c.schemaRelease, 'schema'), schemaJob(ctx)])
      const reading = { release, drift, job }
      if (!release)
        return {
          holds: false,
          detail: `helm upgrade --install ${c.schemaRelease} ${REPO.name}/schema-loading --version ${c.schemaChartVersion}`,
          reading,
        }
      if (!drift && job.status === 'complete') return { holds: true, detail: `${c.schemaRelease} deployed, Job Complete` }
      if (job.status === 'failed') return { holds: false, detail: `reinstall ${c.schemaRelease}: the Job failed (${job.reason})`, reading }
      if (drift) return { holds: false, detail: `reinstall ${c.schemaRelease}: ${drift} (a Job cannot be changed in place)`, reading }
      return { holds: false, detail: `wait for the Job: ${job.reason}`, reading }
    },
    async apply(ctx, _s, read) {
      const c = ctx.config.scalardl
      const h = helmFor(ctx)
      const { release, drift, settled } = await driftBeforeChange(ctx, c.schemaRelease, 'schema', read)
      const current = !drift && ((!settled && read?.job) || (await schemaJob(ctx))).status !== 'failed'
      if (release && !current) await h.uninstall(c.schemaRelease, ns(ctx)) // Job specs are immutable: reinstall
      if (!current)
        await h.upgradeInstall(c.schemaRelease, `${REPO.name}/schema-loading`, {
          namespace: ns(ctx),
          version: c.schemaChartVersion,
          valuesFiles: [valuesFile(ctx.config, 'schema'), overridesFile(ctx.config, 'schema')],
        })
      const done = await waitFor(
        {
          what: `the schema-loading Job of ${c.schemaRelease} to complete`,
          timeoutMs: ctx.config.waitTimeoutMs,
          log: ctx.log,
          hint: 'the Job needs an untainted node (03-eks system node group) and DynamoDB access; kubectl describe pod -l job-name=... shows why',
        },
        async () => {
          const j = await schemaJob(ctx)
          return {
            done: j.status === 'complete',
            status: j.reason,
            value: j,
            failed: j.status === 'failed' ? `the Job failed: ${j.reason}` : undefined,
          }
        },
      )
      return `${settled ? `${settled}; ` : ''}${c.schemaRelease} ${release ? 'reinstalled' : 'installed'}; Job ${done?.reason}`
    },
    hint: 'fix the cause shown (credentials, DynamoDB access, scheduling) and rerun: a failed schema release is uninstalled and installed again',
  }
}

/** The envoy Service of the view's cluster, if there is one (and a cluster). */
async function envoyService(ctx: TaskContext): Promise<KubeObject | undefined> {
  if (!haveCluster(ctx)) return undefined
  return kubectlFor(ctx).get('service', `${scalardlFullname(ctx.config)}-envoy`, { namespace: ns(ctx) })
}
const hostnameOf = (svc: KubeObject | undefined) => svc?.status?.loadBalancer?.ingress?.[0]?.hostname as string | undefined

/** The envoy load balancer's hostname in the view's cluster, if it has one yet (and a cluster). */
export async function envoyHostname(ctx: TaskContext): Promise<string | undefined> {
  return hostnameOf(await envoyService(ctx))
}

/**
 * Whether the envoy's load balancer carries traffic. EKS's built-in controller sets the hostname
 * while the NLB is still provisioning (cloud-provider-aws v1.32.8 aws.go:2302 "TODO: Wait for
 * creation?"), and its targets stay `initial` until their health checks pass: the endpoint is
 * reported, and used by 05's certificate Jobs, only once the NLB is active with healthy targets.
 * A load balancer of another controller (another type annotation) is not looked for.
 */
async function envoyLoadBalancer(
  ctx: TaskContext,
  svc: KubeObject | undefined,
): Promise<{ ok: boolean; status: string; hostname?: string }> {
  const hostname = hostnameOf(svc)
  if (!svc || !hostname) return { ok: false, status: 'envoy EXTERNAL-IP <pending>' }
  if (!isInTreeNlb(svc)) return { ok: true, status: `envoy EXTERNAL-IP ${hostname}`, hostname }
  const nlb = await nlbState(ctx.aws.elb, String(svc.metadata.uid))
  return { ok: nlb.ready, status: `envoy EXTERNAL-IP ${hostname} (${nlb.status})`, hostname }
}

interface Readiness {
  ok: boolean
  status: string
  hostname?: string
  /** Why waiting longer cannot help: a stuck rollout or a crashing server. */
  failed?: string
}

/**
 * The release is ready when each of its Deployments (server and envoy) has rolled out (every
 * replica updated and available, the controller caught up), with one Pod per pool node, and the
 * envoy has its load balancer. A server that crashes at start, or a rollout past its deadline,
 * fails the wait at once with the cause.
 */
async function deploymentsReady(ctx: TaskContext, s: ScalarState, since = 0): Promise<Readiness> {
  const c = ctx.config.scalardl
  const k = kubectlFor(ctx)
  const selector = `app.kubernetes.io/instance=${c.release}`
  // The release's Deployments and Pods (server and envoy) in one call each, beside the envoy Service.
  const [deployments, pods, envoy] = await Promise.all([
    k.list('deployments', { namespace: ns(ctx), selector }),
    k.list('pods', { namespace: ns(ctx), selector }),
    envoyService(ctx).then((svc) => envoyLoadBalancer(ctx, svc)),
  ])
  const hostname = envoy.hostname
  const parts: string[] = []
  let ok = true
  let failed: string | undefined
  for (const app of [serverApp(ctx.config), 'envoy']) {
    const d = deployments.find((x) => x.metadata.labels?.['app.kubernetes.io/app'] === app)
    const mine = pods.filter((p) => p.metadata.labels?.['app.kubernetes.io/app'] === app)
    const ready = mine.filter((p) => !podProblem(p))
    const nodes = new Set(ready.map((p) => p.spec?.nodeName))
    if (!d) {
      ok = false
      parts.push(`${app}: no Deployment yet`)
      continue
    }
    const r = rolloutOf(d)
    if (!r.done || ready.length < s.poolNodes || nodes.size < s.poolNodes) ok = false
    const problems = mine.map((p) => ({ p, problem: podProblem(p) })).filter((x) => x.problem)
    const why = problems.slice(0, 2).map((x) => `${x.p.metadata.name} ${x.problem!.reason}`)
    parts.push(
      `${app} ${r.status}, ${ready.length}/${s.poolNodes} ready on ${nodes.size} node(s)${why.length ? ` (${why.join('; ')})` : ''}`,
    )
    // A crash (or a missing variable) of this run: one from before it may be fixed by what it changed.
    const recent = (p: KubeObject) =>
      Date.parse(
        p.status?.containerStatuses?.[0]?.lastState?.terminated?.finishedAt ??
          (p.metadata as { creationTimestamp?: string }).creationTimestamp ??
          '',
      ) >=
      Math.floor(since / 1000) * 1000
    const crashing = since ? problems.find((x) => x.problem!.crash && recent(x.p)) : undefined
    if (!failed && crashing) {
      const log = (await k.exec(['logs', crashing.p.metadata.name, '-n', ns(ctx), '--tail=5'])).stdout.trim()
      failed = `Pod ${crashing.p.metadata.name} ${crashing.problem!.reason}${log ? `; its log: ${log.split('\n').slice(-3).join(' | ')}` : ''}`
    }
    if (!failed && r.stuck) failed = `the rollout is stuck: ${r.stuck}${why.length ? `; ${why.join('; ')}` : ''}`
  }
  if (!envoy.ok) ok = false
  parts.push(envoy.status)
  return { ok, status: parts.join(', '), hostname, failed: ok ? undefined : failed }
}

/** Deletes the release's Pods that wait in CrashLoopBackOff or CreateContainerConfigError (their ReplicaSets start new ones). */
async function restartCrashing(ctx: TaskContext): Promise<void> {
  const k = kubectlFor(ctx)
  const pods = await k.list('pods', { namespace: ns(ctx), selector: `app.kubernetes.io/instance=${ctx.config.scalardl.release}` })
  const crashing = pods.filter((p) => podProblem(p)?.crash).map((p) => p.metadata.name)
  if (crashing.length) await k.run(['delete', 'pod', ...crashing, '-n', ns(ctx), '--wait=false'])
}

export const ledgerReleaseTask = () => serverReleaseTask('Scalar DL Ledger and Envoy release deployed and ready')
export const auditorReleaseTask = () => serverReleaseTask('Scalar DL Auditor and Envoy release deployed and ready')

/** The server release of the view: scalardl (Ledger) or scalardl-audit (Auditor), with its Envoy. */
function serverReleaseTask(title: string): Task<ScalarState, Drift> {
  return {
    title,
    async check(ctx, s) {
      if (!haveCluster(ctx)) return needCluster(ctx)
      const c = ctx.config.scalardl
      // The release and its Pods at once: the Pods are read in vain only before the first install.
      const [{ release, drift }, r] = await Promise.all([releaseDrift(ctx, c.release, 'server'), deploymentsReady(ctx, s)])
      if (!release)
        return {
          holds: false,
          detail: `helm upgrade --install ${c.release} ${REPO.name}/${serverChart(ctx.config)} --version ${c.chartVersion}`,
          reading: { release, drift },
        }
      if (drift) return { holds: false, detail: `helm upgrade ${c.release}: ${drift}`, reading: { release, drift } }
      s.envoyHostname = r.hostname
      return r.ok ? { holds: true, detail: r.status } : { holds: false, detail: `wait: ${r.status}`, reading: { release, drift } }
    },
    async apply(ctx, s, read) {
      const c = ctx.config.scalardl
      const { release, drift, settled } = await driftBeforeChange(ctx, c.release, 'server', read)
      const current = !drift
      const since = Date.now()
      // Pods that crash-loop on what this run may have fixed (a Secret) start again at once,
      // instead of after the kubelet's back-off (up to 5 min); they serve nothing meanwhile.
      if (current) await restartCrashing(ctx)
      if (!current)
        await helmFor(ctx).upgradeInstall(c.release, `${REPO.name}/${serverChart(ctx.config)}`, {
          namespace: ns(ctx),
          version: c.chartVersion,
          valuesFiles: [valuesFile(ctx.config, 'server'), overridesFile(ctx.config, 'server')],
        })
      const r = await waitFor(
        {
          what: `the ${serverApp(ctx.config) === 'auditor' ? 'Auditor' : 'Ledger'} and Envoy Pods (one of each per Scalar DL node) and the envoy load balancer`,
          timeoutMs: ctx.config.waitTimeoutMs,
          log: ctx.log,
          hint: `kubectl get pods -o wide, kubectl describe pod and kubectl logs show why: ImagePullBackOff (reg-docker-secrets, GITHUB_TOKEN), ContainerCreating (${keysSecretName(ctx.config)}), CrashLoopBackOff (the server's configuration or database credentials), Pending (taint, label, node count); fix the cause and rerun`,
        },
        async () => {
          const x = await deploymentsReady(ctx, s, since)
          return { done: x.ok, status: x.status, value: x, failed: x.failed }
        },
      )
      s.envoyHostname = r?.hostname
      return `${settled ? `${settled}; ` : ''}${current ? 'ready' : `${release ? 'upgraded' : 'installed'} ${c.release}`}: ${r?.status}`
    },
  }
}
