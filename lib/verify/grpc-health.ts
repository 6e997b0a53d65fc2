// A request through the front door: gRPC health checking (grpc.health.v1.Health/Check) against a
// load balancer's hostname, with the maintained client (@grpc/grpc-js) and the standard service
// definition (grpc-health-check). ScalarDL's servers register that service on every port, client,
// privileged and admin alike, and answer SERVING until they are decommissioned (scalar-labs/scalardl
// common/src/main/java/com/scalar/dl/ledger/server/BaseServer.java, HealthService.java), so an
// answer means: the load balancer took the connection, an Envoy routed it, a Ledger (or Auditor)
// answered. Both packages load on first use: the other steps do not pay for them.
import { promises as dns } from 'node:dns'

interface HealthAnswer {
  port: number
  /** SERVING, NOT_SERVING, ... as the server said; undefined when the call failed. */
  status?: string
  /** Why the call failed, as gRPC reports it (e.g. "UNAVAILABLE: no healthy upstream"). */
  error?: string
  ms: number
}

type HealthClient = {
  check(req: { service: string }, opts: { deadline: number }, cb: (e: Error | null, r?: { status?: string }) => void): void
  close(): void
}

let loaded: Promise<{ Client: new (target: string, creds: unknown, options: object) => HealthClient; insecure: () => unknown }> | undefined

/** The Health client's constructor and insecure channel credentials (Envoy's downstream TLS is off in the runbook's values), loaded once. */
function grpcHealth() {
  // CommonJS packages: Node gives module.exports as the default export; tsx (the sources) may give the exports themselves.
  const cjs = <T>(m: T & { default?: T }): T => m.default ?? m
  loaded ??= Promise.all([import('@grpc/grpc-js'), import('grpc-health-check')]).then(([g, h]) => {
    const grpc = cjs(g as unknown as typeof g.default & { default?: typeof g.default })
    const health = cjs(h as unknown as typeof h.default & { default?: typeof h.default })
    return {
      Client: grpc.makeClientConstructor(health.service, 'grpc.health.v1.Health') as never,
      insecure: () => grpc.credentials.createInsecure(),
    }
  })
  return loaded
}

/**
 * The host's addresses, resolved once for every port. The channel then dials them directly
 * (`ipv4:` / `ipv6:` targets), so gRPC's own resolver makes no DNS queries of its own (its TXT
 * lookup for a service config included), and a name that does not resolve is said as such.
 */
export async function resolveHost(host: string): Promise<{ addresses: { address: string; family: number }[] } | { error: string }> {
  try {
    const addresses = await dns.lookup(host, { all: true })
    return addresses.length ? { addresses } : { error: `${host} resolves to no address` }
  } catch (e) {
    return { error: `${host} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }
  }
}

/** Health/Check on one port of the addresses, within the deadline; the answer and the time it took. */
export async function healthCheck(
  host: string,
  addresses: { address: string; family: number }[],
  port: number,
  deadlineMs: number,
): Promise<HealthAnswer> {
  const { Client, insecure } = await grpcHealth()
  const started = Date.now()
  const v4 = addresses.filter((a) => a.family === 4)
  const target = v4.length
    ? `ipv4:${v4.map((a) => `${a.address}:${port}`).join(',')}`
    : `ipv6:${addresses.map((a) => `[${a.address}]:${port}`).join(',')}`
  const client = new Client(target, insecure(), {
    'grpc.default_authority': `${host}:${port}`,
    'grpc.service_config_disable_resolution': 1,
    // One attempt: a health check that retried for us would hide a flapping front door.
    'grpc.enable_retries': 0,
  })
  try {
    const status = await new Promise<string | undefined>((resolve, reject) =>
      client.check({ service: '' }, { deadline: Date.now() + deadlineMs }, (e, r) => (e ? reject(e) : resolve(r?.status))),
    )
    return { port, status: String(status ?? 'UNKNOWN'), ms: Date.now() - started }
  } catch (e) {
    return { port, error: grpcError(e), ms: Date.now() - started }
  } finally {
    client.close()
  }
}

/** "UNAVAILABLE: no healthy upstream", from a grpc-js ServiceError. */
function grpcError(e: unknown): string {
  const err = e as { code?: number; details?: string; message?: string }
  const names: Record<number, string> = {
    1: 'CANCELLED',
    4: 'DEADLINE_EXCEEDED',
    12: 'UNIMPLEMENTED',
    13: 'INTERNAL',
    14: 'UNAVAILABLE',
    16: 'UNAUTHENTICATED',
  }
  const code = err.code === undefined ? 'ERROR' : (names[err.code] ?? `code ${err.code}`)
  return `${code}: ${err.details || err.message || 'no detail'}`
}
