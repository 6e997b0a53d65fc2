// One simulated cluster: its store, controllers and API server on its own loopback port.
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { type ApiOptions, ClusterApi } from './api.ts'
import { Controllers, type Knobs } from './controllers.ts'
import { byResource } from './resources.ts'
import { Store, type Obj } from './store.ts'

const NODES = byResource('', 'nodes')!
const NAMESPACES = byResource('', 'namespaces')!
const SERVICE_ACCOUNTS = byResource('', 'serviceaccounts')!
const SERVICES = byResource('', 'services')!

interface ClusterOptions {
  name: string
  region: string
  serverMinor: number
  watchMaxSeconds: number
  knobs: Knobs
  kubeletVersion?: string
  /** The first two octets of node addresses, e.g. "10.1" (the cluster's VPC). */
  network?: string
  /** Serve HTTPS with this key and certificate (an EKS cluster: kubectl sends exec credentials only over TLS). */
  tls?: { key: string; cert: string }
  /** Who may do what (sim/eks-auth.ts); none: anyone may do anything. */
  authorize?: ApiOptions['authorize']
  /** Whether the caller reaches the endpoint (sim/where.ts); none: always. */
  reachable?: ApiOptions['reachable']
}

export interface NodeSpec {
  count: number
  labels?: Record<string, string>
  taints?: { key: string; value?: string; effect: string }[]
  instanceType?: string
}

function zonesOf(region: string): string[] {
  return (region === 'ap-northeast-1' ? ['a', 'c', 'd'] : ['a', 'b', 'c']).map((z) => `${region}${z}`)
}

export class Cluster {
  readonly store = new Store()
  readonly controllers: Controllers
  private server?: http.Server | https.Server
  port = 0
  private nodeSeq = 0

  constructor(readonly opts: ClusterOptions) {
    this.controllers = new Controllers(this.store, opts.knobs, opts.region)
    // Every namespace gets its "default" service account, as the token controller makes it.
    this.store.subscribe((e) => {
      if (e.t === NAMESPACES && e.type === 'ADDED') {
        setImmediate(() => {
          if (
            !this.store.get(SERVICE_ACCOUNTS, e.object.metadata.name, 'default') &&
            this.store.get(NAMESPACES, undefined, e.object.metadata.name)
          ) {
            this.store.create(SERVICE_ACCOUNTS, { metadata: { name: 'default', namespace: e.object.metadata.name } })
          }
        })
      }
    })
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      this.store.create(NAMESPACES, {
        metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      })
    this.store.create(SERVICES, {
      metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: '10.100.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443 }] },
    })
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`
  }

  async listen(port = 0): Promise<void> {
    const api = new ClusterApi(this.store, {
      serverMinor: this.opts.serverMinor,
      watchMaxSeconds: this.opts.watchMaxSeconds,
      host: () => `127.0.0.1:${this.port}`,
      faultRate: () => this.opts.knobs.apiFaultRate,
      authorize: this.opts.authorize,
      reachable: this.opts.reachable,
    })
    this.server = this.opts.tls
      ? https.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, api.handle)
      : http.createServer(api.handle)
    this.server.keepAliveTimeout = 5000
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject)
      this.server!.listen(port, '127.0.0.1', () => resolve())
    })
    this.port = (this.server.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    this.controllers.stop()
    if (!this.server) return
    this.server.closeAllConnections()
    await new Promise<void>((r) => this.server!.close(() => r()))
  }

  /** Adds Ready nodes named and labelled as EKS names and labels them, spread over 3 AZs. */
  addNodes(spec: NodeSpec): Obj[] {
    const zones = zonesOf(this.opts.region)
    const out: Obj[] = []
    for (let i = 0; i < spec.count; i++) {
      const n = this.nodeSeq++
      const zone = zones[n % zones.length]!
      const ip = `${this.opts.network ?? '10.1'}.${(n % 3) * 64 + 10 + Math.floor(n / 3)}.${((n * 37) % 250) + 4}`
      const name = `ip-${ip.replace(/\./g, '-')}.${this.opts.region}.compute.internal`
      const instanceType = spec.instanceType ?? spec.labels?.['node.kubernetes.io/instance-type'] ?? 'm5.xlarge'
      const created = now()
      out.push(
        this.store.create(NODES, {
          metadata: {
            name,
            labels: {
              'kubernetes.io/hostname': name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              'beta.kubernetes.io/os': 'linux',
              'beta.kubernetes.io/arch': 'amd64',
              'topology.kubernetes.io/zone': zone,
              'topology.kubernetes.io/region': this.opts.region,
              'failure-domain.beta.kubernetes.io/zone': zone,
              'node.kubernetes.io/instance-type': instanceType,
              ...(spec.labels ?? {}),
            },
          },
          spec: {
            providerID: `aws:///${zone}/i-${(0x1000000000000 + n * 7919).toString(16).padStart(17, '0')}`,
            ...(spec.taints?.length ? { taints: spec.taints } : {}),
          },
          status: {
            conditions: [
              {
                type: 'MemoryPressure',
                status: 'False',
                reason: 'KubeletHasSufficientMemory',
                lastHeartbeatTime: created,
                lastTransitionTime: created,
              },
              {
                type: 'DiskPressure',
                status: 'False',
                reason: 'KubeletHasNoDiskPressure',
                lastHeartbeatTime: created,
                lastTransitionTime: created,
              },
              {
                type: 'PIDPressure',
                status: 'False',
                reason: 'KubeletHasSufficientPID',
                lastHeartbeatTime: created,
                lastTransitionTime: created,
              },
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'kubelet is posting ready status',
                lastHeartbeatTime: created,
                lastTransitionTime: created,
              },
            ],
            addresses: [
              { type: 'InternalIP', address: ip },
              { type: 'Hostname', address: name },
              { type: 'InternalDNS', address: name },
            ],
            capacity: { cpu: '4', memory: '15896988Ki', pods: '58', 'ephemeral-storage': '83873772Ki' },
            allocatable: { cpu: '3920m', memory: '14880156Ki', pods: '58', 'ephemeral-storage': '76224326324' },
            nodeInfo: {
              kubeletVersion: this.opts.kubeletVersion ?? `v1.${this.opts.serverMinor}.4-eks-sim`,
              kubeProxyVersion: this.opts.kubeletVersion ?? `v1.${this.opts.serverMinor}.4-eks-sim`,
              osImage: 'Amazon Linux 2023.6.20250115',
              kernelVersion: '6.1.124-134.200.amzn2023.x86_64',
              containerRuntimeVersion: 'containerd://1.7.25',
              operatingSystem: 'linux',
              architecture: 'amd64',
            },
          },
        }),
      )
    }
    return out
  }
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z')
}
