// The HTTP side of one cluster's API server: URL routing, the verbs, watch streams, discovery,
// OpenAPI, Table responses and protobuf request bodies.
import type { IncomingMessage, ServerResponse } from 'node:http'
import YAML from 'yaml'
import { applyDefaults } from './defaults.ts'
import { validate } from './validation.ts'
import {
  aggregatedDiscovery,
  AGGREGATED_CT,
  legacyApiVersions,
  legacyGroupList,
  legacyResourceList,
  openapiFor,
  openapiRoot,
} from './discovery.ts'
import { jsonPatch, mergePatch, PatchError, serverSideApply, strategicMerge } from './patch.ts'
import { decodeProtobuf, UnsupportedProtobuf } from './protobuf.ts'
import { byResource, type ResourceType } from './resources.ts'
import { fieldsMatch, labelsMatch } from './selectors.ts'
import { ApiError, notFound, type Obj, type Store, type StoreEvent } from './store.ts'
import { TABLE_CT, toTable } from './tables.ts'

export interface ApiOptions {
  /** The minor version /version reports: it picks the kubectl binary the gcloud dispatcher runs. */
  serverMinor: number
  /** Close every watch after this many seconds (0: only timeoutSeconds). */
  watchMaxSeconds: number
  host: () => string
  /** Share of kubectl invocations (0..1) that meet one answer of an overloaded API server: 503, 500 or a reset connection. */
  faultRate?: () => number
  /** Who may do what (an EKS cluster's authorizer, sim/eks-auth.ts); none: anyone may do anything. */
  authorize?: (authorization: string | undefined, method: string, url: URL) => Promise<ApiError | undefined>
  /** Whether the caller reaches this endpoint from where it stands (sim/where.ts); none: always. */
  reachable?: () => Promise<boolean>
}

interface Route {
  t: ResourceType
  namespace?: string
  name?: string
  sub?: string
}

function parseRoute(path: string): Route | undefined {
  const parts = path.split('/').filter(Boolean)
  let group = ''
  let rest: string[]
  if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2)
  else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!
    if (parts[2] !== 'v1') return undefined
    rest = parts.slice(3)
  } else return undefined
  let namespace: string | undefined
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]
    rest = rest.slice(2)
  }
  const t = byResource(group, rest[0] ?? '')
  if (!t) return undefined
  if (!t.namespaced && namespace) return undefined
  return { t, namespace, name: rest[1], sub: rest[2] }
}

function send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body)
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' })
  res.end(text)
}

function status(res: ServerResponse, e: ApiError): void {
  send(res, e.code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: e.message,
    reason: e.reason,
    ...(e.details ? { details: e.details } : {}),
    code: e.code,
  })
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

function parseBody(req: IncomingMessage, raw: Buffer): any {
  const ct = req.headers['content-type'] ?? ''
  if (ct.includes('application/vnd.kubernetes.protobuf')) {
    try {
      return decodeProtobuf(raw)
    } catch (e) {
      if (e instanceof UnsupportedProtobuf) throw new ApiError(415, 'UnsupportedMediaType', e.message)
      throw new ApiError(400, 'BadRequest', `cannot decode protobuf body: ${(e as Error).message}`)
    }
  }
  const text = raw.toString('utf8')
  if (!text.trim()) return {}
  try {
    return ct.includes('yaml') ? YAML.parse(text) : JSON.parse(text)
  } catch (e) {
    throw new ApiError(400, 'BadRequest', `the body of the request was in an unknown format: ${(e as Error).message}`)
  }
}

function scaleOf(o: Obj) {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 1 },
    status: {
      replicas: o.status?.replicas ?? 0,
      selector: Object.entries(o.spec?.selector?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  }
}

function applyPatch(ct: string, base: any, body: any): any {
  if (ct === 'application/strategic-merge-patch+json') return strategicMerge(base, body)
  if (ct === 'application/merge-patch+json') return mergePatch(base, body)
  if (ct === 'application/json-patch+json') return jsonPatch(base, body)
  throw new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
  )
}

export class ClusterApi {
  /** Server-side apply: each field manager's last applied configuration, by object uid. */
  private readonly applied = new Map<string, unknown>()
  /** kubectl invocations seen (by their Kubectl-Session header): true while one still has a fault to meet. */
  private readonly sessions = new Map<string, boolean>()

  constructor(
    private readonly store: Store,
    private readonly opts: ApiOptions,
  ) {}

  handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim')
    if (this.opts.reachable && !(await this.opts.reachable())) {
      req.socket.destroy()
      return
    }
    if (this.faultDue(req, url)) {
      const r = Math.random()
      if (r < 0.4) return status(res, new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'))
      if (r < 0.7) return status(res, new ApiError(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out'))
      req.socket.destroy()
      return
    }
    try {
      const denied = await this.opts.authorize?.(req.headers.authorization, req.method ?? 'GET', url)
      if (denied) return status(res, denied)
      await this.route(req, res, url)
    } catch (e) {
      if (e instanceof ApiError) return status(res, e)
      if (e instanceof PatchError) return status(res, new ApiError(422, 'Invalid', e.message))
      status(res, new ApiError(500, 'InternalError', (e as Error).stack ?? String(e)))
    }
  }

  /**
   * Whether this request meets an injected fault. Only kubectl's requests (the stand-ins model their
   * tools' own retries elsewhere), and at most one per kubectl invocation: kubectl sends one
   * Kubectl-Session UUID with every request of an invocation (kubernetes/kubernetes v1.32.4,
   * staging/src/k8s.io/cli-runtime/pkg/genericclioptions/command_headers.go, kubectlSessionHeader,
   * one uuid per ParseCommandHeaders). An invocation is picked with the given rate; its fault
   * lands on one of its requests at random, so a fault can fall after a partial change (a PATCH
   * done, the next not). Rating each request instead made a many-request command fail five times in a
   * row often enough to fail a rehearsal on nothing but bad luck.
   */
  private faultDue(req: IncomingMessage, url: URL): boolean {
    const rate = this.opts.faultRate?.() ?? 0
    const session = req.headers['kubectl-session']
    if (rate <= 0 || typeof session !== 'string' || url.pathname.startsWith('/version')) return false
    if (!/^kubectl/.test(String(req.headers['user-agent'] ?? ''))) return false
    let armed = this.sessions.get(session)
    if (armed === undefined) {
      armed = Math.random() < rate
      if (this.sessions.size >= 10_000) this.sessions.delete(this.sessions.keys().next().value as string)
    }
    const now = armed && Math.random() < 0.5
    this.sessions.set(session, armed && !now)
    return now
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const accept = req.headers.accept ?? ''
    if (path === '/version') return send(res, 200, this.version())
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      return void res.end('ok')
    }
    if (path === '/api' || path === '/apis') {
      if (accept.includes('apidiscovery.k8s.io')) return send(res, 200, aggregatedDiscovery(path === '/api'), AGGREGATED_CT)
      return send(res, 200, path === '/api' ? legacyApiVersions(this.opts.host()) : legacyGroupList())
    }
    if (path === '/api/v1' || /^\/apis\/[^/]+\/v1$/.test(path)) {
      const group = path === '/api/v1' ? '' : path.split('/')[2]!
      const list = legacyResourceList(group, 'v1')
      return list ? send(res, 200, list) : status(res, new ApiError(404, 'NotFound', 'the server could not find the requested resource'))
    }
    if (path === '/openapi/v3') return send(res, 200, openapiRoot())
    if (path.startsWith('/openapi/v3/')) {
      const doc = openapiFor(path.slice('/openapi/v3/'.length))
      return doc ? send(res, 200, doc) : status(res, new ApiError(404, 'NotFound', 'the server could not find the requested resource'))
    }
    const route = parseRoute(path)
    if (!route) return status(res, new ApiError(404, 'NotFound', 'the server could not find the requested resource'))
    // /api/v1/namespaces/NAME is the namespace itself.
    if (route.t.resource === 'namespaces' && route.namespace === undefined) {
      /* cluster-scoped: fine */
    }
    const q = url.searchParams
    switch (req.method) {
      case 'GET':
        if (!route.name)
          return q.get('watch') === 'true' || q.get('watch') === '1' ? this.watch(req, res, route, q) : this.list(res, route, q, accept)
        return this.get(res, route, accept)
      case 'POST':
        return this.create(req, res, route, q)
      case 'PUT':
        return this.update(req, res, route, q)
      case 'PATCH':
        return this.patch(req, res, route, q)
      case 'DELETE':
        return this.remove(req, res, route, q)
      default:
        return status(res, new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported`))
    }
  }

  version() {
    const minor = String(this.opts.serverMinor)
    return {
      major: '1',
      minor,
      emulationMajor: '1',
      emulationMinor: minor,
      minCompatibilityMajor: '1',
      minCompatibilityMinor: String(this.opts.serverMinor - 1),
      gitVersion: `v1.${minor}.4-eks-sim`,
      gitCommit: '0000000000000000000000000000000000000000',
      gitTreeState: 'clean',
      buildDate: '2026-01-01T00:00:00Z',
      goVersion: 'go1.23.8',
      compiler: 'gc',
      platform: 'linux/amd64',
    }
  }

  private selected(route: Route, q: URLSearchParams): (o: Obj) => boolean {
    const ls = q.get('labelSelector')
    const fs = q.get('fieldSelector')
    try {
      labelsMatch(ls, {})
      fieldsMatch(fs, {})
    } catch (e) {
      throw new ApiError(400, 'BadRequest', (e as Error).message)
    }
    return (o) =>
      (!route.namespace || !route.t.namespaced || o.metadata.namespace === route.namespace) &&
      labelsMatch(ls, o.metadata.labels) &&
      fieldsMatch(fs, o)
  }

  private list(res: ServerResponse, route: Route, q: URLSearchParams, accept: string): void {
    const items = this.store.list(route.t, route.namespace).filter(this.selected(route, q))
    const rv = String(this.store.resourceVersion)
    if (accept.includes('as=Table')) return send(res, 200, toTable(route.t, items, rv), TABLE_CT)
    send(res, 200, {
      kind: `${route.t.kind}List`,
      apiVersion: route.t.group ? `${route.t.group}/v1` : 'v1',
      metadata: { resourceVersion: rv },
      items,
    })
  }

  private get(res: ServerResponse, route: Route, accept: string): void {
    const o = this.store.mustGet(route.t, route.namespace, route.name!)
    if (route.sub === 'log') {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      return void res.end(
        this.store.logs.get(`${o.metadata.namespace}/${o.metadata.name}`) ??
          `(simulated) ${o.metadata.name}: ${o.status?.phase ?? 'Pending'}\n`,
      )
    }
    if (route.sub === 'scale') return send(res, 200, scaleOf(o))
    if (accept.includes('as=Table')) return send(res, 200, toTable(route.t, [o], String(this.store.resourceVersion)), TABLE_CT)
    send(res, 200, o)
  }

  private watch(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): void {
    const match = this.selected(route, q)
    const rvParam = q.get('resourceVersion')
    const since = rvParam && rvParam !== '0' ? Number(rvParam) : undefined
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' })
    // Send the headers now: a watch with nothing to report yet must still be established, or the
    // client cannot time out or cancel it cleanly.
    res.flushHeaders()
    const write = (type: string, object: unknown) => res.write(JSON.stringify({ type, object }) + '\n')
    const deliver = (e: StoreEvent) => {
      if (e.t !== route.t) return
      const now = e.type !== 'DELETED' && match(e.object)
      const before = e.old ? match(e.old) : false
      if (e.type === 'DELETED') {
        if (before) write('DELETED', e.object)
      } else if (now && (e.type === 'ADDED' || !before)) write('ADDED', e.object)
      else if (now) write('MODIFIED', e.object)
      else if (before) write('DELETED', e.object)
    }
    if (since === undefined) {
      for (const o of this.store.list(route.t, route.namespace).filter(match)) write('ADDED', o)
      if (q.get('sendInitialEvents') === 'true')
        write('BOOKMARK', {
          kind: route.t.kind,
          apiVersion: route.t.group ? `${route.t.group}/v1` : 'v1',
          metadata: { resourceVersion: String(this.store.resourceVersion), annotations: { 'k8s.io/initial-events-end': 'true' } },
        })
    } else if (since < this.store.oldestReplayable - 1) {
      write('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${since} (${this.store.oldestReplayable})`,
        reason: 'Expired',
        code: 410,
      })
      return void res.end()
    } else {
      for (const e of this.store.events) if (e.rv > since) deliver(e)
    }
    const unsubscribe = this.store.subscribe(deliver)
    const limits = [Number(q.get('timeoutSeconds') ?? 0), this.opts.watchMaxSeconds].filter((n) => n > 0)
    const timer = limits.length ? setTimeout(() => res.end(), Math.min(...limits) * 1000) : undefined
    const close = () => {
      unsubscribe()
      if (timer) clearTimeout(timer)
    }
    req.on('close', close)
    res.on('close', close)
  }

