// A fault-injecting proxy between the AWS SDK and moto: moto answers instantly and never fails,
// AWS throttles, returns 5xx, drops connections and takes minutes to make a NAT gateway. With
// `sim/cli.ts up --faults RATE`, AWS_ENDPOINT_URL points here and, at RATE, a request gets:
//   - throttling in its protocol's own form: EC2 `RequestLimitExceeded` (503, XML), the query
//     services `Throttling` (400, XML), JSON services `ThrottlingException` (400), REST-JSON
//     services (EKS) 429 `TooManyRequestsException`;
//   - HTTP 500 or 503 (InternalError / ServiceUnavailable);
//   - a dropped connection (reset before any response);
//   - added latency (then answered normally).
// Faults are injected before the request reaches moto, except "lost answers": a mutating request
// with a ClientToken is applied and its answer dropped, and the replay is answered from the first
// answer, as AWS's idempotency tokens promise (moto itself ignores ClientToken).
// Pending states after creation, for --pending-ms (one figure) or --aws-delays (AWS's typical time
// per kind), scaled by --delay-scale: NAT gateways `pending`, instances `pending` without a public
// IP, EKS clusters and managed node groups `CREATING`.
import http from 'node:http'
import { gunzipSync } from 'node:zlib'
import type { AddressInfo } from 'node:net'
import { prng } from './random.ts'
import { iamAction, s3Action } from './iam-actions.ts'

type PendingKind = 'nat' | 'instance' | 'cluster' | 'nodegroup'
export type PendingMs = Record<PendingKind, number>

/** AWS's typical times, unscaled: a NAT gateway ~2 min, an instance ~30 s, an EKS control plane ~10 min, a managed node group ~3 min. */
export const AWS_PENDING_MS: PendingMs = { nat: 120_000, instance: 30_000, cluster: 600_000, nodegroup: 180_000 }

interface FaultOptions {
  target: string
  /** Probability of a fault per request, 0..1. */
  rate: number
  /** How long new NAT gateways, instances, clusters and node groups stay pending, in ms (already scaled): one figure for all, or one per kind. */
  pendingMs: number | PendingMs
  /** Added latency per faulty-latency request, in ms (already scaled). */
  latencyMs: number
  /** Seeded for replays; Math.random when absent. */
  seed?: number
}

/**
 * What the simulator knows better than moto, from the parts of AWS it plays itself (EKS's load
 * balancer controller, sim/kube/load-balancers.ts): a refusal AWS would give where moto allows the
 * call, and answers rewritten to the state AWS would report.
 */
export interface AwsHooks {
  refuse?(
    service: string,
    action: string,
    params: URLSearchParams,
    region: string,
    authorization: string,
    request: { body: string; securityToken?: string; url: string; method: string },
  ): Promise<{ code: string; message: string; status?: number } | undefined>
  rewrite?(service: string, action: string, params: URLSearchParams, text: string): string
  /** An answer for an API moto does not have (REST-JSON services: method and path; JSON services: POST and the operation's name), or undefined to pass the call on. */
  serve?(
    service: string,
    method: string,
    path: string,
    body: string,
    authorization: string,
    region: string,
  ): Promise<{ status: number; body: unknown; errorType?: string } | undefined>
  /** The same for a query-protocol API (IAM, STS, ...): its XML answer, or undefined to pass the call on. */
  serveQuery?(service: string, action: string, params: URLSearchParams, authorization: string): Promise<string | undefined>
}

interface FaultStats {
  requests: number
  injected: Record<string, number>
}

type Protocol = 'ec2' | 'query' | 'json' | 'rest'

/**
 * The access key the simulated Scalar DL tools (the schema loader: sim/kube/images.ts) sign their
 * DynamoDB and Application Auto Scaling requests with: the database's principal, whose policy is
 * `npm run iam-policy -- --database`, not the operator's.
 */
export const DATABASE_KEY = 'schema-loader'

