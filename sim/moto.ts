// The AWS side of the simulator: a private moto server (Python; `pip install "moto[server]"`)
// on a free loopback port, started and stopped by its PID. The runbook reaches it through the
// AWS SDK's own AWS_ENDPOINT_URL, exactly as it would reach AWS.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'

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

async function ready(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let delay = 50
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${tail(logFile)}`)
    try {
      const res = await fetch(`${url}/moto-api/data.json`)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 500)
  }
  throw new Error(`moto_server did not answer on ${url} within ${timeoutMs} ms: ${tail(logFile)}`)
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

export async function startMoto(o: { port?: number; logFile?: string; command?: string; detached?: boolean } = {}): Promise<Moto> {
  const port = o.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const logFile = o.logFile ?? `/tmp/moto-${port}.log`
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
  await Promise.race([ready(url, child, logFile, 20_000), spawnError])
  await warmUp(url, process.env.AWS_REGION ?? 'ap-northeast-1')
  const pid = child.pid!
  return {
    url,
    port,
    pid,
    async reset() {
      const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' })
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`)
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise<void>((r) => child.once('exit', () => r()))
      process.kill(pid, 'SIGTERM')
      const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    },
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