  /** Defaults, then the write; with dryRun=All nothing is stored. */
  private async create(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): Promise<void> {
    if (route.name) throw new ApiError(405, 'MethodNotAllowed', 'POST to a named object is not supported')
    const body = parseBody(req, await readBody(req)) as Obj
    body.metadata ??= {} as Obj['metadata']
    if (route.t.namespaced) {
      if (body.metadata.namespace && route.namespace && body.metadata.namespace !== route.namespace) {
        throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request')
      }
      body.metadata.namespace = route.namespace ?? body.metadata.namespace ?? 'default'
    }
    applyDefaults(route.t.kind, body, undefined, this.store)
    validate(route.t.kind, body)
    if (q.get('dryRun') === 'All') {
      if (this.store.get(route.t, body.metadata.namespace, body.metadata.name))
        throw new ApiError(409, 'AlreadyExists', `${route.t.resource} "${body.metadata.name}" already exists`, {
          name: body.metadata.name,
          kind: route.t.resource,
        })
      return send(res, 201, { ...body, apiVersion: route.t.group ? `${route.t.group}/v1` : 'v1', kind: route.t.kind })
    }
    send(res, 201, this.store.create(route.t, body))
  }

  /** The next state of an object, status kept apart from spec as the status subresource does. */
  private write(route: Route, old: Obj, next: Obj, q: URLSearchParams, expectedRv?: string): Obj {
    next.metadata = { ...next.metadata, name: old.metadata.name }
    if (route.t.namespaced) next.metadata.namespace = old.metadata.namespace
    if (route.t.subresources.includes('status')) {
      if (route.sub === 'status') next = { ...old, status: next.status }
      else next.status = old.status
    }
    applyDefaults(route.t.kind, next, old, this.store)
    if (route.sub !== 'status') validate(route.t.kind, next)
    if (route.t.kind === 'Job' && route.sub !== 'status') {
      for (const field of ['template', 'selector', 'completions'] as const) {
        if (JSON.stringify(next.spec?.[field]) !== JSON.stringify(old.spec?.[field])) {
          throw new ApiError(
            422,
            'Invalid',
            `Job.batch "${old.metadata.name}" is invalid: spec.${field}: Invalid value: ${JSON.stringify(next.spec?.[field]).slice(0, 120)}: field is immutable`,
            { name: old.metadata.name, group: 'batch', kind: 'Job' },
          )
        }
      }
    }
    if (q.get('dryRun') === 'All') return next
    return this.store.update(route.t, next, expectedRv)
  }