/** The access key id of a SigV4 Authorization header (its credential scope's first part). */
export function signingKey(authorization: string): string | undefined {
  return /Credential=([^/]+)\//.exec(authorization)?.[1]
}

function serviceOf(req: http.IncomingMessage): string {
  const m = /Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))
  return m?.[1] ?? 'unknown'
}

function protocolOf(service: string, req: http.IncomingMessage): Protocol {
  if (service === 'ec2') return 'ec2'
  if (req.headers['x-amz-target']) return 'json'
  if (
    ['iam', 'sts', 'monitoring', 'cloudformation', 'elasticloadbalancing'].includes(service) &&
    String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')
  )
    return 'query'
  return 'rest'
}

function actionOf(proto: Protocol, req: http.IncomingMessage, body: string): string {
  if (proto === 'json') return String(req.headers['x-amz-target']).split('.').pop() ?? ''
  if (proto === 'ec2' || proto === 'query') return new URLSearchParams(body).get('Action') ?? ''
  return `${req.method} ${req.url?.split('?')[0]}`
}

const READ_ONLY = /^(Describe|List|Get|Search|Lookup|BatchGet|Query|Scan|Head)|^GET /

function throttle(proto: Protocol): { status: number; headers: Record<string, string>; body: string } {
  const id = `fault-${Math.random().toString(16).slice(2, 10)}`
  switch (proto) {
    case 'ec2':
      return {
        status: 503,
        headers: { 'content-type': 'text/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>${id}</RequestID></Response>`,
      }
    case 'query':
      return {
        status: 400,
        headers: { 'content-type': 'text/xml' },
        body: `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`,
      }
    case 'json':
      return {
        status: 400,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': id },
        body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }),
      }
    default:
      return {
        status: 429,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException', 'x-amzn-requestid': id },
        body: JSON.stringify({ message: 'Too Many Requests' }),
      }
  }
}

function serverError(proto: Protocol, status: 500 | 503): { status: number; headers: Record<string, string>; body: string } {
  const code = status === 500 ? 'InternalError' : 'ServiceUnavailable'
  const message =
    status === 500 ? 'We encountered an internal error. Please try again.' : 'The service is unavailable. Please try again shortly.'
  if (proto === 'ec2')
    return {
      status,
      headers: { 'content-type': 'text/xml' },
      body: `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>fault</RequestID></Response>`,
    }
  if (proto === 'query')
    return {
      status,
      headers: { 'content-type': 'text/xml' },
      body: `<ErrorResponse><Error><Type>Receiver</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>`,
    }
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': code },
    body: JSON.stringify({ __type: code, message }),
  }
}

