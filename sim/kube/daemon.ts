// The simulator's long-running process, started detached by `sim/cli.ts up`: a control API on a
// loopback port, and one fake Kubernetes API server per cluster, each on its own port.
//   node --import tsx sim/kube/daemon.ts --state-dir DIR [--server-minor 32] [--watch-max-seconds N]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ROOT as repoRoot } from '../../scripts/bundles.ts'
import { GetInstanceProfileCommand, IAMClient } from '@aws-sdk/client-iam'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { AWS_PENDING_MS, FaultProxy, signingKey, type PendingMs } from '../faults.ts'
import { CloudWatchFeed } from './cloudwatch.ts'
import { Cluster, type NodeSpec } from './cluster.ts'
import { AWS_KUBE_MS, DEFAULT_KNOBS, type Knobs } from './controllers.ts'
import { DAEMON_OPTIONS, pairs } from './flags.ts'
import { pendingFlag } from './pending.ts'
import { awsHooks, InTreeLoadBalancers } from './load-balancers.ts'
import { FrontDoors } from './front-door.ts'
import { strictEc2Hooks } from '../strict-ec2.ts'
import { appAutoScalingHooks } from '../app-autoscaling.ts'
import { IamEnforcement } from '../iam-enforce.ts'
import { failedStackHooks } from '../failed-stacks.ts'
import { ClusterUpdates } from '../eks-updates.ts'
import { EksAccess } from '../eks-access.ts'
import { accountHooks } from '../aws-layer.ts'
import { PodIdentity } from '../eks-pod-identity.ts'
import { BootstrapDownloads } from '../bootstrap-downloads.ts'
import { SimulatedHosts } from '../ssm-hosts.ts'
import { HostImds } from '../host-imds.ts'
import { agentCredentials } from './agent-credentials.ts'
import { eksAuthorizer } from '../eks-auth.ts'
import { caFile, tlsMaterial } from '../tls.ts'
import { HostCallers } from '../callers.ts'
import { Whereabouts } from '../where.ts'
import { byResource } from './resources.ts'
import { labelsMatch } from './selectors.ts'
import { managedNodeGroupHooks } from './managed-nodes.ts'
import { motoCaller, motoIamArn, ownAws } from '../own-aws.ts'

const { values: given } = parseArgs({ options: { 'state-dir': { type: 'string' }, ...DAEMON_OPTIONS } })
// Options not given fall back to SIM_* environment variables, then to these defaults.
const values = {
  ...given,
  'server-minor': given['server-minor'] ?? process.env.SIM_SERVER_MINOR ?? '32',
  'watch-max-seconds': given['watch-max-seconds'] ?? process.env.SIM_WATCH_MAX_SECONDS ?? '0',
  'pod-start-ms': given['pod-start-ms'] ?? process.env.SIM_POD_START_MS,
  'job-duration-ms': given['job-duration-ms'] ?? process.env.SIM_JOB_DURATION_MS,
  'lb-delay-ms': given['lb-delay-ms'] ?? process.env.SIM_LB_DELAY_MS,
  'fail-jobs': given['fail-jobs'] ?? process.env.SIM_FAIL_JOBS,
  'cloudwatch-interval-ms': given['cloudwatch-interval-ms'] ?? process.env.SIM_CLOUDWATCH_INTERVAL_MS,
}
// AWS's delays, scaled: a NAT gateway or an EKS cluster takes minutes on AWS; --delay-scale 0.01
// makes that seconds here. Latency faults use the same scale.
const scale = Number(values['delay-scale'] ?? 0.01)
// --aws-delays: every kind takes AWS's typical time (scaled), Pods, Jobs and load balancers too.
const awsDelays = Boolean(values['aws-delays'])
// The CloudWatch agent and Fluent Bit send once a round: the agent's metrics_collection_interval
// is 60 s by default (CloudWatch agent configuration file reference, "agent" section), scaled with
// --aws-delays; 2 s otherwise, for tests that read what arrives.
const cloudwatchIntervalMs = Number(values['cloudwatch-interval-ms'] ?? (awsDelays ? 60_000 * scale : 2000))
const perKind = (ms: (kind: keyof PendingMs) => number) =>
  Object.fromEntries(Object.keys(AWS_PENDING_MS).map((k) => [k, ms(k as keyof PendingMs) * scale])) as PendingMs