  private async update(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): Promise<void> {
    const body = parseBody(req, await readBody(req)) as Obj
    const old = this.store.mustGet(route.t, route.namespace, route.name!)
    if (route.sub === 'scale')
      return send(
        res,
        200,
        scaleOf(
          this.write(
            { ...route, sub: undefined },
            old,
            { ...structuredClone(old), spec: { ...old.spec, replicas: body.spec?.replicas } },
            q,
          ),
        ),
      )
    if (body.metadata?.name && body.metadata.name !== route.name)
      throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL')
    send(res, 200, this.write(route, old, body, q, body.metadata?.resourceVersion))
  }

  private async patch(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): Promise<void> {
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim()
    const body = parseBody(req, await readBody(req))
    const old = this.store.get(route.t, route.namespace, route.name!)
    if (ct === 'application/apply-patch+yaml') {
      const manager = q.get('fieldManager') ?? 'unknown'
      if (!old) {
        const created = {
          ...structuredClone(body),
          metadata: {
            ...(body.metadata ?? {}),
            name: route.name,
            ...(route.t.namespaced ? { namespace: route.namespace ?? 'default' } : {}),
          },
        }
        applyDefaults(route.t.kind, created, undefined, this.store)
        validate(route.t.kind, created)
        if (q.get('dryRun') === 'All') return send(res, 201, created)
        const obj = this.store.create(route.t, created)
        this.applied.set(`${obj.metadata.uid}/${manager}`, structuredClone(body))
        return send(res, 201, obj)
      }
      const key = `${old.metadata.uid}/${manager}`
      const next = serverSideApply(structuredClone(old), body, this.applied.get(key))
      const out = this.write(route, old, next, q)
      if (q.get('dryRun') !== 'All') this.applied.set(key, structuredClone(body))
      return send(res, 200, out)
    }
    if (!old) throw notFound(route.t, route.name!)
    if (route.sub === 'scale') {
      const scale = applyPatch(ct, scaleOf(old), body)
      const out = this.write(
        { ...route, sub: undefined },
        old,
        { ...structuredClone(old), spec: { ...old.spec, replicas: scale.spec?.replicas } },
        q,
      )
      return send(res, 200, scaleOf(out))
    }
    send(res, 200, this.write(route, old, applyPatch(ct, structuredClone(old), body), q))
  }

  private async remove(req: IncomingMessage, res: ServerResponse, route: Route, q: URLSearchParams): Promise<void> {
    await readBody(req) // DeleteOptions: propagation is always background here
    if (!route.name) {
      const gone = this.store.list(route.t, route.namespace).filter(this.selected(route, q))
      if (q.get('dryRun') !== 'All') for (const o of gone) this.store.delete(route.t, o.metadata.namespace, o.metadata.name)
      return send(res, 200, {
        kind: `${route.t.kind}List`,
        apiVersion: route.t.group ? `${route.t.group}/v1` : 'v1',
        metadata: {},
        items: gone,
      })
    }
    const o = this.store.mustGet(route.t, route.namespace, route.name)
    if (q.get('dryRun') === 'All') return send(res, 200, o)
    send(res, 200, this.store.delete(route.t, route.namespace, route.name))
  }
}
