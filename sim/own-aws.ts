// How the simulator's own parts (the endpoint-reachability reads, the load balancer controller,
// the CloudWatch agents, the instance metadata service) reach moto: with the simulator's own
// credentials, so that what they read or make is never recorded as the runbook's calls, and with
// few attempts (moto on loopback either answers or is down).
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
