// eksctl's CloudFormation stack of a cluster (eksctl-<name>-cluster: eksctl pkg/cfn/manager/cluster.go:31-32).
// A stack whose control plane failed rolls back and stays (ROLLBACK_COMPLETE): the cluster is gone,
// and `eksctl create cluster` then fails with CloudFormation's AlreadyExistsException, which alone
// reads like a run still in progress. Its first CREATE_FAILED event holds the cause (CloudFormation
// user guide, "Troubleshooting CloudFormation").
import { DescribeStackEventsCommand, DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { isAwsError } from '../aws/clients.ts'

const clusterStackName = (cluster: string) => `eksctl-${cluster}-cluster`

/** Statuses in which a stack is over and failed: it has to be deleted before the cluster can be made again. */
const DEAD = new Set(['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_FAILED', 'DELETE_FAILED'])

interface FailedStack {
  name: string
  status: string
  /** The first resource that failed, and why. */
  cause: string
}

/** The cluster's stack when it failed and stays, with the cause; undefined when there is none, or it is alive. */
export async function failedClusterStack(cfn: CloudFormationClient, cluster: string): Promise<FailedStack | undefined> {
  const name = clusterStackName(cluster)
  let status: string | undefined
  let reason: string | undefined
  try {
    const s = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]
    status = s?.StackStatus
    reason = s?.StackStatusReason
  } catch (e) {
    if (isAwsError(e, 'ValidationError')) return undefined // "Stack with id ... does not exist"
    throw e
  }
  if (!status || !DEAD.has(status)) return undefined
  const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: name }))).StackEvents ?? []
  // Newest first: the cause is the oldest CREATE_FAILED.
  const first = events.filter((e) => e.ResourceStatus === 'CREATE_FAILED' && e.ResourceStatusReason).at(-1)
  return {
    name,
    status,
    cause: first ? `${first.LogicalResourceId} (${first.ResourceType}): ${first.ResourceStatusReason}` : (reason ?? 'no reason given'),
  }
}