const pendingMs =
  awsDelays && values['pending-ms'] === undefined ? perKind((k) => AWS_PENDING_MS[k]) : pendingFlag(values['pending-ms'] ?? '180000', scale)
// The AWS layer is always in front of moto: EC2's idempotency tokens (moto ignores them) are
// AWS's default behaviour. Faults, pending states and latency only with --faults, --aws-delays
// or --pending-ms.
const shaped = values.faults !== undefined || awsDelays || values['pending-ms'] !== undefined
const proxy = process.env.AWS_ENDPOINT_URL
  ? new FaultProxy({
      target: process.env.AWS_ENDPOINT_URL,
      rate: Number(values.faults ?? 0),
      pendingMs: shaped ? pendingMs : 0,
      latencyMs: 2000 * scale,
      seed: values['fault-seed'] === undefined ? undefined : Number(values['fault-seed']),
    })
  : undefined

const stateDir = path.resolve(values['state-dir'] ?? '.sim')
const knobs: Knobs = {
  podStartMs: Number(values['pod-start-ms'] ?? (awsDelays ? AWS_KUBE_MS.podStartMs * scale : DEFAULT_KNOBS.podStartMs)),
  jobDurationMs: Number(values['job-duration-ms'] ?? (awsDelays ? AWS_KUBE_MS.jobDurationMs * scale : DEFAULT_KNOBS.jobDurationMs)),
  lbDelayMs: Number(values['lb-delay-ms'] ?? (awsDelays ? AWS_KUBE_MS.lbDelayMs * scale : DEFAULT_KNOBS.lbDelayMs)),
  failJobs: values['fail-jobs'] ?? DEFAULT_KNOBS.failJobs,
  apiFaultRate: Number(values['api-faults'] ?? DEFAULT_KNOBS.apiFaultRate),
  // The one DynamoDB key pair the simulated AWS accepts from Scalar DL (ID:SECRET), from the
  // environment so that it is never on a command line; unset: any well-formed key.
  dbCredentials: process.env.SIM_DB_CREDENTIALS ?? DEFAULT_KNOBS.dbCredentials,
  caller: values.caller ?? DEFAULT_KNOBS.caller,
  eksctlWaitMs: 25 * 60_000 * scale,
  eksVersionStatus: pairs(values['eks-version-status'], '--eks-version-status'),
  quotas: Object.fromEntries(Object.entries(pairs(values.quota, '--quota')).map(([k, v]) => [k, Number(v)])),
  accessEntryDelayMs: Number(values['access-entry-delay-ms'] ?? DEFAULT_KNOBS.accessEntryDelayMs),
  // cloud-init reaches the user data a while after the instance is running (a minute on AWS, scaled, with --aws-delays).
  userDataDelayMs: Number(values['user-data-delay-ms'] ?? (awsDelays ? 60_000 * scale : DEFAULT_KNOBS.userDataDelayMs)),
  bootstrapFault: values['bootstrap-fault'] ?? DEFAULT_KNOBS.bootstrapFault,
}
const clusters = new Map<string, Cluster>()
const feeds = new Map<string, CloudWatchFeed>()
/** EKS's load balancer controller per cluster made by the eksctl stand-in (an EKS cluster in moto). */
const balancers = new Map<string, InTreeLoadBalancers>()
if (proxy && process.env.AWS_ENDPOINT_URL) proxy.hooks.push(awsHooks(() => balancers.values(), process.env.AWS_ENDPOINT_URL))
// EC2's refusals moto does not make (sim/strict-ec2.ts).
if (proxy && process.env.AWS_ENDPOINT_URL) proxy.hooks.push(strictEc2Hooks(process.env.AWS_ENDPOINT_URL))
// DeregisterScalableTarget deletes the target's policies and their alarms, as on AWS (sim/app-autoscaling.ts).
if (proxy && process.env.AWS_ENDPOINT_URL) proxy.hooks.push(appAutoScalingHooks(process.env.AWS_ENDPOINT_URL))
/** moto's STS answer for the access key named in a signature's scope (and a session's token). */
const callerOf = motoCaller(process.env.AWS_ENDPOINT_URL ?? '')
/** The ARN moto's IAM holds (path included) for the role or user an ARN names (an assumed-role session: its role). */
const iamArnOf = motoIamArn(process.env.AWS_ENDPOINT_URL ?? '')
// IAM enforced for the principals IAM knows (sim/iam-enforce.ts): first, before any other part of
// the layer answers, as AWS authorizes a request before acting on it.
if (proxy && process.env.AWS_ENDPOINT_URL) proxy.hooks.unshift(new IamEnforcement(process.env.AWS_ENDPOINT_URL, callerOf).hooks())
/** EKS cluster updates (UpdateClusterConfig): UPDATING for a while, one at a time (sim/eks-updates.ts); a minute on AWS, scaled. */
const clusterUpdates = new ClusterUpdates(() => 60_000 * scale)
if (proxy) proxy.hooks.push(clusterUpdates.hooks())
const eksAccess = new EksAccess(
  async (authorization) => (await callerOf(authorization)) ?? 'arn:aws:iam::123456789012:root',
  iamArnOf,
  () => knobs.accessEntryDelayMs,
  (cluster) => {
    const u = clusterUpdates.latest(cluster)
    return u && clusterUpdates.show(u)
  },
)
/** The STS endpoints a token may be signed for: moto's and the AWS layer in front of it (its host is known once it listens). */
const stsHosts: string[] = process.env.AWS_ENDPOINT_URL ? [new URL(process.env.AWS_ENDPOINT_URL).host] : []
/** The caller: on a simulated host while a command runs there, else where the knob `caller` says. */
const callers = new HostCallers(() => knobs.caller)
/** Where the caller stands (knob `caller`), per region: what the EKS endpoints and the simulated IMDS answer. */
const where = new Map<string, Whereabouts>()
const whereIn = (region: string) => {
  let w = where.get(region)
  if (!w) where.set(region, (w = new Whereabouts(region, process.env.AWS_ENDPOINT_URL!, () => callers.current())))
  return w
}
/** What answers at each simulated NLB's hostname, for the caller that reaches it (sim/kube/front-door.ts). */
const frontDoors = new FrontDoors(stateDir, ({ region, ...lb }) => whereIn(region).reachesLoadBalancer(lb))
/** The API servers' TLS (made once per state directory), for the EKS clusters. */
const tls = tlsMaterial(stateDir)
let tlsCa = ''
void tls.then((m) => {
  tlsCa = m.ca
})
if (proxy) proxy.hooks.push(eksAccess.hooks())
if (proxy) proxy.hooks.push(...accountHooks(() => knobs))
// eksctl's stacks that failed and rolled back (the stand-in records them): as CloudFormation reports them.
if (proxy) proxy.hooks.push(failedStackHooks(stateDir))
// DynamoDB and the registered Scalar DL key (knob dbCredentials, as sim/kube/containers.ts
// dynamoCredentialsProblem judges it): another long-term key (AKIA...) is one AWS does not know,
// UnrecognizedClientException (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
// The operator's own key and session keys (ASIA...) pass; the secret is not verified.
if (proxy)
  proxy.hooks.push({
    refuse: async (service, _action, _params, _region, authorization) => {
      const registered = knobs.dbCredentials.split(':')[0]
      const key = signingKey(authorization) ?? ''
      return service === 'dynamodb' && registered && /^AKIA[A-Z0-9]{16}$/.test(key) && key !== registered
        ? { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' }
        : undefined
    },
  })
/** EKS Pod Identity associations, served in front of moto; the CloudWatch feed reads them. */
const podIdentity = new PodIdentity((name) => clusters.has(name))
if (proxy) proxy.hooks.push(podIdentity.hooks())
/** SSM Run Command on the runbook's bastions, run in a folder that stands for each (sim/ssm-hosts.ts). */
let controlPort = 0
/** The bootstrap's downloads, from a local fixture (sim/bootstrap-downloads.ts): each runs this machine's tool or the simulator's stand-in. */
const machinePath = (process.env.PATH ?? '/usr/bin:/bin')
  .split(':')
  .filter((d) => !path.resolve(d).startsWith(path.join(repoRoot, 'sim')))
  .join(':')
const machineTool = (name: string) =>
  spawnSync('bash', ['-c', `command -v ${name}`], { env: { PATH: machinePath }, encoding: 'utf8' }).stdout.trim()
const fixtureProgram = (tool: string): string => {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  const head = `#!/bin/sh\n# ${tool} as the simulator's bootstrap fixture installs it (sim/bootstrap-downloads.ts)\n`
  if (tool === 'helm' || tool === 'eksctl') return `${head}exec ${q(path.join(repoRoot, 'sim', 'bin', tool))} "$@"\n`
  if (tool === 'node') return `${head}exec ${q(process.execPath)} "$@"\n`
  if (tool === 'npm')
    return `${head}SIM_REAL_NPM=${q(machineTool('npm'))} exec ${q(path.join(repoRoot, 'sim', 'host-tools', 'npm'))} "$@"\n`
  const real = machineTool(tool)
  return real ? `${head}exec ${q(real)} "$@"\n` : `${head}echo "${tool}: not on this machine" >&2\nexit 127\n`
}
const downloads = new BootstrapDownloads({
  dir: path.join(stateDir, 'downloads'),
  baseUrl: () => `http://127.0.0.1:${controlPort}/downloads`,
  fault: () => knobs.bootstrapFault,
  body: fixtureProgram,
})
/** How long a new instance stays pending (with --pending-ms or --aws-delays): cloud-init starts after. */
const instancePendingMs = shaped ? (typeof pendingMs === 'number' ? pendingMs : pendingMs.instance) : 0
/** Each simulated host's own instance metadata service. */
const hostImds = new HostImds((req, res, p, id) => imds(req, res, p, id))
const hosts = new SimulatedHosts({
  downloads,
  userDataDelayMs: () => instancePendingMs + knobs.userDataDelayMs,
  stateDir,
  motoUrl: process.env.AWS_ENDPOINT_URL ?? '',
  layerUrl: () => proxy?.url ?? process.env.AWS_ENDPOINT_URL ?? '',
  imdsUrl: (id) => hostImds.url(id),
  region: process.env.AWS_REGION ?? 'ap-northeast-1',
  path: `${path.join(repoRoot, 'sim', 'hosts-bin')}:${path.join(repoRoot, 'sim', 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
  root: repoRoot,
  isHost: async (id) => {
    const i = await whereIn(process.env.AWS_REGION ?? 'ap-northeast-1').describe(id)
    return Boolean(i?.Tags?.some((t) => t.Key === 'scalardl-runbook/role' && t.Value === 'bastion'))
  },
  callerDuring: (id, run) => callers.during(id, run),
})
if (proxy && process.env.AWS_ENDPOINT_URL) proxy.hooks.push(hosts.hooks())
// A bastion launched with user data boots it (cloud-init, once per instance) on its simulated host.
if (proxy && process.env.AWS_ENDPOINT_URL)
  proxy.hooks.push({
    rewrite: (service, action, params, text) => {
      if (service !== 'ec2' || action !== 'RunInstances' || !params.get('UserData')) return text
      const tagged = [...params.entries()].some(
        ([k, v]) =>
          /^TagSpecification\.\d+\.Tag\.\d+\.Key$/.test(k) &&
          v === 'scalardl-runbook/role' &&
          params.get(k.replace(/Key$/, 'Value')) === 'bastion',
      )
      if (!tagged) return text
      const userData = Buffer.from(params.get('UserData')!, 'base64').toString('utf8')
      for (const m of text.matchAll(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g)) hosts.boot(m[1]!, userData)
      return text
    },
  })
// DescribeCluster: the endpoint and certificate authority of the simulated API server (moto makes
// up both), so `aws eks update-kubeconfig` and eksctl write kubeconfigs that work.
if (proxy)
  proxy.hooks.push({
    rewrite: (service, action, _params, text) => {
      const m = service === 'eks' ? /^GET \/clusters\/([^/]+)$/.exec(action) : null
      const c = m ? clusters.get(decodeURIComponent(m[1]!)) : undefined
      if (!c?.opts.tls) return text
      const doc = JSON.parse(text)
      if (!doc.cluster) return text
      doc.cluster.endpoint = c.url
      doc.cluster.certificateAuthority = { data: Buffer.from(tlsCa).toString('base64') }
      return JSON.stringify(doc)
    },
  })
// A managed node group's nodes join with the group, whatever becomes of eksctl (sim/kube/managed-nodes.ts).
if (proxy) proxy.hooks.push(managedNodeGroupHooks((name) => clusters.get(name)))
/** EKS add-ons per cluster: moto has no add-on API, so their state lives here. */
const addonState = new Map<string, Map<string, unknown>>()

function send(res: http.ServerResponse, code: number, body: unknown) {
  res.writeHead(code, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function body(req: http.IncomingMessage): Promise<any> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  return text ? JSON.parse(text) : {}
}

/**
 * The instance metadata service, IMDSv2 as
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html has it: a
 * PUT for a session token, then GETs with it. A simulated host's own (`instanceId`, its address:
 * sim/host-imds.ts) answers for that instance; the one in sim.json for where the knob `caller`
 * stands. Off EC2 (no instance) nothing answers: 404 here.
 */
async function imds(req: http.IncomingMessage, res: http.ServerResponse, p: string, instanceId?: string) {
  const text = (code: number, body: string) => {
    res.writeHead(code, { 'Content-Type': 'text/plain' })
    res.end(body)
  }
  const w = whereIn(process.env.AWS_REGION ?? 'ap-northeast-1')
  const me = process.env.AWS_ENDPOINT_URL ? await (instanceId ? w.describe(instanceId) : w.instance(knobs.caller)) : undefined
  if (!me) return text(404, 'Not Found')
  if (req.method === 'PUT' && p === '/latest/api/token') return text(200, 'sim-imds-session')
  if (req.headers['x-aws-ec2-metadata-token'] !== 'sim-imds-session') return text(401, 'Unauthorized')
  const mac = me.NetworkInterfaces?.[0]?.MacAddress ?? '02:00:00:00:00:01'
  const answers: Record<string, string | undefined> = {
    '/latest/meta-data/instance-id': me.InstanceId,
    '/latest/meta-data/mac': mac,
    '/latest/meta-data/local-ipv4': me.PrivateIpAddress,
    '/latest/meta-data/placement/region': process.env.AWS_REGION ?? 'ap-northeast-1',
    [`/latest/meta-data/network/interfaces/macs/${mac}/vpc-id`]: me.VpcId,
    [`/latest/meta-data/network/interfaces/macs/${mac}/subnet-id`]: me.SubnetId,
  }
  // The instance's role (its instance profile's), as EC2 hands it to the SDKs and the AWS CLI:
  // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-categories.html (iam/security-credentials/role-name).
  if (p.startsWith('/latest/meta-data/iam/security-credentials/')) {
    const role = await instanceRole(me.IamInstanceProfile?.Arn)
    if (!role) return text(404, 'Not Found')
    if (p === '/latest/meta-data/iam/security-credentials/') return text(200, role)
    if (p === `/latest/meta-data/iam/security-credentials/${role}`)
      return text(200, JSON.stringify(await roleCredentials(me.InstanceId!, role)))
  }
  const a = answers[p]
  return a ? text(200, a) : text(404, 'Not Found')
}

const simAws = () => ownAws(process.env.AWS_REGION ?? 'ap-northeast-1', process.env.AWS_ENDPOINT_URL)
async function instanceRole(profileArn: string | undefined): Promise<string | undefined> {
  if (!profileArn) return undefined
  const iam = new IAMClient(simAws())
  try {
    const p = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profileArn.split('/').pop()! }))
    return p.InstanceProfile?.Roles?.[0]?.RoleName
  } catch {
    return undefined
  } finally {
    iam.destroy()
  }
}
/** Temporary credentials of the role, from moto's STS, renewed well before they expire (as EC2 does). */
const roleCreds = new Map<string, { until: number; doc: Record<string, string> }>()
async function roleCredentials(instanceId: string, role: string): Promise<Record<string, string>> {
  const key = `${instanceId}/${role}`
  const hit = roleCreds.get(key)
  if (hit && hit.until > Date.now() + 10 * 60_000) return hit.doc
  const sts = new STSClient(simAws())
  try {
    const c = (
      await sts.send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::123456789012:role/${role}`, RoleSessionName: instanceId, DurationSeconds: 3600 }),
      )
    ).Credentials!
    const doc = {
      Code: 'Success',
      LastUpdated: new Date().toISOString(),
      Type: 'AWS-HMAC',
      AccessKeyId: c.AccessKeyId!,
      SecretAccessKey: c.SecretAccessKey!,
      Token: c.SessionToken!,
      Expiration: c.Expiration!.toISOString(),
    }
    roleCreds.set(key, { until: c.Expiration!.getTime(), doc })
    return doc
  } finally {
    sts.destroy()
  }
}

