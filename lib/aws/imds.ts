// Which EC2 instance this process runs on, from the instance metadata service (IMDSv2: a session
// token first, then the instance id; https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html).
// AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_METADATA_SERVICE_TIMEOUT and
// AWS_METADATA_SERVICE_NUM_ATTEMPTS are the AWS SDKs' own settings.

type MetadataGet = (path: string) => Promise<string | undefined>

/**
 * How long to wait for the instance metadata service, and how many times to ask: the SDKs' shared
 * settings AWS_METADATA_SERVICE_TIMEOUT (seconds per attempt) and AWS_METADATA_SERVICE_NUM_ATTEMPTS,
 * 1 and 1 by default, each at least 1 (AWS SDKs and Tools Reference Guide, "Amazon EC2 instance
 * metadata"). An unusable value counts as unset, as the AWS CLI reads it.
 */
export function imdsSettings(env: NodeJS.ProcessEnv): { timeoutMs: number; attempts: number } {
  const atLeastOne = (v: string | undefined) => {
    const n = Number(v)
    return v && Number.isFinite(n) && n >= 1 ? n : 1
  }
  return {
    timeoutMs: atLeastOne(env.AWS_METADATA_SERVICE_TIMEOUT) * 1000,
    attempts: Math.floor(atLeastOne(env.AWS_METADATA_SERVICE_NUM_ATTEMPTS)),
  }
}

/** A request to the metadata service, tried up to `attempts` times; undefined when none answered in time. */
async function ask(url: string, init: RequestInit, o: { timeoutMs: number; attempts: number }): Promise<Response | undefined> {
  for (let i = 0; i < o.attempts; i++) {
    try {
      const r = await fetch(url, { ...init, signal: AbortSignal.timeout(o.timeoutMs) })
      if (r.status < 500) return r
      await r.body?.cancel()
    } catch {
      // no answer in time, or the connection failed: the next attempt
    }
  }
  return undefined
}

/**
 * An IMDSv2 session: a reader of meta-data paths, or undefined when IMDS is disabled (`disabled`)
 * or does not answer (off EC2) within the settings above.
 */
async function imdsSession(env: NodeJS.ProcessEnv): Promise<MetadataGet | 'disabled' | undefined> {
  if ((env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() === 'true') return 'disabled'
  const base = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254').replace(/\/$/, '')
  const settings = imdsSettings(env)
  const token = await ask(
    `${base}/latest/api/token`,
    { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } },
    settings,
  )
  const session = token?.ok ? await token.text().catch(() => undefined) : undefined
  if (!session) return undefined
  const headers = { 'X-aws-ec2-metadata-token': session }
  return async (p) => {
    const r = await ask(`${base}/latest/meta-data/${p}`, { headers }, settings)
    return r?.ok ? (await r.text().catch(() => undefined))?.trim() : undefined
  }
}

/** The instance id, or undefined off EC2 (no answer in time) or when IMDS is disabled. */
export async function thisInstanceId(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const get = await imdsSession(env)
  return typeof get === 'function' ? get('instance-id') : undefined
}

/**
 * Where this process runs: `known: false` when the instance metadata service is disabled
 * (AWS_EC2_METADATA_DISABLED=true: the runbook cannot tell, and does not guess); else the EC2
 * instance and its VPC (the primary interface's), or no instance off EC2.
 */
export async function whereAmI(env: NodeJS.ProcessEnv = process.env): Promise<{ known: boolean; instanceId?: string; vpcId?: string }> {
  const get = await imdsSession(env)
  if (get === 'disabled') return { known: false }
  if (!get) return { known: true }
  const [instanceId, mac] = await Promise.all([get('instance-id'), get('mac')])
  const vpcId = mac ? await get(`network/interfaces/macs/${mac}/vpc-id`) : undefined
  return { known: true, instanceId, vpcId }
}
