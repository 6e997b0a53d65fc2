// Which EC2 instance this process runs on, from the instance metadata service (IMDSv2: a session
// token first, then the instance id; https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html).
// AWS_EC2_METADATA_DISABLED and AWS_EC2_METADATA_SERVICE_ENDPOINT are the AWS SDKs' own settings.

type MetadataGet = (path: string) => Promise<string | undefined>

/**
 * An IMDSv2 session: a reader of meta-data paths, or undefined when IMDS is disabled (`disabled`)
 * or does not answer within a second (off EC2).
 */
async function imdsSession(env: NodeJS.ProcessEnv): Promise<MetadataGet | 'disabled' | undefined> {
  if ((env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() === 'true') return 'disabled'
  const base = (env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254').replace(/\/$/, '')
  try {
    const token = await fetch(`${base}/latest/api/token`, {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
      signal: AbortSignal.timeout(1000),
    })
    if (!token.ok) return undefined
    const headers = { 'X-aws-ec2-metadata-token': await token.text() }
    return async (p) => {
      try {
        const r = await fetch(`${base}/latest/meta-data/${p}`, { headers, signal: AbortSignal.timeout(1000) })
        return r.ok ? (await r.text()).trim() : undefined
      } catch {
        return undefined
      }
    }
  } catch {
    return undefined
  }
}

/** The instance id, or undefined off EC2 (no answer within a second) or when IMDS is disabled. */
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