const NODES = byResource('', 'nodes')!
const CONFIGMAPS = byResource('', 'configmaps')!
const describe = (c: Cluster) => ({ name: c.opts.name, url: c.url, region: c.opts.region, nodes: c.store.list(NODES).length })

const control = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://sim')
  const parts = url.pathname.split('/').filter(Boolean)
  try {
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true, pid: process.pid })
    if (url.pathname.startsWith('/imds/')) return await imds(req, res, url.pathname.slice('/imds'.length))
    // The SDKs keep only the host and port of AWS_EC2_METADATA_SERVICE_ENDPOINT and ask /latest/...:
    // the same service at the root, for an SDK pointed at sim.json's imdsUrl (the simulated hosts
    // have their own: sim/host-imds.ts).
    if (url.pathname.startsWith('/latest/')) return await imds(req, res, url.pathname)
    if (req.method === 'GET' && url.pathname.startsWith('/downloads/')) {
      const d = downloads.serve(decodeURIComponent(url.pathname.slice('/downloads/'.length)))
      res.writeHead(d.status, { 'Content-Type': 'application/octet-stream' })
      return void res.end(d.body)
    }
    if (req.method === 'GET' && url.pathname === '/faults')
      return send(res, 200, proxy ? { rate: Number(values.faults ?? 0), ...proxy.stats } : { rate: 0, requests: 0, injected: {} })
    if (req.method === 'GET' && url.pathname === '/aws-actions')
      return send(
        res,
        200,
        Object.fromEntries(
          (['operator', 'database'] as const).map((who) => [
            who,
            Object.fromEntries([...(proxy?.actions[who] ?? new Map()).entries()].sort()),
          ]),
        ),
      )
    if (req.method === 'GET' && url.pathname === '/clusters') return send(res, 200, [...clusters.values()].map(describe))
    if (req.method === 'POST' && url.pathname === '/clusters') {
      const b = await body(req)
      if (clusters.has(b.name)) return send(res, 409, { error: `cluster "${b.name}" already exists` })
      // An EKS cluster (made by the eksctl stand-in) serves HTTPS and admits whom EKS would admit.
      const eks = Boolean(b.eks && process.env.AWS_ENDPOINT_URL)
      let cluster: Cluster | undefined
      const c = new Cluster({
        name: b.name,
        region: b.region ?? 'ap-northeast-1',
        network: b.network,
        serverMinor: Number(values['server-minor']),
        watchMaxSeconds: Number(values['watch-max-seconds']),
        knobs,
        ...(eks
          ? {
              tls: await tls,
              authorize: eksAuthorizer({
                cluster: b.name,
                access: eksAccess,
                stsHosts,
                callerOf,
                awsAuth: () => cluster?.store.get(CONFIGMAPS, 'kube-system', 'aws-auth'),
                serverMinor: Number(values['server-minor']),
              }),
              reachable: () => whereIn(b.region ?? 'ap-northeast-1').reachable(b.name),
            }
          : {}),
      })
      cluster = c
      await c.listen()
      clusters.set(b.name, c)
      const endpoint = process.env.AWS_ENDPOINT_URL
      if (endpoint) {
        const feed = new CloudWatchFeed(c, endpoint, cloudwatchIntervalMs, b.eks ? agentCredentials(c, endpoint, podIdentity) : undefined)
        feed.start()
        feeds.set(b.name, feed)
        if (b.eks) {
          const lbs = new InTreeLoadBalancers(c, endpoint, () => knobs.lbDelayMs, frontDoors)
          c.controllers.cloud = lbs
          lbs.start()
          balancers.set(b.name, lbs)
        }
      }
      if (b.nodes) c.addNodes({ count: b.nodes, labels: b.labels, taints: b.taints, instanceType: b.instanceType })
      return send(res, 201, describe(c))
    }
    if (parts[0] === 'clusters' && parts[1]) {
      const c = clusters.get(decodeURIComponent(parts[1]))
      if (!c) return send(res, 404, { error: `no cluster "${parts[1]}"` })
      if (req.method === 'GET' && parts.length === 2) return send(res, 200, describe(c))
      if (req.method === 'POST' && parts[2] === 'nodes') {
        const b = (await body(req)) as NodeSpec
        const nodes = c.addNodes(b)
        return send(res, 201, { nodes: nodes.map((n) => n.metadata.name) })
      }
      if (req.method === 'DELETE' && parts[2] === 'nodes') {
        // Scale-in: remove the newest nodes matching the selector, as an ASG would.
        const selector = url.searchParams.get('labelSelector') ?? ''
        const count = Number(url.searchParams.get('count') ?? '1')
        const nodes = c.store
          .list(NODES)
          .filter((n) => labelsMatch(selector, n.metadata.labels))
          .sort(
            (a, b) =>
              b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp) || b.metadata.name.localeCompare(a.metadata.name),
          )
        const gone = nodes.slice(0, count).map((n) => c.store.delete(NODES, undefined, n.metadata.name).metadata.name)
        return send(res, 200, { deleted: gone })
      }
      if (parts[2] === 'addons') {
        const addons = (addonState.get(c.opts.name) ?? addonState.set(c.opts.name, new Map()).get(c.opts.name))!
        const addon = parts[3] ? decodeURIComponent(parts[3]) : undefined
        if (req.method === 'GET' && !addon) return send(res, 200, [...addons.values()])
        if (!addon) return send(res, 400, { error: 'add-on name missing' })
        if (req.method === 'GET')
          return addons.has(addon) ? send(res, 200, addons.get(addon)) : send(res, 404, { error: `no add-on ${addon}` })
        if (req.method === 'PUT') {
          addons.set(addon, await body(req))
          return send(res, 200, addons.get(addon))
        }
        if (req.method === 'DELETE') {
          addons.delete(addon)
          return send(res, 200, { deleted: addon })
        }
      }
      if (req.method === 'DELETE' && parts.length === 2) {
        feeds.get(c.opts.name)?.stop()
        feeds.delete(c.opts.name)
        balancers.get(c.opts.name)?.stop()
        balancers.delete(c.opts.name)
        await c.close()
        clusters.delete(c.opts.name)
        addonState.delete(c.opts.name)
        podIdentity.forget(c.opts.name)
        return send(res, 200, { deleted: c.opts.name })
      }
    }
    if (req.method === 'POST' && parts[0] === 'clusters' && parts[2] === 'cloudwatch-tick') {
      const feed = feeds.get(decodeURIComponent(parts[1]!))
      // ?minutesAgo=N: this round's data dated N minutes back (what a system idle since then would hold).
      if (feed) await feed.tick(Date.now() - Number(url.searchParams.get('minutesAgo') ?? 0) * 60_000)
      return send(res, 200, { ticked: Boolean(feed) })
    }
    if (url.pathname === '/knobs') {
      if (req.method === 'POST') Object.assign(knobs, await body(req))
      return send(res, 200, knobs)
    }
    if (req.method === 'POST' && url.pathname === '/shutdown') {
      send(res, 200, { stopping: true })
      return void setImmediate(shutdown)
    }
    send(res, 404, { error: `no route ${req.method} ${url.pathname}` })
  } catch (e) {
    send(res, 500, { error: (e as Error).message })
  }
})

