// Stand-in for helm 3 (reports v3.16.4) for the commands the runbook uses, with the three Scalar
// charts simulated (sim/standins/charts). Releases are stored as helm 3 stores them: Secrets
// `sh.helm.release.v1.<name>.v<revision>` (type helm.sh/release.v1) in the release namespace.
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { gunzipSync, gzipSync } from 'node:zlib'
import YAML from 'yaml'
import { mergeValues, parseSet, schemaErrors, type Chart, type ChartVersion } from './charts/common.ts'
import { envoyValues } from './charts/envoy.ts'
import { schemaLoading } from './charts/schema-loading.ts'
import { scalardl, scalardlAudit } from './charts/scalardl.ts'
import { CliFailure, Kube, KubeError, kubeconfigPath, main, serverOf, stateDir, tokenOf } from './common.ts'

/** The version this stand-in reports: helm 3.16.4, or SIM_HELM_VERSION (e.g. v3.12.3) to be an older helm. */
const VERSION = process.env.SIM_HELM_VERSION || 'v3.16.4'
const versionAtLeast = (minor: number) => {
  const m = /^v?3\.(\d+)/.exec(VERSION)
  return !m || Number(m[1]) >= minor
}
const COMMIT = '7877b45b63f95635153b29a42c0c2f4273ec45ca'
const SCALAR_REPO_URL = 'https://scalar-labs.github.io/helm-charts'
const CHARTS: Record<string, Chart> = { scalardl, 'scalardl-audit': scalardlAudit, 'schema-loading': schemaLoading }

// --- repositories ----------------------------------------------------------------------------

interface RepoFile {
  apiVersion: string
  repositories: { name: string; url: string }[]
}

function repoFile(): string {
  return process.env.HELM_REPOSITORY_CONFIG ?? path.join(stateDir(), 'helm', 'repositories.yaml')
}

function readRepos(): RepoFile {
  try {
    return YAML.parse(fs.readFileSync(repoFile(), 'utf8')) as RepoFile
  } catch {
    return { apiVersion: '', repositories: [] }
  }
}

function repoAdd(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'force-update': { type: 'boolean' }, 'no-update': { type: 'boolean' } },
  })
  const [name, url] = positionals
  if (!name || !url) throw new CliFailure('"helm repo add" requires 2 arguments')
  if (url.replace(/\/$/, '') !== SCALAR_REPO_URL)
    throw new CliFailure(
      `looks like "${url}" is not a valid chart repository or cannot be reached: simulated network: only ${SCALAR_REPO_URL} is served`,
    )
  const repos = readRepos()
  const existing = repos.repositories.find((r) => r.name === name)
  if (existing && existing.url === url) {
    process.stdout.write(`"${name}" already exists with the same configuration, skipping\n`)
    return
  }
  if (existing && !values['force-update']) throw new CliFailure(`repository name (${name}) already exists, please specify a different name`)
  repos.repositories = [...repos.repositories.filter((r) => r.name !== name), { name, url }]
  fs.mkdirSync(path.dirname(repoFile()), { recursive: true })
  fs.writeFileSync(repoFile(), YAML.stringify({ apiVersion: '', generated: new Date().toISOString(), repositories: repos.repositories }))
  process.stdout.write(`"${name}" has been added to your repositories\n`)
}

function resolveChart(ref: string, version?: string): { chart: Chart; cv: ChartVersion; repo: string } {
  const [repo, name] = ref.includes('/') ? ref.split('/', 2) : ['', ref]
  if (!repo) throw new CliFailure(`non-absolute URLs should be in form of repo_name/path_to_chart, got: ${ref}`)
  if (!readRepos().repositories.some((r) => r.name === repo)) throw new CliFailure(`repo ${repo} not found`)
  const chart = CHARTS[name!]
  if (!chart) throw new CliFailure(`chart "${name}" not found in ${repo} index. (try 'helm repo update'): no chart name found`)
  const cv = version ? chart.versions.find((v) => v.version === version.replace(/^v/, '')) : chart.versions[0]
  if (!cv)
    throw new CliFailure(
      `chart "${name}" matching ${version} not found in ${repo} index. (try 'helm repo update'): no chart version found for ${name}-${version}`,
    )
  return { chart, cv, repo: repo! }
}

