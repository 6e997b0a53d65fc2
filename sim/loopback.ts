// Loopback addresses of the simulator's own: 127.0.0.0/8 is all the machine's, so a simulated
// endpoint that must be told apart by its host (a load balancer's name, an instance's metadata
// service) gets an address of its own, hashed from its key into one /10, clear of 127.0.0.1.
import { createHash } from 'node:crypto'
import type net from 'node:net'

/** The blocks in use: the NLBs' front doors (sim/kube/front-door.ts) and the hosts' IMDS (sim/host-imds.ts). */
export const BLOCKS = { frontDoors: 64, hostImds: 128 } as const

/** An address in 127.<block>.0.0/10 for `key`. */
export function loopbackAddress(key: string, block: number): string {
  const h = createHash('sha256').update(key).digest()
  return `127.${block + (h[0]! & 63)}.${h[1]}.${1 + (h[2]! % 254)}`
}

/** Listens on `host:port`, or rejects with the error (EADDRINUSE...). */
export const listen = (server: net.Server, port: number, host: string) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