async function shutdown() {
  // Bounded: a listener that will not close (a client holding a connection) must not keep the
  // simulator alive past `sim down`'s SIGKILL deadline.
  setTimeout(() => process.exit(0), 2000).unref()
  for (const f of feeds.values()) f.stop()
  hosts.stop()
  await hostImds.closeAll()
  await proxy?.close()
  await frontDoors.closeAll()
  await Promise.all([...clusters.values()].map((c) => c.close()))
  control.closeAllConnections()
  control.close()
  try {
    fs.rmSync(path.join(stateDir, 'sim.json'))
  } catch {
    // already gone
  }
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)

control.listen(0, '127.0.0.1', async () => {
  const port = (control.address() as AddressInfo).port
  controlPort = port
  fs.mkdirSync(stateDir, { recursive: true })
  const info = {
    controlUrl: `http://127.0.0.1:${port}`,
    pid: process.pid,
    caFile: caFile(stateDir),
    imdsUrl: `http://127.0.0.1:${port}/imds`,
    ...(proxy ? { awsUrl: await proxy.listen() } : {}),
  }
  await tls
  if (info.awsUrl) stsHosts.push(new URL(info.awsUrl).host)
  fs.writeFileSync(path.join(stateDir, 'sim.json.tmp'), JSON.stringify(info))
  fs.renameSync(path.join(stateDir, 'sim.json.tmp'), path.join(stateDir, 'sim.json'))
  console.log(`simulator control API on ${info.controlUrl} (pid ${process.pid})`)
})
