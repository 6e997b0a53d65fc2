// EKS's bearer tokens, as aws-iam-authenticator makes and checks them (kubernetes-sigs/
// aws-iam-authenticator at 81b1dab, pkg/token/token.go): the token is "k8s-aws-v1." and the
// unpadded base64url of an STS GetCallerIdentity URL presigned with the x-k8s-aws-id header set to
// the cluster's name (GetWithSTS :356-387); the server checks its form (Verify :594-682), calls
// the URL with that header and takes the caller's ARN from the answer (:686-745).
import { createHash, createHmac } from 'node:crypto'
import { SignatureV4 } from '@smithy/signature-v4'

/** token.go:100-102 */
const V1_PREFIX = 'k8s-aws-v1.'
const MAX_TOKEN_BYTES = 4096
const CLUSTER_ID_HEADER = 'x-k8s-aws-id'
/** token.go:99: a token is good for 15 minutes after its X-Amz-Date, whatever X-Amz-Expires says. */
const TOKEN_LIFETIME_MS = 15 * 60_000
/** token.go:166-176 */
const ALLOWED_PARAMS = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
])

interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

const bytes = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d)

/** A SHA-256 (HMAC with a secret) for the signer, over node:crypto. */
class Sha256 {
  private readonly h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256')
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(bytes(data))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest())
  }
}

/** A token for `cluster`, as the generator makes it (token.go:356-387), signed for `stsEndpoint`. */
export async function presignEksToken(cluster: string, region: string, stsEndpoint: string, credentials: Credentials): Promise<string> {
  const url = new URL(stsEndpoint)
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256 })
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: url.host, [CLUSTER_ID_HEADER]: cluster },
    },
    { expiresIn: 60 },
  )
  const query = new URLSearchParams(signed.query as Record<string, string>).toString()
  return V1_PREFIX + Buffer.from(`${url.protocol}//${url.host}/?${query}`).toString('base64url')
}

type Verified = { arn: string } | { error: string }

/**
 * Checks a token as Verify does; `callerOf` asks STS who signed (the simulator's
 * moto, which dispatches on an Authorization header, so the presigned query is passed as one).
 * The simulator's STS is its own AWS endpoint over plain HTTP, so the scheme and host checks
 * (:614-625: https, an STS host of the partition) accept the hosts given in `stsHosts` instead.
 */
export async function verifyEksToken(
  token: string,
  stsHosts: string[],
  callerOf: (authorization: string, securityToken?: string) => Promise<string | undefined>,
  now = Date.now(),
): Promise<Verified> {
  if (token.length > MAX_TOKEN_BYTES) return { error: 'token is too large' }
  if (!token.startsWith(V1_PREFIX)) return { error: `token is missing expected "${V1_PREFIX}" prefix` }
  let url: URL
  try {
    url = new URL(Buffer.from(token.slice(V1_PREFIX.length), 'base64url').toString('utf8'))
  } catch (e) {
    return { error: (e as Error).message }
  }
  if (url.protocol !== 'https:' && !stsHosts.includes(url.host))
    return { error: `unexpected scheme "${url.protocol.replace(':', '')}" in pre-signed URL` }
  if (!stsHosts.includes(url.host) && !/^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.test(url.host))
    return { error: `unexpected hostname "${url.host}" in pre-signed URL` }
  if (url.pathname !== '/') return { error: 'unexpected path in pre-signed URL' }
  const q = new Map<string, string>()
  for (const [k, v] of url.searchParams) {
    if (!ALLOWED_PARAMS.has(k.toLowerCase())) return { error: `non-whitelisted query parameter "${k}"` }
    if (q.has(k.toLowerCase())) return { error: 'query parameter with multiple values not supported' }
    q.set(k.toLowerCase(), v)
  }
  if (q.get('action') !== 'GetCallerIdentity') return { error: 'unexpected action parameter in pre-signed URL' }
  if (!(q.get('x-amz-signedheaders') ?? '').split(';').some((h) => h.toLowerCase() === CLUSTER_ID_HEADER))
    return { error: `client did not sign the ${CLUSTER_ID_HEADER} header in the pre-signed URL` }
  const expires = Number(q.get('x-amz-expires'))
  if (!Number.isInteger(expires) || expires < 0 || expires > 900)
    return { error: `invalid X-Amz-Expires parameter in pre-signed URL: ${q.get('x-amz-expires')}` }
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get('x-amz-date') ?? '')
  if (!date) return { error: 'X-Amz-Date parameter must be present in pre-signed URL' }
  const signedAt = Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!)
  if (now > signedAt + TOKEN_LIFETIME_MS)
    return { error: `X-Amz-Date parameter is expired (15 minute expiration) ${new Date(signedAt).toISOString()}` }
  // Not modelled: STS checks the signature over the x-k8s-aws-id header the server sends (:689),
  // so a token made for another cluster fails there; moto checks no signature, and the name is not
  // in the URL, so here it passes.
  const authorization = `AWS4-HMAC-SHA256 Credential=${q.get('x-amz-credential')}, SignedHeaders=${q.get('x-amz-signedheaders')}, Signature=${q.get('x-amz-signature')}`
  const arn = await callerOf(authorization, q.get('x-amz-security-token'))
  return arn ? { arn } : { error: 'error from AWS (expected 200) on the STS endpoint' }
}