// --- release storage -------------------------------------------------------------------------

interface Release {
  name: string
  namespace: string
  version: number
  info: { first_deployed: string; last_deployed: string; deleted: string; description: string; status: string; notes: string }
  chart: { metadata: { name: string; version: string; appVersion: string; apiVersion: string; description: string }; values: unknown }
  config: unknown
  manifest: string
  objects?: { kind: string; namespace?: string; name: string }[]
}

const encode = (r: Release) => Buffer.from(gzipSync(Buffer.from(JSON.stringify(r))).toString('base64')).toString('base64')
const decode = (data: string) =>
  JSON.parse(gunzipSync(Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64')).toString('utf8')) as Release

async function history(kube: Kube, name: string, namespace: string): Promise<Release[]> {
  const secrets = await kube.list('Secret', namespace, `owner=helm,name=${name}`)
  return secrets.map((s) => decode(s.data.release)).sort((a, b) => a.version - b.version)
}

async function allReleases(kube: Kube, namespace?: string): Promise<Release[]> {
  const secrets = await kube.list('Secret', namespace, 'owner=helm')
  const latest = new Map<string, Release>()
  for (const s of secrets) {
    const r = decode(s.data.release)
    const key = `${r.namespace}/${r.name}`
    if (!latest.has(key) || latest.get(key)!.version < r.version) latest.set(key, r)
  }
  return [...latest.values()].sort((a, b) => a.name.localeCompare(b.name))
}

async function store(kube: Kube, r: Release): Promise<void> {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'helm.sh/release.v1',
    metadata: {
      name: `sh.helm.release.v1.${r.name}.v${r.version}`,
      namespace: r.namespace,
      labels: { owner: 'helm', name: r.name, status: r.info.status, version: String(r.version) },
    },
    data: { release: encode(r) },
  }
  if (await kube.get('Secret', r.namespace, secret.metadata.name)) await kube.replace(secret)
  else await kube.create(secret)
}

function goTime(iso: string): string {
  const d = new Date(iso)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000000 +0000 UTC`
}

function listEntry(r: Release) {
  return {
    name: r.name,
    namespace: r.namespace,
    revision: String(r.version),
    updated: goTime(r.info.last_deployed),
    status: r.info.status,
    chart: `${r.chart.metadata.name}-${r.chart.metadata.version}`,
    app_version: r.chart.metadata.appVersion,
  }
}

function printable(r: Release) {
  const { objects: _o, ...rest } = r
  return rest
}

// --- kube connection -------------------------------------------------------------------------

/** helm's client for the kubeconfig context: its CA and credentials, the exec plugin run once per invocation as client-go runs it. */
function kubeOf(context?: string): Kube {
  const c = serverOf(kubeconfigPath(process.env.KUBECONFIG), context)
  let token: string | undefined | null = null
  return new Kube(c.server, {
    ca: c.ca,
    token: async () => {
      if (token === null) token = tokenOf(c.user, c.server)
      return token
    },
  })
}

async function waitReady(kube: Kube, objects: any[], timeoutMs: number, waitForJobs: boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let ready = true
    for (const o of objects) {
      const live = await kube.get(o.kind, o.metadata.namespace, o.metadata.name)
      if (!live) continue
      if (o.kind === 'Deployment')
        ready &&=
          (live.status?.updatedReplicas ?? 0) >= live.spec.replicas &&
          (live.status?.availableReplicas ?? 0) >= live.spec.replicas &&
          live.status?.observedGeneration >= live.metadata.generation
      if (o.kind === 'DaemonSet') ready &&= (live.status?.numberReady ?? 0) >= (live.status?.desiredNumberScheduled ?? 0)
      if (o.kind === 'Service' && live.spec.type === 'LoadBalancer') ready &&= Boolean(live.status?.loadBalancer?.ingress?.length)
      if (o.kind === 'Job' && waitForJobs) {
        const conds = live.status?.conditions ?? []
        if (conds.some((c: any) => c.type === 'Failed' && c.status === 'True')) return false
        ready &&= conds.some((c: any) => c.type === 'Complete' && c.status === 'True')
      }
    }
    if (ready) return true
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 200))
  }
}

function parseDuration(s: string): number {
  let ms = 0
  for (const [, n, unit] of s.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms)/g))
    ms += Number(n) * ({ h: 3600000, m: 60000, s: 1000, ms: 1 } as const)[unit as 'h']
  if (!ms && /^\d+$/.test(s)) ms = Number(s) * 1000
  return ms
}

// --- commands --------------------------------------------------------------------------------

async function upgrade(argv: string[]): Promise<void> {
  const { values: f, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      install: { type: 'boolean', short: 'i' },
      version: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      values: { type: 'string', short: 'f', multiple: true },
      set: { type: 'string', multiple: true },
      'set-string': { type: 'string', multiple: true },
      wait: { type: 'boolean' },
      'wait-for-jobs': { type: 'boolean' },
      atomic: { type: 'boolean' },
      timeout: { type: 'string', default: '5m0s' },
      'create-namespace': { type: 'boolean' },
      output: { type: 'string', short: 'o', default: 'table' },
      'kube-context': { type: 'string' },
      'dry-run': { type: 'string' },
      'reset-values': { type: 'boolean' },
      'reuse-values': { type: 'boolean' },
      description: { type: 'string' },
      'history-max': { type: 'string' },
    },
  })
  const [name, ref] = positionals
  if (!name || !ref) throw new CliFailure('"helm upgrade" requires 2 arguments')
  const namespace = f.namespace ?? 'default'
  const { chart, cv } = resolveChart(ref, f.version)
  let user: any = {}
  for (const file of f.values ?? []) {
    let text: string
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch {
      throw new CliFailure(`open ${file}: no such file or directory`)
    }
    user = mergeValues(user, YAML.parse(text) ?? {})
  }
  for (const s of f.set ?? []) user = mergeValues(user, parseSet(s))
  for (const s of f['set-string'] ?? []) user = mergeValues(user, parseSet(s, true))
  const values = mergeValues(chart.defaults(), user)
  // helm/helm v3.16.4 pkg/chartutil/jsonschema.go ValidateAgainstSchema: the coalesced values
  // against each chart's values.schema.json, the enabled envoy subchart's against its own.
  const invalid = [
    [chart.name, schemaErrors(chart.name, values)],
    ...(values.envoy?.enabled ? [['envoy', schemaErrors('envoy', envoyValues(values))] as const] : []),
  ].filter(([, e]) => e.length)
  if (invalid.length)
    throw new CliFailure(
      `values don't meet the specifications of the schema(s) in the following chart(s):\n${invalid.map(([n, e]) => `${n}:\n${(e as string[]).join('\n')}`).join('\n')}`,
    )
  const kube = kubeOf(f['kube-context'])
  if (!(await kube.get('Namespace', undefined, namespace))) {
    if (f['create-namespace']) await kube.ensureNamespace(namespace)
    else throw new CliFailure(`create: failed to create: namespaces "${namespace}" not found`)
  }
  const past = await history(kube, name, namespace)
  const last = past.at(-1)
  const installing = !last || (last.info.status === 'failed' && past.length === 1) || last.info.status === 'uninstalled'
  const verb = installing && !last ? 'INSTALLATION' : 'UPGRADE'
  if (!last && !f.install) throw new CliFailure(`UPGRADE FAILED: "${name}" has no deployed releases`)
  if (last?.info.status.startsWith('pending-'))
    throw new CliFailure(`${verb} FAILED: another operation (install/upgrade/rollback) is in progress`)
  // helm/helm v3.16.4 pkg/action/upgrade.go:229-235: with no deployed revision, only a last one
  // failed or superseded may be upgraded; `uninstalling` (an interrupted uninstall) may not.
  if (last && !installing && !past.some((r) => r.info.status === 'deployed') && !['failed', 'superseded'].includes(last.info.status))
    throw new CliFailure(`UPGRADE FAILED: "${name}" has no deployed releases`)
  const failed = chart.validate?.(values) // the chart's `fail` (templates/*/validate-values.yaml)
  if (failed) throw new CliFailure(`${verb} FAILED: ${failed}`)
  const objects = chart.render(name, namespace, values, cv)
  const manifest = objects.map((o) => `---\n# Source: ${chart.name}/templates/${o.kind.toLowerCase()}.yaml\n${YAML.stringify(o)}`).join('')
  if (f['dry-run'] !== undefined) {
    process.stdout.write(manifest)
    return
  }
  if (!last) process.stdout.write(f.output === 'table' ? `Release "${name}" does not exist. Installing it now.\n` : '')
  const now = new Date().toISOString()
  const release: Release = {
    name,
    namespace,
    version: (last?.version ?? 0) + 1,
    info: {
      first_deployed: last?.info.first_deployed ?? now,
      last_deployed: now,
      deleted: '',
      description: last ? 'Upgrade complete' : 'Install complete',
      status: last ? 'pending-upgrade' : 'pending-install',
      notes: '',
    },
    chart: {
      metadata: { name: chart.name, version: cv.version, appVersion: cv.appVersion, apiVersion: 'v2', description: chart.description },
      values: chart.defaults(),
    },
    config: user,
    manifest,
    objects: objects.map((o) => ({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name })),
  }
  await store(kube, release)
  const fail = async (message: string): Promise<never> => {
    release.info.status = 'failed'
    release.info.description = `${last ? 'Upgrade' : 'Release'} "${name}" failed: ${message}`
    await store(kube, release)
    throw new CliFailure(`${verb} FAILED: ${message}`)
  }
  try {
    for (const o of objects) {
      // A Job's pod template cannot change (Kubernetes refuses it); helm reports the API's error.
      await kube.apply(o, 'helm')
    }
  } catch (e) {
    if (e instanceof KubeError)
      await fail(`cannot patch "${(e.body?.details?.name as string) ?? ''}" with kind ${e.body?.details?.kind ?? ''}: ${e.message}`)
    throw e
  }
  // Objects the previous revision had and this one does not are deleted.
  const keep = new Set(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`))
  for (const o of last?.objects ?? []) if (!keep.has(`${o.kind}/${o.namespace}/${o.name}`)) await kube.delete(o.kind, o.namespace, o.name)
  if (f.wait || f.atomic || f['wait-for-jobs']) {
    const ok = await waitReady(kube, objects, parseDuration(f.timeout!), Boolean(f['wait-for-jobs']))
    if (!ok) await fail('context deadline exceeded')
  }
  if (last) {
    for (const r of past.filter((x) => x.info.status === 'deployed')) {
      r.info.status = 'superseded'
      await store(kube, r)
    }
  }
  release.info.status = 'deployed'
  await store(kube, release)
  if (f.output === 'json') process.stdout.write(JSON.stringify(printable(release)) + '\n')
  else if (f.output === 'yaml') process.stdout.write(YAML.stringify(printable(release)))
  else
    process.stdout.write(
      `NAME: ${name}\nLAST DEPLOYED: ${new Date(now).toUTCString()}\nNAMESPACE: ${namespace}\nSTATUS: deployed\nREVISION: ${release.version}\nTEST SUITE: None\n`,
    )
}

async function list(argv: string[]): Promise<void> {
  const { values: f } = parseArgs({
    args: argv,
    options: {
      all: { type: 'boolean', short: 'a' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      namespace: { type: 'string', short: 'n' },
      output: { type: 'string', short: 'o', default: 'table' },
      filter: { type: 'string', short: 'f' },
      'kube-context': { type: 'string' },
    },
  })
  const kube = kubeOf(f['kube-context'])
  let releases = await allReleases(kube, f['all-namespaces'] ? undefined : (f.namespace ?? 'default'))
  if (!f.all) releases = releases.filter((r) => r.info.status === 'deployed' || r.info.status === 'failed')
  releases = releases.filter((r) => r.info.status !== 'uninstalled')
  if (f.filter) releases = releases.filter((r) => new RegExp(f.filter!).test(r.name))
  const rows = releases.map(listEntry)
  if (f.output === 'json') process.stdout.write(JSON.stringify(rows) + '\n')
  else
    process.stdout.write(
      `NAME\tNAMESPACE\tREVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION\n${rows.map((r) => `${r.name}\t${r.namespace}\t${r.revision}\t${r.updated}\t${r.status}\t${r.chart}\t${r.app_version}`).join('\n')}${rows.length ? '\n' : ''}`,
    )
}

async function latest(kube: Kube, name: string, namespace: string): Promise<Release> {
  const r = (await history(kube, name, namespace)).at(-1)
  if (!r) throw new CliFailure('release: not found')
  return r
}

async function status(argv: string[]): Promise<void> {
  const { values: f, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      output: { type: 'string', short: 'o', default: 'table' },
      'kube-context': { type: 'string' },
      'show-resources': { type: 'boolean' },
    },
  })
  const r = await latest(kubeOf(f['kube-context']), positionals[0] ?? '', f.namespace ?? 'default')
  if (f.output === 'json') process.stdout.write(JSON.stringify(printable(r)) + '\n')
  else
    process.stdout.write(
      `NAME: ${r.name}\nLAST DEPLOYED: ${new Date(r.info.last_deployed).toUTCString()}\nNAMESPACE: ${r.namespace}\nSTATUS: ${r.info.status}\nREVISION: ${r.version}\nTEST SUITE: None\n`,
    )
}

async function getValues(argv: string[]): Promise<void> {
  const { values: f, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      output: { type: 'string', short: 'o', default: 'yaml' },
      all: { type: 'boolean', short: 'a' },
      'kube-context': { type: 'string' },
    },
  })
  const r = await latest(kubeOf(f['kube-context']), positionals[0] ?? '', f.namespace ?? 'default')
  const v = f.all ? mergeValues(r.chart.values, r.config) : r.config
  process.stdout.write(f.output === 'json' ? JSON.stringify(v) + '\n' : `USER-SUPPLIED VALUES:\n${YAML.stringify(v)}`)
}

/** helm/helm v3.16.4 cmd/helm/get_manifest.go: the rendered manifest of the release's latest revision. */
async function getManifest(argv: string[]): Promise<void> {
  const { values: f, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { namespace: { type: 'string', short: 'n' }, revision: { type: 'string' }, 'kube-context': { type: 'string' } },
  })
  const past = await history(kubeOf(f['kube-context']), positionals[0] ?? '', f.namespace ?? 'default')
  const r = f.revision ? past.find((x) => x.version === Number(f.revision)) : past.at(-1)
  if (!r) throw new CliFailure('release: not found')
  process.stdout.write(r.manifest)
}

async function uninstall(argv: string[]): Promise<void> {
  const { values: f, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      'ignore-not-found': { type: 'boolean' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      'keep-history': { type: 'boolean' },
      'kube-context': { type: 'string' },
    },
  })
  // helm/helm v3.13.0 cmd/helm/uninstall.go:77 added --ignore-not-found; older helm: pflag's
  // "unknown flag" through cobra on stderr, exit 1 (v3.12.3 cmd/helm/helm.go:83-89).
  if (f['ignore-not-found'] && !versionAtLeast(13)) throw new CliFailure('unknown flag: --ignore-not-found')
  const kube = kubeOf(f['kube-context'])
  const namespace = f.namespace ?? 'default'
  for (const name of positionals) {
    const past = await history(kube, name, namespace)
    const last = past.at(-1)
    if (!last || last.info.status === 'uninstalled') {
      if (f['ignore-not-found']) continue
      throw new CliFailure(`uninstall: Release not loaded: ${name}: release: not found`)
    }
    // helm/helm v3.16.4 pkg/action/uninstall.go:103-118: the release is marked `uninstalling` and
    // stored before anything is deleted, so a helm killed now leaves it so.
    last.info.status = 'uninstalling'
    last.info.description = 'Deletion in progress (or silently failed)'
    await store(kube, last)
    const stall = Number(process.env.SIM_HELM_UNINSTALL_STALL_MS ?? 0) // a slow deletion (finalizers), to interrupt in tests
    if (stall) await new Promise((r) => setTimeout(r, stall))
    for (const o of [...(last.objects ?? [])].reverse()) await kube.delete(o.kind, o.namespace, o.name)
    for (const r of past) await kube.delete('Secret', namespace, `sh.helm.release.v1.${r.name}.v${r.version}`)
    process.stdout.write(`release "${name}" uninstalled\n`)
  }
}

async function historyCmd(argv: string[]): Promise<void> {
  const { values: f, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      output: { type: 'string', short: 'o', default: 'table' },
      max: { type: 'string' },
      'kube-context': { type: 'string' },
    },
  })
  const past = await history(kubeOf(f['kube-context']), positionals[0] ?? '', f.namespace ?? 'default')
  if (!past.length) throw new CliFailure('release: not found')
  // As helm prints it: revision is a number here (a string in `helm list`).
  const rows = past.slice(-Number(f.max ?? 256)).map((r) => ({
    revision: r.version,
    updated: r.info.last_deployed,
    status: r.info.status,
    chart: `${r.chart.metadata.name}-${r.chart.metadata.version}`,
    app_version: r.chart.metadata.appVersion,
    description: r.info.description,
  }))
  if (f.output === 'json') process.stdout.write(JSON.stringify(rows) + '\n')
  else
    process.stdout.write(
      `REVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION\tDESCRIPTION\n${rows.map((r) => `${r.revision}\t${goTime(r.updated)}\t${r.status}\t${r.chart}\t${r.app_version}\t${r.description}`).join('\n')}\n`,
    )
}

/**
 * `helm rollback RELEASE [REVISION]`: a new revision with the target's chart, values and manifest.
 * Like helm 3, it does not refuse a release left pending by an interrupted run (upgrade does):
 * that is how such a release is recovered.
 */
async function rollback(argv: string[]): Promise<void> {
  const { values: f, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      wait: { type: 'boolean' },
      timeout: { type: 'string', default: '5m0s' },
      'kube-context': { type: 'string' },
      'cleanup-on-fail': { type: 'boolean' },
      'history-max': { type: 'string' },
    },
  })
  const [name, rev] = positionals
  if (!name) throw new CliFailure('"helm rollback" requires at least 1 argument')
  const namespace = f.namespace ?? 'default'
  const kube = kubeOf(f['kube-context'])
  const past = await history(kube, name, namespace)
  const current = past.at(-1)
  if (!current) throw new CliFailure(`release: not found`)
  const targetVersion = rev && Number(rev) > 0 ? Number(rev) : current.version - 1
  const target = past.find((r) => r.version === targetVersion)
  if (!target) throw new CliFailure(targetVersion < 1 ? 'Error: release has no 0 version' : `release: not found`)
  const now = new Date().toISOString()
  const release: Release = {
    ...structuredClone(target),
    version: current.version + 1,
    info: { ...target.info, last_deployed: now, status: 'pending-rollback', description: `Rollback to ${target.version}` },
  }
  await store(kube, release)
  const objects = target.manifest
    .split(/^---\n/m)
    .filter((d) => d.trim())
    .map((d) => YAML.parse(d))
  for (const o of objects) await kube.apply(o, 'helm')
  const keep = new Set(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`))
  for (const o of current.objects ?? []) if (!keep.has(`${o.kind}/${o.namespace}/${o.name}`)) await kube.delete(o.kind, o.namespace, o.name)
  if (f.wait && !(await waitReady(kube, objects, parseDuration(f.timeout!), false))) throw new CliFailure('context deadline exceeded')
  for (const r of past.filter((x) => x.info.status === 'deployed' || x.version === current.version)) {
    r.info.status = 'superseded'
    await store(kube, r)
  }
  release.info.status = 'deployed'
  await store(kube, release)
  process.stdout.write('Rollback was a success! Happy Helming!\n')
}

