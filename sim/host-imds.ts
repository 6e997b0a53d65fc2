// Each simulated host's own instance metadata service. On EC2 every instance reaches its own at
// 169.254.169.254; the SDKs and the AWS CLI keep only the host and port of
// AWS_EC2_METADATA_SERVICE_ENDPOINT, so here each host gets a loopback address of its own (from its
// instance id, in 127.128.0.0/10, apart from the load balancers' front doors), listened on when its
// first process starts. What it answers is that instance's, whatever else runs meanwhile: a
// command on the bastion never sees the laptop's place, nor the laptop the bastion's.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { BLOCKS, listen, loopbackAddress } from './loopback.ts'

type Answer = (req: http.IncomingMessage, res: http.ServerResponse, path: string, instanceId: string) => Promise<void>

/** The loopback address of an instance's metadata service. */
export const imdsAddress = (instanceId: string): string => loopbackAddress(instanceId, BLOCKS.hostImds)

export class HostImds {
  private readonly servers = new Map<string, Promise<{ server: http.Server; url: string }>>()

  constructor(private readonly answer: Answer) {}

  /** The URL of the instance's own metadata service, listening once this resolves. */
  async url(instanceId: string): Promise<string> {
    let s = this.servers.get(instanceId)
    if (!s) {
      s = this.open(instanceId)
      this.servers.set(instanceId, s)
      s.catch(() => this.servers.delete(instanceId))
    }
    return (await s).url
  }

  private async open(instanceId: string): Promise<{ server: http.Server; url: string }> {
    const server = http.createServer((req, res) => {
      this.answer(req, res, new URL(req.url ?? '/', 'http://imds').pathname, instanceId).catch((e: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' })
        res.end(e.message)
      })
    })
    const address = imdsAddress(instanceId)
    await listen(server, 0, address)
    return { server, url: `http://${address}:${(server.address() as AddressInfo).port}` }
  }

  async closeAll(): Promise<void> {
    const all = await Promise.allSettled([...this.servers.values()])
    this.servers.clear()
    await Promise.all(
      all.map((r) =>
        r.status === 'fulfilled'
          ? new Promise<void>((resolve) => {
              r.value.server.closeAllConnections()
              r.value.server.close(() => resolve())
            })
          : undefined,
      ),
    )
  }
}
