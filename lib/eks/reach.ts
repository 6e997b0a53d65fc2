// Whether this host reaches a cluster's Kubernetes API, checked before a step changes anything.
// A private-only endpoint answers only inside the cluster's VPC and the VPCs connected to it
// (https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html): from anywhere else
// kubectl, helm and eksctl's wait for the control plane fail after their timeouts. A cluster that
// exists is asked for /livez (a path EKS answers anonymously at every version: from 1.32 anonymous
// requests get only /healthz, /livez and /readyz; five seconds, no retry); one not made yet is
// judged from where this host runs (lib/aws/imds.ts) and the endpoint the configuration asks for.
import https from 'node:https'
import { type Cluster, DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks'
import { DescribeVpcsCommand } from '@aws-sdk/client-ec2'
import { isAwsError } from '../aws/clients.ts'
import { whereAmI } from '../aws/imds.ts'
import { findVpc } from '../aws/vpc.ts'
import type { ConfigProblem } from '../config/load.ts'
import type { TaskContext } from '../engine/task.ts'

const PROBE_MS = 5000

/** The cluster's certificate authority, PEM, as DescribeCluster gives it (base64). */
export const clusterCa = (cluster: Cluster): string | undefined =>
  cluster.certificateAuthority?.data ? Buffer.from(cluster.certificateAuthority.data, 'base64').toString() : undefined

/**
 * GET `path` on a cluster's API endpoint with its CA (and a bearer token when given): the HTTP
 * status, or why there was no answer (an error code, or the timeout), without retry.
 */
export function apiStatus(
  endpoint: string,
  path: string,
  ca: string | undefined,
  o: { token?: string; timeoutMs?: number } = {},
): Promise<number | string> {
  const timeoutMs = o.timeoutMs ?? PROBE_MS
  return new Promise((resolve) => {
    const headers = o.token ? { authorization: `Bearer ${o.token}` } : {}
    const req = https.get(`${endpoint.replace(/\/$/, '')}${path}`, { ca, timeout: timeoutMs, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 'no status'))
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)))
    req.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message))
  })
}

/** GET /livez (answered anonymously at every version) with the cluster's CA: undefined when it answers, else why not. */
async function probe(endpoint: string, ca: string | undefined, timeoutMs = PROBE_MS): Promise<string | undefined> {
  const status = await apiStatus(endpoint, '/livez', ca, { timeoutMs })
  return typeof status === 'number' && status < 500 ? undefined : typeof status === 'number' ? `HTTP ${status}` : status
}

function fixFor(ctx: Pick<TaskContext, 'config'>, bastionCluster: string): string {
  const c = ctx.config
  return c.endpoint.publicAccess
    ? `check that ENDPOINT_PUBLIC_CIDRS (${c.endpoint.publicCidrs.join(', ') || 'none'}) holds this host's public address, or run this step on the bastion of ${bastionCluster} (aws ssm start-session --target <bastion instance id>, as 01-vpc printed)`
    : `run this step on the bastion of ${bastionCluster} (aws ssm start-session --target <bastion instance id>, as 01-vpc printed), or set ENDPOINT_PUBLIC_ACCESS=true with ENDPOINT_PUBLIC_CIDRS=<your address>/32 and rerun 03-eks`
}

/** The cluster as EKS describes it, or undefined when it does not exist. */
export async function describeCluster(eks: EKSClient, name: string): Promise<Cluster | undefined> {
  try {
    return (await eks.send(new DescribeClusterCommand({ name }))).cluster
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) return undefined
    throw e
  }
}

/**
 * As a step's preflight: exit 2 before any change when this host cannot reach the cluster's API.
 * `described`: the cluster already described by the caller (undefined inside: it does not exist).
 */
export async function apiReachProblems(
  ctx: Pick<TaskContext, 'aws' | 'config'>,
  described?: { cluster: Cluster | undefined },
): Promise<ConfigProblem[]> {
  const name = ctx.config.clusterName
  const bastionCluster = ctx.config.bastionOf ?? name
  const key = 'ENDPOINT_PUBLIC_ACCESS'
  const cluster = described ? described.cluster : await describeCluster(ctx.aws.eks, name)
  if (cluster?.endpoint && cluster.status === 'ACTIVE') {
    const why = await probe(cluster.endpoint, clusterCa(cluster))
    if (!why) return []
    const v = cluster.resourcesVpcConfig
    const kind = v?.endpointPublicAccess
      ? `public (from ${(v.publicAccessCidrs ?? ['0.0.0.0/0']).join(', ')})${v.endpointPrivateAccess ? ' and private' : ''}`
      : 'private only'
    return [
      {
        key,
        message: `the Kubernetes API of ${name} (${cluster.endpoint}, ${kind}) does not answer from this host (${why})`,
        fix: fixFor(ctx, bastionCluster),
      },
    ]
  }
  if (cluster || ctx.config.endpoint.publicAccess) return [] // being made; or public (this host's address is unknown here)
  // A private-only endpoint not made yet: this host must stand in the cluster's VPC, or the VPC admitted to it.
  const here = await whereAmI()
  if (!here.known) return []
  const ours = await findVpc(ctx.aws.ec2, name)
  if (here.vpcId && here.vpcId === ours?.VpcId) return []
  const admitted = ctx.config.apiAccessFrom
  if (here.vpcId && admitted) {
    const vpc = (await ctx.aws.ec2.send(new DescribeVpcsCommand({ VpcIds: [here.vpcId] }))).Vpcs?.[0]
    if (vpc?.CidrBlock === admitted.cidr) return []
  }
  const where = here.instanceId ? `EC2 instance ${here.instanceId} in ${here.vpcId ?? 'an unknown VPC'}` : 'a host outside AWS'
  return [
    {
      key,
      message: `is false: the Kubernetes API of ${name} will answer only inside its VPC${admitted ? ` and ${admitted.label}` : ''}, and this step runs on ${where}: eksctl would make the control plane, then time out waiting for it`,
      fix: fixFor(ctx, bastionCluster),
    },
  ]
}
