// What CloudWatch would receive from a cluster, written into moto while the simulator runs:
// Fluent Bit ships container logs of the pods on the nodes where it runs (so a node whose taint
// it does not tolerate sends nothing), the CloudWatch agent publishes ContainerInsights metrics,
// EKS sends the enabled control-plane log types, and DynamoDB reports table metrics.
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch'
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks'
import type { Credentials } from './agent-credentials.ts'
import type { Cluster } from './cluster.ts'
import { byResource } from './resources.ts'
import { selectorMatches } from './selectors.ts'
import type { Obj } from './store.ts'
import { serverKind } from './scalardl-server.ts'
import { ownAws } from '../own-aws.ts'

const PODS = byResource('', 'pods')!
const NODES = byResource('', 'nodes')!
const DAEMONSETS = byResource('apps', 'daemonsets')!
const STREAMS: Record<string, string> = {
  api: 'kube-apiserver',
  audit: 'kube-apiserver-audit',
  authenticator: 'authenticator',
  controllerManager: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
}

const running = (p: Obj) => p.status?.phase === 'Running'

export class CloudWatchFeed {
  private timer?: NodeJS.Timeout
  private readonly known = new Set<string>()
  /** The Scalar DL server containers whose start-up lines were shipped: idle, they write nothing more. */
  private readonly started = new Set<string>()
  private readonly logs: CloudWatchLogsClient
  private readonly metrics: CloudWatchClient
  private readonly eks: EKSClient
  private readonly dynamodb: DynamoDBClient
  private busy = false

  constructor(
    private readonly cluster: Cluster,
    endpoint: string,
    private readonly intervalMs: number,
    /** Which nodes' agents hold credentials that let them write (sim/kube/agent-credentials.ts); all when absent. */
    private readonly credentials: () => Promise<Credentials> = async () => () => true,
  ) {
    const cfg = ownAws(cluster.opts.region, endpoint, 1)
    this.logs = new CloudWatchLogsClient(cfg)
    // Uncompressed: the SDK gzips a PutMetricData body over 10 KB (its JSON protocol), and moto
    // 5.2.1 decompresses such a body twice (BadGzipFile, a 500): a cluster of five nodes and
    // thirty Pods sends more than that. The fault proxy hands moto plain bodies too (sim/faults.ts).
    this.metrics = new CloudWatchClient({ ...cfg, disableRequestCompression: true })
    this.eks = new EKSClient(cfg)
    this.dynamodb = new DynamoDBClient(cfg)
  }

  private soon?: NodeJS.Timeout
  private unsubscribe?: () => void

  start(): void {
    if (this.intervalMs <= 0) return
    this.timer = setInterval(() => void this.tick(), this.intervalMs)
    this.timer.unref()
    // A Pod that starts running (an agent, or a Ledger next to one) is reported promptly too, as
    // Fluent Bit ships a new container's first lines within seconds.
    this.unsubscribe = this.cluster.store.subscribe((e) => {
      if (e.t !== PODS || e.object.status?.phase !== 'Running' || e.old?.status?.phase === 'Running' || this.soon) return
      this.soon = setTimeout(() => {
        this.soon = undefined
        void this.tick()
      }, 100)
      this.soon.unref()
    })
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    if (this.soon) clearTimeout(this.soon)
    this.unsubscribe?.()
    for (const c of [this.logs, this.metrics, this.eks, this.dynamodb]) c.destroy()
  }

  private async ensureGroup(group: string): Promise<void> {
    if (this.known.has(group)) return
    try {
      await this.logs.send(new CreateLogGroupCommand({ logGroupName: group }))
    } catch (e) {
      if ((e as Error).name !== 'ResourceAlreadyExistsException') throw e
    }
    this.known.add(group)
  }

