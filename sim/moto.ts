// The AWS side of the simulator: a private moto server (Python; `pip install "moto[server]"`)
// on a free loopback port, started and stopped by its PID. The runbook reaches it through the
// AWS SDK's own AWS_ENDPOINT_URL, exactly as it would reach AWS.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import { alive, terminate } from './processes.ts'

export interface Moto {
  url: string
  port: number
  pid: number
  /** Wipes every service and region (the default VPC comes back with a new id). */
  reset(): Promise<void>
  stop(): Promise<void>
  /** The environment that points the AWS SDK (and so the runbook) at this server. */
  env(region?: string): Record<string, string>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

/** Whether the server accepts a connection: moto.server.main listens once its app is made. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.createConnection({ host: '127.0.0.1', port })
    conn.once('connect', () => {
      conn.destroy()
      resolve(true)
    })
    conn.once('error', () => resolve(false))
  })
}

async function ready(port: number, exited: () => boolean, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let delay = 20
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`moto_server exited: ${tail(logFile)}`)
    if (await listening(port)) return
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 500)
  }
  throw new Error(`moto_server did not answer on port ${port} within ${timeoutMs} ms: ${tail(logFile)}`)
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-5).join('\n')
  } catch {
    return '(no log)'
  }
}

/**
 * moto builds each service's backend for a region on its first request: about a second for EC2
 * (its default VPC, AMIs and instance types) and half a second for STS or IAM. AWS has no such
 * cold start, so the first step would pay a cost the real one does not. One read-only call per
 * service the runbook uses builds them up front; nothing is created that the first call would
 * not create anyway (moto's default VPC).
 */
async function warmUp(url: string, region: string): Promise<void> {
  const [
    { EC2Client, DescribeAvailabilityZonesCommand },
    { STSClient, GetCallerIdentityCommand },
    { EKSClient, ListClustersCommand },
    { IAMClient, ListRolesCommand },
    { DynamoDBClient, ListTablesCommand },
    { CloudWatchLogsClient, DescribeLogGroupsCommand },
    { CloudWatchClient, ListMetricsCommand },
    { SSMClient, DescribeInstanceInformationCommand },
  ] = await Promise.all([
    import('@aws-sdk/client-ec2'),
    import('@aws-sdk/client-sts'),
    import('@aws-sdk/client-eks'),
    import('@aws-sdk/client-iam'),
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-cloudwatch-logs'),
    import('@aws-sdk/client-cloudwatch'),
    import('@aws-sdk/client-ssm'),
  ])
  const config = { region, endpoint: url, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing-secret-key' } }
  const calls: [{ send(c: unknown): Promise<unknown>; destroy(): void }, unknown][] = [
    [new EC2Client(config), new DescribeAvailabilityZonesCommand({})],
    [new STSClient(config), new GetCallerIdentityCommand({})],
    [new EKSClient(config), new ListClustersCommand({})],
    [new IAMClient(config), new ListRolesCommand({})],
    [new DynamoDBClient(config), new ListTablesCommand({})],
    [new CloudWatchLogsClient(config), new DescribeLogGroupsCommand({})],
    [new CloudWatchClient(config), new ListMetricsCommand({})],
    [new SSMClient(config), new DescribeInstanceInformationCommand({})],
  ]
  await Promise.all(
    calls.map(([client, command]) =>
      client
        .send(command)
        .catch(() => undefined)
        .finally(() => client.destroy()),
    ),
  )
}

/**
 * A moto server forked by the zygote at MOTO_ZYGOTE (sim/moto-zygote.py, which `npm test` starts):
 * the same server, its backends built by the same warm-up, without paying for them again. Undefined
 * when no zygote answers there.
 */
async function fromZygote(port: number, logFile: string): Promise<number | undefined> {
  const socket = process.env.MOTO_ZYGOTE
  if (!socket || !fs.existsSync(socket)) return undefined
  const env = { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' }
  const answer = await new Promise<string | undefined>((resolve) => {
    const conn = net.createConnection(socket)
    let text = ''
    conn.on('data', (d) => (text += d))
    conn.on('end', () => resolve(text))
    conn.on('error', () => resolve(undefined))
    conn.end(`${JSON.stringify({ port, log: logFile, env })}\n`)
  })
  if (!answer) return undefined
  const { pid, error } = JSON.parse(answer) as { pid?: number; error?: string }
  if (!pid) throw new Error(`the moto zygote at ${socket} could not start a server: ${error}`)
  return pid
}

export async function startMoto(o: { port?: number; logFile?: string; command?: string; detached?: boolean } = {}): Promise<Moto> {
  const port = o.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const logFile = o.logFile ?? `/tmp/moto-${port}.log`
  const forked = o.command ? undefined : await fromZygote(port, logFile)
  if (forked) {
    await ready(port, () => !alive(forked), logFile, 20_000)
    return handle(url, port, forked)
  }
  const out = fs.openSync(logFile, 'a')
  const command = o.command ?? process.env.MOTO_SERVER ?? 'moto_server'
  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', out, out],
    // AWS managed policies (AmazonSSMManagedInstanceCore, CloudWatchAgentServerPolicy) exist in
    // every real account; moto loads them only when asked.
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
    // Detached: outlives the process that started it (sim/cli.ts up), stopped later by its PID.
    detached: Boolean(o.detached),
  })
  if (o.detached) child.unref()
  fs.closeSync(out)
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(new Error(`cannot start ${command}: ${err.message}. Install moto with: pip install "moto[server]"`)),
    ),
  )
  await Promise.race([ready(port, () => child.exitCode !== null, logFile, 20_000), spawnError])
  await warmUp(url, process.env.AWS_REGION ?? 'ap-northeast-1')
  return handle(url, port, child.pid!)
}

function handle(url: string, port: number, pid: number): Moto {
  return {
    url,
    port,
    pid,
    async reset() {
      const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' })
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`)
    },
    stop: () => terminate(pid, 3000),
    env(region = 'ap-northeast-1') {
      return {
        AWS_ENDPOINT_URL: url,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing-secret-key',
        AWS_EC2_METADATA_DISABLED: 'true',
      }
    },
  }
}
