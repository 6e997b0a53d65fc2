// What answers at a simulated NLB's hostname: a listener per Service port on a loopback address of
// its own (all of 127.0.0.0/8 is the loopback interface on Linux), which the hostname resolves to
// inside the simulator only (sim/dns.mjs, loaded through NODE_OPTIONS from the simulator's env).
//
// A connection is taken as the NLB would take it: the caller must reach the load balancer (an
// internal one only from its VPC or a VPC peered with it, the caller's address within the Service's
// source ranges, which the node security group's client rule admits), and a target must be healthy
// (a Ready Envoy Pod selected by the Service; the controller's target health). Otherwise the
// connection is reset. A connection taken is handed to a gRPC server that plays the Envoy Pods:
// scalar-envoy listens on the ports of `service_listeners` and routes every request to the same port
// of `scalardl_address`, the server's headless Service (scalar-labs/helm-charts charts/envoy/
// templates/deployment.yaml:56-59 at 1341cfd; the older scalar-envoy chart's envoy.yaml routes
// `prefix: "/"`, so any gRPC method, Health/Check included, reaches a Ledger). The headless Service's
// DNS names the Ready Pods it selects; with none, Envoy answers locally "no healthy upstream"
// (Envoy's response flag UH), which for a gRPC request is status UNAVAILABLE (grpc/grpc
// doc/http-grpc-status-mapping.md: HTTP 503 -> UNAVAILABLE). A Ledger or Auditor answers
// grpc.health.v1.Health/Check SERVING on every port it serves (scalar-labs/scalardl
// common/.../server/BaseServer.java: a HealthService on the client, privileged and admin servers).
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { service as healthService } from 'grpc-health-check'
import { BLOCKS, listen, loopbackAddress } from '../loopback.ts'
import type { Cluster } from './cluster.ts'
import { isReady } from './conditions.ts'
import { byResource } from './resources.ts'
import { selectorMatches } from './selectors.ts'
import type { Obj } from './store.ts'

const SERVICES = byResource('', 'services')!
const PODS = byResource('', 'pods')!

/** Whether the caller may reach a load balancer: its VPC, scheme and the Service's source ranges. */
type Reaches = (lb: { region: string; vpcId: string; internal: boolean; sourceRanges: string[] }) => Promise<boolean>

interface DoorSpec {
  /** The simulated cluster whose Service the NLB serves. */
  cluster: Cluster
  hostname: string
  namespace: string
  service: string
  vpcId: string
  internal: boolean
  sourceRanges: string[]
  /** Whether the NLB has a healthy target now (the controller's target health). */
  healthy: () => boolean
}

interface Door {
  spec: DoorSpec
  address: string
  listeners: Map<number, Listener>
}

interface Listener {
  front: net.Server
  envoy: grpc.Server
  envoyPort: number
  /** The connections it took (and their legs to Envoy), ended with it. */
  sockets: Set<net.Socket>
}

/** The file sim/dns.mjs reads: hostname -> loopback address. */
const ADDRESSES_FILE = 'front-doors.json'

/** A loopback address for a hostname: 127.64.0.0/10 (clear of 127.0.0.1, where the simulator's own servers listen). */
const addressFor = (hostname: string, attempt: number): string => loopbackAddress(`${hostname}/${attempt}`, BLOCKS.frontDoors)