  private async put(group: string, stream: string, message: string, at = Date.now()): Promise<void> {
    await this.ensureGroup(group)
    const key = `${group}|${stream}`
    if (!this.known.has(key)) {
      try {
        await this.logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }))
      } catch (e) {
        if ((e as Error).name !== 'ResourceAlreadyExistsException') throw e
      }
      this.known.add(key)
    }
    await this.logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: [{ timestamp: at, message }] }))
  }

  /**
   * What a container writes between two rounds, or nothing. A Scalar DL server prints its start-up
   * (scalar-labs/scalardl common/.../server/BaseServer.java `log`: "<Service> for \"<name>\" started
   * with TLS = ..., listening on <port>", for each of its three servers) and then nothing while idle.
   * Envoy's admin access log goes to stdout (charts/envoy values.yaml:10 at 1341cfd) and the kubelet
   * probes its admin port every 10 s (templates/deployment.yaml:74-77), so it writes a line per
   * probe whatever the traffic. Other containers: a line each round.
   */
  private lines(p: Obj, c: { name: string; image?: string }, at: number): string[] {
    const iso = new Date(at).toISOString()
    const kind = serverKind(c.image ?? '')
    if (kind) {
      const key = `${p.metadata.uid}/${c.name}`
      if (this.started.has(key)) return []
      this.started.add(key)
      const [service, ports] = kind === 'ledger' ? ['Ledger', [50051, 50052, 50053]] : ['Auditor', [40051, 40052, 40053]]
      return (['Service', 'PrivilegedService', 'AdminService'] as const).map(
        (s, i) =>
          `${iso} [main] INFO  com.scalar.dl.ledger.server.BaseServer - ${s === 'AdminService' ? 'AdminService' : `${service}${s}`} for "${kind}" started with TLS = false, listening on ${ports[i]}`,
      )
    }
    if (/scalar-envoy/.test(c.image ?? ''))
      return [`[${iso}] "GET /ready HTTP/1.1" 200 - 0 5 0 - "-" "kube-probe/1.35" "-" "${p.status?.podIP ?? '-'}:9001" "-"`]
    return [`${iso} INFO ${c.name} is running`]
  }

  /** One round of what the agents would send, as of `at` (a test may date a round in the past); errors are ignored until the next round. */
  async tick(at = Date.now()): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const name = this.cluster.opts.name
      const pods = this.cluster.store.list(PODS)
      const nodes = this.cluster.store.list(NODES)
      // An agent's Pods are its DaemonSet's (the add-on labels Fluent Bit k8s-app: fluent-bit, its
      // operator labels the agent otherwise; the quick start differs again): by the DaemonSet's selector.
      const daemonsets = this.cluster.store.list(DAEMONSETS, 'amazon-cloudwatch')
      // An agent without credentials runs but is refused by CloudWatch: nothing of its node arrives.
      const allowed = await this.credentials()
      const credentialed = new Set(nodes.filter(allowed).map((n) => n.metadata.name))
      const agentOn = (app: string) => {
        const ds = daemonsets.find((d) => d.metadata.name === app)
        return new Set(
          pods
            .filter(
              (p) =>
                ds && p.metadata.namespace === 'amazon-cloudwatch' && selectorMatches(ds.spec?.selector, p.metadata.labels) && running(p),
            )
            .map((p) => p.spec?.nodeName)
            .filter((n) => credentialed.has(n)),
        )
      }
      const fluent = agentOn('fluent-bit')
      for (const p of pods.filter((x) => running(x) && fluent.has(x.spec?.nodeName))) {
        for (const c of (p.spec.containers ?? []) as { name: string; image?: string }[]) {
          const id = (p.status?.containerStatuses?.find((s: { name: string }) => s.name === c.name)?.containerID ?? 'x').slice(-12)
          const stream = `${p.spec.nodeName}-application.var.log.containers.${p.metadata.name}_${p.metadata.namespace}_${c.name}-${id}.log`
          for (const log of this.lines(p, c, at))
            await this.put(
              `/aws/containerinsights/${name}/application`,
              stream,
              JSON.stringify({
                log,
                stream: 'stdout',
                kubernetes: {
                  pod_name: p.metadata.name,
                  namespace_name: p.metadata.namespace,
                  container_name: c.name,
                  host: p.spec.nodeName,
                },
              }),
              at,
            )
        }
      }
      const agent = agentOn('cloudwatch-agent')
      if (agent.size) {
        const data: MetricDatum[] = [
          { MetricName: 'cluster_node_count', Dimensions: [{ Name: 'ClusterName', Value: name }], Value: nodes.length, Unit: 'Count' },
        ]
        for (const n of nodes.filter((x) => agent.has(x.metadata.name))) {
          const instanceId =
            String(n.spec?.providerID ?? '')
              .split('/')
              .pop() ?? ''
          data.push({
            MetricName: 'node_cpu_utilization',
            Dimensions: [
              { Name: 'ClusterName', Value: name },
              { Name: 'NodeName', Value: n.metadata.name },
              { Name: 'InstanceId', Value: instanceId },
            ],
            Value: 20 + Math.random() * 10,
            Unit: 'Percent',
          })
          data.push({
            MetricName: 'node_number_of_running_pods',
            Dimensions: [
              { Name: 'ClusterName', Value: name },
              { Name: 'NodeName', Value: n.metadata.name },
              { Name: 'InstanceId', Value: instanceId },
            ],
            Value: pods.filter((p) => p.spec?.nodeName === n.metadata.name && running(p)).length,
            Unit: 'Count',
          })
        }
        for (const p of pods.filter((x) => running(x) && agent.has(x.spec?.nodeName)))
          data.push({
            MetricName: 'pod_cpu_utilization',
            Dimensions: [
              { Name: 'PodName', Value: p.metadata.name.replace(/-[a-z0-9]{5}$/, '') },
              { Name: 'Namespace', Value: p.metadata.namespace },
              { Name: 'ClusterName', Value: name },
            ],
            Value: 5,
            Unit: 'Percent',
          })
        for (let i = 0; i < data.length; i += 500)
          await this.metrics.send(
            new PutMetricDataCommand({
              Namespace: 'ContainerInsights',
              MetricData: data.slice(i, i + 500).map((d) => ({ ...d, Timestamp: new Date(at) })),
            }),
          )
        await this.put(
          `/aws/containerinsights/${name}/performance`,
          `${[...agent][0]}`,
          JSON.stringify({ Type: 'Cluster', ClusterName: name, cluster_node_count: nodes.length }),
          at,
        )
      }
      try {
        const eks = (await this.eks.send(new DescribeClusterCommand({ name }))).cluster
        const types = (eks?.logging?.clusterLogging ?? []).filter((l) => l.enabled).flatMap((l) => (l.types ?? []) as string[])
        for (const t of types)
          await this.put(
            `/aws/eks/${name}/cluster`,
            `${STREAMS[t] ?? t}-${this.cluster.port.toString(16).padStart(32, '0').slice(-32)}`,
            `${new Date(at).toISOString()} ${t} log line`,
            at,
          )
      } catch (e) {
        if ((e as Error).name !== 'ResourceNotFoundException') throw e
      }
      const tables = (await this.dynamodb.send(new ListTablesCommand({}))).TableNames ?? []
      const scalar = tables.filter((t) => /(^|[^.]*)(scalar|auditor|coordinator|scalardb)\.[a-z_]+$/.test(t))
      for (let i = 0; i < scalar.length; i += 20) {
        const data = scalar.slice(i, i + 20).flatMap((t) =>
          ['ConsumedReadCapacityUnits', 'ConsumedWriteCapacityUnits'].map((m) => ({
            MetricName: m,
            Dimensions: [{ Name: 'TableName', Value: t }],
            Value: 1,
            Unit: 'Count' as const,
            Timestamp: new Date(at),
          })),
        )
        if (data.length) await this.metrics.send(new PutMetricDataCommand({ Namespace: 'AWS/DynamoDB', MetricData: data }))
      }
    } catch {
      // moto not reachable right now: the next round tries again
    } finally {
      this.busy = false
    }
  }
}