function search(argv: string[]): void {
  const { values: f, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      versions: { type: 'boolean', short: 'l' },
      output: { type: 'string', short: 'o', default: 'table' },
      version: { type: 'string' },
    },
  })
  const term = positionals[0] ?? ''
  const repos = readRepos().repositories
  const rows = repos
    .flatMap((repo) =>
      Object.values(CHARTS).flatMap((c) =>
        (f.versions ? c.versions : c.versions.slice(0, 1)).map((v) => ({
          name: `${repo.name}/${c.name}`,
          version: v.version,
          app_version: v.appVersion,
          description: c.description,
        })),
      ),
    )
    .filter((r) => r.name.includes(term))
  if (f.output === 'json') process.stdout.write(JSON.stringify(rows) + '\n')
  else
    process.stdout.write(
      rows.length
        ? `NAME\tCHART VERSION\tAPP VERSION\tDESCRIPTION\n${rows.map((r) => `${r.name}\t${r.version}\t${r.app_version}\t${r.description}`).join('\n')}\n`
        : 'No results found\n',
    )
}

await main(
  async (argv) => {
    // Global flags helm accepts anywhere: --kubeconfig PATH (or =PATH).
    const args = [...argv]
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '--kubeconfig' && args[i + 1]) {
        process.env.KUBECONFIG = args[i + 1]
        args.splice(i, 2)
        i--
      } else if (args[i]!.startsWith('--kubeconfig=')) {
        process.env.KUBECONFIG = args[i]!.slice('--kubeconfig='.length)
        args.splice(i, 1)
        i--
      }
    }
    const [cmd, ...rest] = args
    switch (cmd) {
      case 'version': {
        const { values: f } = parseArgs({ args: rest, options: { short: { type: 'boolean' }, template: { type: 'string' } } })
        if (f.short) process.stdout.write(`${VERSION}+g${COMMIT.slice(0, 7)}\n`)
        else if (f.template) process.stdout.write(f.template.replace('{{.Version}}', VERSION) + '\n')
        else
          process.stdout.write(
            `version.BuildInfo{Version:"${VERSION}", GitCommit:"${COMMIT}", GitTreeState:"clean", GoVersion:"go1.22.7"}\n`,
          )
        return
      }
      case 'repo':
        if (rest[0] === 'add') return repoAdd(rest.slice(1))
        if (rest[0] === 'update') {
          process.stdout.write(
            `Hang tight while we grab the latest from your chart repositories...\n${readRepos()
              .repositories.map((r) => `...Successfully got an update from the "${r.name}" chart repository\n`)
              .join('')}Update Complete. ⎈Happy Helming!⎈\n`,
          )
          return
        }
        if (rest[0] === 'list' || rest[0] === 'ls') {
          const repos = readRepos().repositories
          const { values: lf } = parseArgs({ args: rest.slice(1), options: { output: { type: 'string', short: 'o', default: 'table' } } })
          if (lf.output === 'json') {
            process.stdout.write(JSON.stringify(repos.map((r) => ({ name: r.name, url: r.url }))) + '\n')
            return
          }
          if (!repos.length) throw new CliFailure('no repositories to show')
          process.stdout.write(`NAME\tURL\n${repos.map((r) => `${r.name}\t${r.url}`).join('\n')}\n`)
          return
        }
        throw new CliFailure(`unknown command "${rest[0]}" for "helm repo"`)
      case 'search':
        if (rest[0] !== 'repo') throw new CliFailure(`unknown command "${rest[0]}" for "helm search"`)
        return search(rest.slice(1))
      case 'upgrade':
        return upgrade(rest)
      case 'install':
        return upgrade(['--install', ...rest])
      case 'list':
      case 'ls':
        return list(rest)
      case 'status':
        return status(rest)
      case 'get':
        if (rest[0] === 'values') return getValues(rest.slice(1))
        if (rest[0] === 'manifest') return getManifest(rest.slice(1))
        throw new CliFailure(`unknown command "${rest[0]}" for "helm get" (simulated: values, manifest)`)
      case 'history':
      case 'hist':
        return historyCmd(rest)
      case 'rollback':
        return rollback(rest)
      case 'uninstall':
      case 'delete':
      case 'del':
        return uninstall(rest)
    }
    throw new CliFailure(
      `unknown command "${cmd}" for "helm" (this stand-in simulates: version, repo add/update/list, search repo, upgrade --install, install, ls, status, get values, history, rollback, uninstall)`,
    )
  },
  (e) => process.stderr.write(`Error: ${e instanceof CliFailure ? e.message : `${e.name}: ${e.message}`}\n`),
)
