// What the eksctl and helm stand-ins share: where the simulator is, a small client for the fake
// Kubernetes API, kubeconfig handling, and AWS clients pointed at moto by the usual variables.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'

export class CliFailure extends Error {
  constructor(
    message: string,
    readonly code = 1,
    /** Lines the tool logged before failing (eksctl: `[!]` and `[✖]` lines, on stdout). */
    readonly logged: { symbol: 'ℹ' | '!' | '✖'; message: string }[] = [],
  ) {
    super(message)
  }
}

export function stateDir(): string {
  const dir = process.env.SIM_STATE_DIR
  if (!dir) throw new CliFailure('the simulator is not set up: SIM_STATE_DIR is unset (source the env file `npx tsx sim/cli.ts up` wrote)')
  return dir
}

export async function control(method: string, route: string, body?: unknown): Promise<any> {
  const info = JSON.parse(fs.readFileSync(path.join(stateDir(), 'sim.json'), 'utf8')) as { controlUrl: string }
  const res = await fetch(`${info.controlUrl}${route}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const out = await res.json()
  if (!res.ok && res.status !== 404) throw new CliFailure(out.error ?? `simulator: HTTP ${res.status}`)
  return res.status === 404 ? undefined : out
}

// --- kubeconfig --------------------------------------------------------------------------------

interface Kubeconfig {
  apiVersion: string
  kind: string
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[]
  users: { name: string; user: Record<string, unknown> }[]
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[]
  'current-context': string
  preferences?: Record<string, never>
}

export function kubeconfigPath(explicit?: string): string {
  return explicit ?? process.env.KUBECONFIG?.split(path.delimiter)[0] ?? path.join(os.homedir(), '.kube', 'config')
}

export function readKubeconfig(file: string): Kubeconfig {
  try {
    const k = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as Partial<Kubeconfig>
    return {
      apiVersion: k.apiVersion ?? 'v1',
      kind: k.kind ?? 'Config',
      clusters: k.clusters ?? [],
      users: k.users ?? [],
      contexts: k.contexts ?? [],
      'current-context': k['current-context'] ?? '',
      preferences: {},
    }
  } catch {
    return { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], 'current-context': '', preferences: {} }
  }
}

export function upsertContext(
  file: string,
  o: { context: string; clusterName: string; server: string; ca?: string; user: Record<string, unknown>; setCurrent: boolean },
): void {
  const k = readKubeconfig(file)
  const cluster = { server: o.server, ...(o.ca ? { 'certificate-authority-data': Buffer.from(o.ca).toString('base64') } : {}) }
  k.clusters = [...(k.clusters ?? []).filter((c) => c.name !== o.clusterName), { name: o.clusterName, cluster }]
  k.users = [...(k.users ?? []).filter((u) => u.name !== o.context), { name: o.context, user: o.user }]
  k.contexts = [
    ...(k.contexts ?? []).filter((c) => c.name !== o.context),
    { name: o.context, context: { cluster: o.clusterName, user: o.context } },
  ]
  if (o.setCurrent || !k['current-context']) k['current-context'] = o.context
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, YAML.stringify(k), { mode: 0o600 })
}

/** What a kubeconfig context says about its cluster and user (the current context by default). */
export function serverOf(
  file: string,
  context?: string,
): { server: string; context: string; namespace?: string; ca?: string; user: Record<string, unknown> } {
  const k = readKubeconfig(file)
  const name = context || k['current-context']
  const ctx = k.contexts.find((c) => c.name === name)
  if (!ctx)
    throw new CliFailure(
      name ? `context "${name}" does not exist` : 'Kubernetes cluster unreachable: no current context is set in the kubeconfig',
    )
  const cluster = k.clusters.find((c) => c.name === ctx.context.cluster)
  if (!cluster)
    throw new CliFailure(`Kubernetes cluster unreachable: cluster "${ctx.context.cluster}" of context "${name}" is not in the kubeconfig`)
  const c = cluster.cluster as { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string }
  const ca = c['certificate-authority-data']
    ? Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8')
    : c['certificate-authority']
      ? fs.readFileSync(c['certificate-authority'], 'utf8')
      : undefined
  const user = k.users.find((u) => u.name === ctx.context.user)?.user ?? {}
  return { server: c.server, context: name, namespace: ctx.context.namespace, ca, user }
}

/**
 * The bearer token of a kubeconfig user, as client-go gets it: `token`, `tokenFile`, or the exec
 * plugin's ExecCredential (kubernetes v1.32.4 staging/src/k8s.io/client-go/plugin/pkg/client/auth/
 * exec/exec.go: the command with its args and env, stdout parsed as an ExecCredential). client-go
 * runs the plugin only for a TLS server, so a plain-HTTP one gets no token.
 */
export function tokenOf(user: Record<string, unknown>, server: string): string | undefined {
  if (typeof user.token === 'string') return user.token
  if (typeof user.tokenFile === 'string') return fs.readFileSync(user.tokenFile, 'utf8').trim()
  const exec = user.exec as { command?: string; args?: string[]; env?: { name: string; value: string }[] } | undefined
  if (!exec?.command || !server.startsWith('https:')) return undefined
  const env = { ...process.env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])) }
  const r = spawnSync(exec.command, exec.args ?? [], { env, encoding: 'utf8' })
  if (r.error || r.status !== 0)
    throw new CliFailure(
      `Kubernetes cluster unreachable: Get "${server}/version": getting credentials: exec: executable ${exec.command} failed with exit code ${r.status ?? 1}${r.stderr ? `: ${r.stderr.trim()}` : ''}`,
    )
  try {
    return (JSON.parse(r.stdout) as { status?: { token?: string } }).status?.token
  } catch {
    throw new CliFailure('Kubernetes cluster unreachable: getting credentials: decoding stdout: invalid ExecCredential')
  }
}

// --- a small client for the fake Kubernetes API -------------------------------------------------

const PLURALS: Record<string, { group: string; resource: string; namespaced: boolean }> = {
  Namespace: { group: '', resource: 'namespaces', namespaced: false },
  Node: { group: '', resource: 'nodes', namespaced: false },
  Pod: { group: '', resource: 'pods', namespaced: true },
  Service: { group: '', resource: 'services', namespaced: true },
  Secret: { group: '', resource: 'secrets', namespaced: true },
  ConfigMap: { group: '', resource: 'configmaps', namespaced: true },
  ServiceAccount: { group: '', resource: 'serviceaccounts', namespaced: true },
  Deployment: { group: 'apps', resource: 'deployments', namespaced: true },
  DaemonSet: { group: 'apps', resource: 'daemonsets', namespaced: true },
  ReplicaSet: { group: 'apps', resource: 'replicasets', namespaced: true },
  Job: { group: 'batch', resource: 'jobs', namespaced: true },
  PodDisruptionBudget: { group: 'policy', resource: 'poddisruptionbudgets', namespaced: true },
}

function kindPath(kind: string, namespace?: string, name?: string): string {
  const p = PLURALS[kind]
  if (!p) throw new CliFailure(`unsupported kind ${kind}`)
  const base = p.group ? `/apis/${p.group}/v1` : '/api/v1'
  // namespace '*': every namespace (a list).
  return `${base}${p.namespaced && namespace !== '*' ? `/namespaces/${namespace ?? 'default'}` : ''}/${p.resource}${name ? `/${encodeURIComponent(name)}` : ''}`
}

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly body: any,
  ) {
    super(body?.message ?? `HTTP ${status}`)
  }
}

export class Kube {
  constructor(
    readonly server: string,
    /** The cluster's CA (PEM) and the bearer token, for an HTTPS API server. */
    private readonly auth: { ca?: string; token?: () => Promise<string | undefined> } = {},
  ) {}

  async request(method: string, p: string, body?: unknown, contentType = 'application/json'): Promise<any> {
    const url = new URL(this.server + p)
    const token = await this.auth.token?.()
    const payload = body === undefined ? undefined : JSON.stringify(body)
    let res: { status: number; text: string }
    try {
      res = await new Promise((resolve, reject) => {
        const req = (url.protocol === 'https:' ? https : http).request(
          url,
          {
            method,
            ca: this.auth.ca,
            headers: {
              'Content-Type': contentType,
              Accept: 'application/json',
              ...(token ? { Authorization: `Bearer ${token}` } : {}),
              ...(payload ? { 'Content-Length': Buffer.byteLength(payload) } : {}),
            },
          },
          (r) => {
            const chunks: Buffer[] = []
            r.on('data', (c: Buffer) => chunks.push(c))
            r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
            r.on('error', reject)
          },
        )
        req.on('error', reject)
        req.end(payload)
      })
    } catch (e) {
      throw new CliFailure(`Kubernetes cluster unreachable: Get "${this.server}${p}": ${(e as Error).message}`)
    }
    const out = res.text ? JSON.parse(res.text) : undefined
    // client-go's words for a 401 (staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go
    // NewUnauthorized); helm prefixes its reachability check's failures (pkg/kube/client.go IsReachable).
    if (res.status === 401)
      throw new CliFailure('Kubernetes cluster unreachable: the server has asked for the client to provide credentials')
    if (res.status < 200 || res.status >= 300) throw new KubeError(res.status, out)
    return out
  }

  async get(kind: string, namespace: string | undefined, name: string): Promise<any | undefined> {
    try {
      return await this.request('GET', kindPath(kind, namespace, name))
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined
      throw e
    }
  }

  async list(kind: string, namespace?: string, labelSelector?: string): Promise<any[]> {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : ''
    return (await this.request('GET', kindPath(kind, namespace) + q)).items
  }

  /** Server-side apply: creates or updates, as helm and eksctl's own manifests would land. */
  async apply(obj: any, manager: string): Promise<any> {
    return this.request(
      'PATCH',
      `${kindPath(obj.kind, obj.metadata.namespace, obj.metadata.name)}?fieldManager=${manager}&force=true`,
      obj,
      'application/apply-patch+yaml',
    )
  }

  async create(obj: any): Promise<any> {
    return this.request('POST', kindPath(obj.kind, obj.metadata.namespace), obj)
  }

  async replace(obj: any): Promise<any> {
    return this.request('PUT', kindPath(obj.kind, obj.metadata.namespace, obj.metadata.name), obj)
  }

  async delete(kind: string, namespace: string | undefined, name: string): Promise<boolean> {
    try {
      await this.request('DELETE', kindPath(kind, namespace, name), { propagationPolicy: 'Background' })
      return true
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return false
      throw e
    }
  }

  async ensureNamespace(name: string): Promise<void> {
    if (!(await this.get('Namespace', undefined, name))) await this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })
  }
}

// --- output -------------------------------------------------------------------------------------

/**
 * eksctl's log line, "2026-11-25 19:00:00 [ℹ]  message", on stdout: eksctl-io/eksctl v0.230.0
 * cmd/eksctl/logger.go:17 (layout), :53 (logger.Writer = os.Stdout; color.Output is stdout too),
 * :90 (`%s [%s]  %s`). Only cobra's `Error: ...` goes to stderr (main.go:104-113).
 */
export function eksLog(symbol: 'ℹ' | '✔' | '!' | '✖', message: string): void {
  const ts = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')
  process.stdout.write(`${ts} [${symbol}]  ${message}\n`)
}

export async function main(run: (argv: string[]) => Promise<void>, onError: (e: CliFailure | Error) => void): Promise<void> {
  try {
    await run(process.argv.slice(2))
    process.exit(0)
  } catch (e) {
    onError(e as Error)
    process.exit(e instanceof CliFailure ? e.code : 1)
  }
}
