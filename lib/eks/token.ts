// An EKS bearer token, made in-process as `aws eks get-token` and eksctl make it (kubernetes-sigs/
// aws-iam-authenticator pkg/token/token.go GetWithSTS): "k8s-aws-v1." and the unpadded base64url
// of an STS GetCallerIdentity URL presigned for 60 s with the x-k8s-aws-id header set to the
// cluster's name. EKS accepts it for 15 minutes after it was signed.
import { createHash, createHmac } from 'node:crypto'
import { STSClient } from '@aws-sdk/client-sts'
import { SignatureV4 } from '@smithy/signature-v4'

const bytes = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d)

/** SHA-256, or HMAC-SHA-256 with a secret, for the signer. */
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

/** The STS endpoint `aws eks get-token` signs for: the regional one, or the endpoint the SDK's variables name. */
function stsEndpoint(region: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL ?? `https://sts.${region}.amazonaws.com`
}

export interface TokenSource {
  /** Whose token (default: the default credential chain, the identity the AWS CLI would use). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** Where the endpoint variables are read (default: this process's environment). */
  env?: NodeJS.ProcessEnv
}

/** A token for `cluster`. */
export async function eksToken(cluster: string, region: string, source: TokenSource = {}): Promise<string> {
  const credentials = source.credentials ?? (await new STSClient({ region }).config.credentials())
  const url = new URL(stsEndpoint(region, source.env))
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256 })
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: url.host, 'x-k8s-aws-id': cluster },
    },
    { expiresIn: 60 },
  )
  const query = new URLSearchParams(signed.query as Record<string, string>).toString()
  return `k8s-aws-v1.${Buffer.from(`${url.protocol}//${url.host}/?${query}`).toString('base64url')}`
}