export class FrontDoors {
  private readonly doors = new Map<string, Door>()
  private chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly stateDir: string,
    private readonly reaches: Reaches,
  ) {}

  /** Opens (or keeps) the door of a load balancer on the Service's ports; one at a time. */
  open(spec: DoorSpec, ports: number[]): Promise<void> {
    const run = this.chain.then(() => this.openNow(spec, ports))
    this.chain = run.catch(() => undefined)
    return run
  }

  close(hostname: string): Promise<void> {
    const run = this.chain.then(() => this.closeNow(hostname))
    this.chain = run.catch(() => undefined)
    return run
  }

  async closeAll(): Promise<void> {
    for (const h of [...this.doors.keys()]) await this.closeNow(h)
  }

  private async openNow(spec: DoorSpec, ports: number[]): Promise<void> {
    let door = this.doors.get(spec.hostname)
    if (door) door.spec = spec
    for (let attempt = 0; !door; attempt++) {
      // Another simulator on this machine may hold the address: the next one, as many times as needed.
      const address = addressFor(spec.hostname, attempt)
      const probe = net.createServer()
      try {
        await listen(probe, ports[0] ?? 0, address)
        await new Promise<void>((r) => probe.close(() => r()))
        door = { spec, address, listeners: new Map() }
        this.doors.set(spec.hostname, door)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 50) throw e
      }
    }
    for (const port of ports) if (!door.listeners.has(port)) door.listeners.set(port, await this.listener(door, port))
    for (const [port, l] of door.listeners)
      if (!ports.includes(port)) {
        await this.stop(l)
        door.listeners.delete(port)
      }
    this.publish()
  }

  private async closeNow(hostname: string): Promise<void> {
    const door = this.doors.get(hostname)
    if (!door) return
    for (const l of door.listeners.values()) await this.stop(l)
    this.doors.delete(hostname)
    this.publish()
  }

  /**
   * Stops listening at once and ends the connections it took: an NLB that is deleted drops its
   * connections. (Waiting for them instead once hung the controller: a connection the server still
   * counted kept close() from calling back, and every later sync waited behind it.)
   */
  private async stop(l: Listener): Promise<void> {
    l.front.close()
    for (const s of l.sockets) s.destroy()
    l.envoy.forceShutdown()
  }

  /** The NLB's listener on one port, and the Envoy that takes what it forwards. */
  private async listener(door: Door, port: number): Promise<Listener> {
    const envoy = new grpc.Server()
    envoy.addService(healthService as grpc.ServiceDefinition, {
      check: (_call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const why = this.upstream(door.spec, port)
        if (why) cb({ code: grpc.status.UNAVAILABLE, details: why })
        else cb(null, { status: 'SERVING' })
      },
      watch: (call: grpc.ServerWritableStream<unknown, unknown>) =>
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not simulated' }),
    })
    const envoyPort = await new Promise<number>((resolve, reject) =>
      envoy.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    )
    const sockets = new Set<net.Socket>()
    const track = (s: net.Socket) => {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => s.destroy())
    }
    const front = net.createServer((socket) => {
      track(socket)
      void this.admit(door.spec).then(
        (ok) => {
          if (!ok || socket.destroyed) return socket.resetAndDestroy()
          const up = net.connect(envoyPort, '127.0.0.1')
          track(up)
          up.on('close', () => socket.destroy())
          socket.on('close', () => up.destroy())
          socket.pipe(up).pipe(socket)
        },
        () => socket.resetAndDestroy(),
      )
    })
    await listen(front, port, door.address)
    return { front, envoy, envoyPort, sockets }
  }

  /** The NLB takes the connection: the caller reaches it, and a target is healthy. */
  private async admit(spec: DoorSpec): Promise<boolean> {
    if (!spec.healthy()) return false
    return this.reaches({ region: spec.cluster.opts.region, vpcId: spec.vpcId, internal: spec.internal, sourceRanges: spec.sourceRanges })
  }

  /** Why Envoy cannot route a request on `port` to a server (undefined: a server answers). */
  private upstream(spec: DoorSpec, port: number): string | undefined {
    const store = spec.cluster.store
    const svc = store.get(SERVICES, spec.namespace, spec.service)
    const ready = (s: Obj | undefined) =>
      s?.spec?.selector
        ? store
            .list(PODS, spec.namespace)
            .filter(
              (p) => isReady(p) && !p.metadata.deletionTimestamp && selectorMatches({ matchLabels: s.spec.selector }, p.metadata.labels),
            )
        : []
    const envoy = ready(svc)[0]
    if (!envoy) return 'no healthy upstream'
    const target = ((svc?.spec?.ports ?? []) as { port: number; targetPort?: number | string }[]).find((p) => p.port === port)
    const envoyPort = typeof target?.targetPort === 'number' ? target.targetPort : port
    const env = new Map(
      ((envoy.spec?.containers?.[0]?.env ?? []) as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? '']),
    )
    const listeners = (env.get('service_listeners') ?? '').split(',').map((l) => Number(l.split(':')[1]))
    if (!listeners.includes(envoyPort)) return `upstream connect error: Envoy has no listener on ${envoyPort}`
    const headless = store.get(SERVICES, spec.namespace, env.get('scalardl_address') ?? '')
    const servers = ready(headless)
    if (!servers.length) return 'no healthy upstream'
    const serves = (p: Obj) =>
      ((p.spec?.containers ?? []) as { ports?: { containerPort: number }[] }[]).some((c) =>
        (c.ports ?? []).some((x) => x.containerPort === envoyPort),
      )
    return servers.some(serves) ? undefined : 'upstream connect error or disconnect/reset before headers. reset reason: connection failure'
  }

  /** Writes hostname -> address for sim/dns.mjs (atomically: a reader never sees half a file); this daemon is its one writer. */
  private publish(): void {
    const file = path.join(this.stateDir, ADDRESSES_FILE)
    const all = Object.fromEntries([...this.doors].map(([h, d]) => [h, d.address]))
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(all, null, 1))
    fs.renameSync(`${file}.tmp`, file)
  }
}
