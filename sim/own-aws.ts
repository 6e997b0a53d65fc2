// How the simulator's own parts (the endpoint-reachability reads, the load balancer controller,
// the CloudWatch agents, the instance metadata service) reach moto: with the simulator's own
// credentials, so that what they read or make is never recorded as the runbook's calls, and with
// few attempts (moto on loopback either answers or is down).
export function ownAws(region: string, endpoint: string | undefined, maxAttempts = 3) {
  return { region, endpoint, credentials: { accessKeyId: 'simulator', secretAccessKey: 'simulator' }, maxAttempts }
}