/** A 400 client error in the protocol's own form (EC2's `Response/Errors`, the query services' `ErrorResponse`). */
function clientError(
  proto: Protocol,
  code: string,
  message: string,
  status = 400,
  service = '',
): { status: number; headers: Record<string, string>; body: string } {
  // S3 answers errors in its own XML (S3 API reference, "Error responses").
  if (service === 's3')
    return {
      status,
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>sim</RequestId></Error>`,
    }
  if (proto === 'ec2')
    return {
      status,
      headers: { 'content-type': 'text/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>sim</RequestID></Response>`,
    }
  if (proto === 'query')
    return {
      status,
      headers: { 'content-type': 'text/xml' },
      body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>sim</RequestId></ErrorResponse>`,
    }
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': code },
    body: JSON.stringify({ __type: code, message }),
  }
}

/**
 * Rewrites, for each anchor, the part of the answer between it and the next anchor (the rest of
 * that resource's element in an XML answer) with `edit(id, part)`.
 */
export function rewriteEach(text: string, anchor: RegExp, edit: (id: string, part: string) => string): string {
  const hits = [...text.matchAll(anchor)]
  if (!hits.length) return text
  let out = text.slice(0, hits[0]!.index! + hits[0]![0].length)
  hits.forEach((h, i) => {
    const start = h.index! + h[0].length
    const end = i + 1 < hits.length ? hits[i + 1]!.index! : text.length
    out += edit(h[1]!, text.slice(start, end)) + (i + 1 < hits.length ? hits[i + 1]![0] : '')
  })
  return out
}

/** For each anchor whose id is young, replaces the first `from` in the rest of that resource's element. */
function rewriteAfter(text: string, anchor: RegExp, young: (id: string) => boolean, from: string | RegExp, to: string): string {
  return rewriteEach(text, anchor, (id, part) => (young(id) ? part.replace(from, to) : part))
}

/** An EC2 request's parameters, its ClientToken aside, in one order: what a replay must repeat. */
function requestFingerprint(body: string): string {
  const params = [...new URLSearchParams(body)].filter(([k]) => k !== 'ClientToken')
  return JSON.stringify(params.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

export class FaultProxy {
  readonly stats: FaultStats = { requests: 0, injected: {} }
  /**
   * Every IAM action the requests needed (sim/iam-actions.ts), with how often, by who asked: the
   * database's principal (the key Scalar DL's own tools sign with: DATABASE_KEY) apart from the
   * operator's (the runbook, eksctl, the AWS CLI): what each one's policy must allow.
   */
  readonly actions = { operator: new Map<string, number>(), database: new Map<string, number>() }
  private server?: http.Server
  private readonly random: () => number
  /** When each NAT gateway, instance and cluster was created (first seen in a create answer). */
  private readonly born = new Map<string, number>()
  /** Answers of mutating requests by ClientToken, replayed as AWS does. */
  private readonly tokens = new Map<string, { status: number; headers: http.OutgoingHttpHeaders; body: Buffer; request: string }>()
  url = ''
  readonly hooks: AwsHooks[] = []

  constructor(private readonly o: FaultOptions) {
    this.random = o.seed === undefined ? Math.random : prng(o.seed)
  }

  async listen(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res))
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this.url
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()))
  }

  private count(kind: string): void {
    this.stats.injected[kind] = (this.stats.injected[kind] ?? 0) + 1
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    this.stats.requests++
    const service = serviceOf(req)
    const proto = protocolOf(service, req)
    const action = actionOf(proto, req, body.toString())
    if (!req.url?.startsWith('/moto-api')) {
      // S3's REST operations by method, path and subresource, as IAM names them (HeadBucket is s3:ListBucket).
      const needed = service === 's3' ? s3Action(req.method ?? 'GET', req.url ?? '/').action : iamAction(service, action)
      const who = signingKey(String(req.headers.authorization ?? '')) === DATABASE_KEY ? this.actions.database : this.actions.operator
      who.set(needed, (who.get(needed) ?? 0) + 1)
    }
    const token = proto === 'ec2' ? new URLSearchParams(body.toString()).get('ClientToken') : undefined
    const replay = token ? this.tokens.get(`${action}:${token}`) : undefined
    if (replay) {
      // The same token with other parameters: IdempotentParameterMismatch, for as long as EC2
      // keeps the token ("valid for at least 24 hours after the termination of the instance"; here
      // for the simulator's life): https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html,
      // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Run_Instance_Idempotency.html
      if (replay.request !== requestFingerprint(body.toString())) {
        const e = clientError(
          proto,
          'IdempotentParameterMismatch',
          'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
        )
        res.writeHead(e.status, e.headers).end(e.body)
        return
      }
      res.writeHead(replay.status, replay.headers).end(replay.body)
      return
    }
    // Control endpoints of moto (reset, data) pass untouched.
    if (req.url?.startsWith('/moto-api')) return this.forward(req, res, body, service, action)
    // A lost answer is decided here and applied at the end: the request still meets the refusals
    // (IAM, the strict EC2 rules) and the answer's rewrites (a bastion's boot reads its UserData)
    // that every request meets. (Forwarded from here, with no parameters, it once skipped both: a
    // rehearsal's bastion never booted.)
    let loseAnswer = false
    if (this.random() < this.o.rate) {
      const r = this.random()
      const mutating = !READ_ONLY.test(action)
      if (r < 0.4) {
        this.count('throttle')
        const t = throttle(proto)
        res.writeHead(t.status, t.headers).end(t.body)
        return
      }
      if (r < 0.6) {
        const status = r < 0.5 ? 500 : 503
        this.count(`http-${status}`)
        const e = serverError(proto, status)
        res.writeHead(e.status, e.headers).end(e.body)
        return
      }
      if (r < 0.75) {
        if (mutating && token) {
          // Applied, answer lost: the retry with the same token is answered from the cache.
          this.count('lost-answer')
          loseAnswer = true
        } else {
          this.count('dropped-connection')
          req.socket.destroy()
          return
        }
      } else {
        this.count('latency')
        await new Promise((r2) => setTimeout(r2, this.o.latencyMs))
      }
    }
    const params = proto === 'ec2' || proto === 'query' ? new URLSearchParams(body.toString()) : new URLSearchParams()
    const authorization = String(req.headers.authorization ?? '')
    const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(authorization)?.[1] ?? 'us-east-1'
    for (const h of this.hooks) {
      const securityToken = req.headers['x-amz-security-token'] ? String(req.headers['x-amz-security-token']) : undefined
      const refusal = await h.refuse?.(service, action, params, region, authorization, {
        body: body.toString(),
        securityToken,
        url: req.url ?? '/',
        method: req.method ?? 'GET',
      })
      if (refusal) {
        const e = clientError(proto, refusal.code, refusal.message, refusal.status, service)
        res.writeHead(e.status, e.headers).end(e.body)
        return
      }
      if (proto === 'query') {
        const xml = await h.serveQuery?.(service, action, params, authorization)
        if (xml) {
          res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': `sim-${Date.now()}` }).end(xml)
          return
        }
      }
      // REST calls by method and path; JSON calls (X-Amz-Target) by their operation's name as the path.
      const answer =
        proto === 'rest' || proto === 'json'
          ? await h.serve?.(
              service,
              req.method ?? 'GET',
              proto === 'json' ? action : (req.url ?? '/'),
              body.toString(),
              authorization,
              region,
            )
          : undefined
      if (answer) {
        res
          .writeHead(answer.status, {
            'content-type': 'application/json',
            'x-amzn-requestid': `sim-${Date.now()}`,
            ...(answer.errorType ? { 'x-amzn-errortype': answer.errorType } : {}),
          })
          .end(JSON.stringify(answer.body))
        return
      }
    }
    await this.forward(req, loseAnswer ? undefined : res, body, service, action, token ?? undefined, params)
    if (loseAnswer) req.socket.destroy()
  }

  private async forward(
    req: http.IncomingMessage,
    res: http.ServerResponse | undefined,
    body: Buffer,
    service: string,
    action: string,
    token?: string,
    params = new URLSearchParams(),
  ): Promise<void> {
    const headers = { ...req.headers }
    delete headers['content-length']
    // moto 5.2.1 decompresses a gzip body twice for the JSON protocol (BadGzipFile: the AWS SDK
    // gzips CloudWatch PutMetricData bodies over 10 KB): moto gets the plain body, which AWS
    // accepts as well.
    if (String(headers['content-encoding'] ?? '') === 'gzip' && body[0] === 0x1f && body[1] === 0x8b) {
      body = gunzipSync(body)
      delete headers['content-encoding']
    }
    let out: Response
    try {
      out = await fetch(`${this.o.target}${req.url}`, {
        method: req.method,
        headers: headers as Record<string, string>,
        body: ['GET', 'HEAD'].includes(req.method ?? '') ? undefined : new Uint8Array(body),
      })
    } catch (e) {
      res?.writeHead(502, { 'content-type': 'text/plain' }).end(`fault proxy: moto unreachable: ${(e as Error).message}`)
      return
    }
    let text = Buffer.from(await out.arrayBuffer())
    // Answers are rewritten as text; an object's bytes (S3, a presigned GET) pass as they are.
    if (out.ok && /json|xml|text/.test(out.headers.get('content-type') ?? 'text'))
      text = Buffer.from(
        this.hooks.reduce((t, h) => h.rewrite?.(service, action, params, t) ?? t, this.pending(service, action, text.toString())),
      )
    const outHeaders: http.OutgoingHttpHeaders = {}
    out.headers.forEach((v, k) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) outHeaders[k] = v
    })
    if (token && out.ok)
      this.tokens.set(`${action}:${token}`, {
        status: out.status,
        headers: outHeaders,
        body: text,
        request: requestFingerprint(body.toString()),
      })
    res?.writeHead(out.status, outHeaders).end(text)
  }

  /** Records creations and rewrites states to pending while young. */
  private pending(service: string, action: string, text: string): string {
    const p = this.o.pendingMs
    const ms = (kind: PendingKind) => (typeof p === 'number' ? p : p[kind])
    if (!(typeof p === 'number' ? p : Object.values(p).some(Boolean))) return text
    const now = Date.now()
    const young = (kind: PendingKind) => (id: string) => now - (this.born.get(id) ?? 0) < ms(kind)
    if (service === 'ec2' && action === 'CreateNatGateway')
      for (const m of text.matchAll(/<natGatewayId>(nat-[0-9a-f]+)<\/natGatewayId>/g)) this.born.set(m[1]!, now)
    if (service === 'ec2' && action === 'RunInstances')
      for (const m of text.matchAll(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g)) this.born.set(m[1]!, now)
    if (service === 'eks' && action === 'POST /clusters') {
      const m = /"name"\s*:\s*"([^"]+)"/.exec(text)
      if (m) this.born.set(`eks:${m[1]}`, now)
    }
    const ng = /^(POST|GET) \/clusters\/([^/]+)\/node-groups(?:\/([^/]+))?$/.exec(action)
    if (service === 'eks' && ng?.[1] === 'POST') {
      const m = /"nodegroupName"\s*:\s*"([^"]+)"/.exec(text)
      if (m) this.born.set(`eks-ng:${decodeURIComponent(ng[2]!)}/${m[1]}`, now)
    }
    if (service === 'ec2' && (action === 'DescribeNatGateways' || action === 'CreateNatGateway')) {
      return rewriteAfter(
        text,
        /<natGatewayId>(nat-[0-9a-f]+)<\/natGatewayId>/g,
        young('nat'),
        '<state>available</state>',
        '<state>pending</state>',
      )
    }
    if (service === 'ec2' && (action === 'DescribeInstances' || action === 'RunInstances')) {
      return rewriteAfter(
        text,
        /<instanceId>(i-[0-9a-f]+)<\/instanceId>/g,
        young('instance'),
        /<instanceState>\s*<code>16<\/code>\s*<name>running<\/name>\s*<\/instanceState>/,
        '<instanceState><code>0</code><name>pending</name></instanceState>',
      )
    }
    if (service === 'eks' && /^GET \/clusters\/[^/]+$/.test(action)) {
      const name = decodeURIComponent(action.split('/')[2]!)
      if (young('cluster')(`eks:${name}`)) return text.replace(/"status"\s*:\s*"ACTIVE"/, '"status": "CREATING"')
    }
    if (service === 'eks' && ng?.[1] === 'GET' && ng[3]) {
      if (young('nodegroup')(`eks-ng:${decodeURIComponent(ng[2]!)}/${decodeURIComponent(ng[3])}`))
        return text.replace(/"status"\s*:\s*"ACTIVE"/, '"status": "CREATING"')
    }
    return text
  }
}
