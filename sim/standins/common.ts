// What the eksctl and helm stand-ins share: where the simulator is, a small client for the fake
// Kubernetes API, kubeconfig handling, and AWS clients pointed at moto by the usual variables.
import fs from 'node:fs'
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

export interface Kubeconfig {
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
  o: { context: string; clusterName: string; server: string; user: Record<string, unknown>; setCurrent: boolean },
): void {
  const k = readKubeconfig(file)
  k.clusters = [...(k.clusters ?? []).filter((c) => c.name !== o.clusterName), { name: o.clusterName, cluster: { server: o.server } }]
  k.users = [...(k.users ?? []).filter((u) => u.name !== o.context), { name: o.context, user: o.user }]
  k.contexts = [
    ...(k.contexts ?? []).filter((c) => c.name !== o.context),
    { name: o.context, context: { cluster: o.clusterName, user: o.context } },
  ]
  if (o.setCurrent || !k['current-context']) k['current-context'] = o.context
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, YAML.stringify(k), { mode: 0o600 })
}

/** The API server URL of a kubeconfig context (the current one by default). */
export function serverOf(file: string, context?: string): { server: string; context: string; namespace?: string } {
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
  return { server: cluster.cluster.server, context: name, namespace: ctx.context.namespace }
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

export function kindPath(kind: string, namespace?: string, name?: string): string {
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
  constructor(readonly server: string) {}

  async request(method: string, p: string, body?: unknown, contentType = 'application/json'): Promise<any> {
    let res: Response
    try {
      res = await fetch(this.server + p, {
        method,
        headers: { 'Content-Type': contentType, Accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (e) {
      throw new CliFailure(`Kubernetes cluster unreachable: Get "${this.server}${p}": ${(e as Error).message}`)
    }
    const text = await res.text()
    const out = text ? JSON.parse(text) : undefined
    if (!res.ok) throw new KubeError(res.status, out)
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
