// How the simulator's own parts (the endpoint-reachability reads, the load balancer controller,
// the CloudWatch agents, the instance metadata service) reach moto: with the simulator's own
// credentials, so that what they read or make is never recorded as the runbook's calls, and with
// few attempts (moto on loopback either answers or is down).
import { GetRoleCommand, GetUserCommand, IAMClient } from '@aws-sdk/client-iam'

export function ownAws(region: string, endpoint: string | undefined, maxAttempts = 3) {
  return { region, endpoint, credentials: { accessKeyId: 'simulator', secretAccessKey: 'simulator' }, maxAttempts }
}

/**
 * Who signed a request, as moto's STS says (GetCallerIdentity) for the access key named in the
 * signature's scope, and a session's token: the principal the layer's EKS access entries and IAM
 * enforcement judge. moto checks no signature, so the scope's service is swapped for sts.
 */
export function motoCaller(endpoint: string) {
  return async (authorization: string, securityToken?: string): Promise<string | undefined> => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        authorization: authorization.replace(/\/[a-z0-9-]+\/aws4_request/, '/sts/aws4_request'),
        'content-type': 'application/x-www-form-urlencoded',
        ...(securityToken ? { 'x-amz-security-token': securityToken } : {}),
      },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    })
    return res.ok ? /<Arn>([^<]+)<\/Arn>/.exec(await res.text())?.[1] : undefined
  }
}

/** The IAM role or user an ARN names (an assumed-role session: its role), or undefined for another kind. */
export function iamPrincipalOf(arn: string): { account: string; kind: 'role' | 'user'; name: string } | undefined {
  const m = /^arn:[^:]+:(?:iam|sts)::(\d+):(role|user|assumed-role)\/(?:.*\/)?([^/]+?)(?:\/[^/]+)?$/.exec(arn)
  if (!m) return undefined
  const assumed = m[2] === 'assumed-role'
  return { account: m[1]!, kind: m[2] === 'user' ? 'user' : 'role', name: assumed ? arn.split(':').pop()!.split('/')[1]! : m[3]! }
}

/** The ARN moto's IAM holds (path included) for the role or user an ARN names, or undefined when IAM has none. */
export function motoIamArn(endpoint: string) {
  const iam = new IAMClient(ownAws('us-east-1', endpoint))
  return async (arn: string): Promise<string | undefined> => {
    const p = iamPrincipalOf(arn)
    if (!p) return undefined
    try {
      if (p.kind === 'user') return (await iam.send(new GetUserCommand({ UserName: p.name }))).User?.Arn
      return (await iam.send(new GetRoleCommand({ RoleName: p.name }))).Role?.Arn
    } catch {
      return undefined
    }
  }
}
