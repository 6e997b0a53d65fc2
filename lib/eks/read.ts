// What exists in EKS, read through the EKS API: the cluster and its managed node groups.
// eksctl creates and changes them (as the guide does); reading them is one request each here,
// where `eksctl get ...` would start a process to make the same requests. The shapes are those
// `eksctl get ... -o json` prints (aws-sdk-go-v2 types, PascalCase), so a task reads either alike.
import { DescribeClusterCommand, DescribeNodegroupCommand, paginateListNodegroups, type EKSClient } from '@aws-sdk/client-eks'
import { isAwsError } from '../aws/clients.ts'
import type { EksctlCluster, EksctlNodegroup } from '../tools/eksctl.ts'
import type { TaskContext } from '../engine/task.ts'

const missing = (err: unknown) => isAwsError(err, 'ResourceNotFoundException')

/** The cluster, or undefined when it does not exist. */
export async function getCluster(eks: EKSClient, name: string): Promise<EksctlCluster | undefined> {
  try {
    const c = (await eks.send(new DescribeClusterCommand({ name }))).cluster!
    const v = c.resourcesVpcConfig
    return {
      Name: c.name!,
      Status: c.status!,
      Version: c.version,
      Endpoint: c.endpoint,
      ResourcesVpcConfig: v && {
        VpcId: v.vpcId,
        SubnetIds: v.subnetIds,
        SecurityGroupIds: v.securityGroupIds,
        ClusterSecurityGroupId: v.clusterSecurityGroupId,
        EndpointPublicAccess: v.endpointPublicAccess,
        EndpointPrivateAccess: v.endpointPrivateAccess,
      },
      Logging: { ClusterLogging: (c.logging?.clusterLogging ?? []).map((l) => ({ Types: l.types, Enabled: l.enabled })) },
      Tags: c.tags,
    }
  } catch (err) {
    if (missing(err)) return undefined
    throw err
  }
}

/** The cluster's managed node groups (none when the cluster does not exist). */
export async function getNodegroups(eks: EKSClient, cluster: string): Promise<EksctlNodegroup[]> {
  const names: string[] = []
  try {
    for await (const page of paginateListNodegroups({ client: eks }, { clusterName: cluster })) names.push(...(page.nodegroups ?? []))
  } catch (err) {
    if (missing(err)) return []
    throw err
  }
  const groups = await Promise.all(
    names.map((nodegroupName) => eks.send(new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName })).then((r) => r.nodegroup!)),
  )
  return groups.map((g) => ({
    Cluster: cluster,
    Name: g.nodegroupName!,
    Status: g.status!,
    MinSize: g.scalingConfig?.minSize ?? 0,
    MaxSize: g.scalingConfig?.maxSize ?? 0,
    DesiredCapacity: g.scalingConfig?.desiredSize ?? 0,
    InstanceType: (g.instanceTypes ?? []).join(','),
    Type: 'managed' as const,
  }))
}

/** The reads above for a task's cluster (its view's region and name). */
export function eksRead(ctx: TaskContext) {
  const eks = ctx.aws.eks
  const name = ctx.config.clusterName
  return {
    cluster: () => getCluster(eks, name),
    nodegroups: () => getNodegroups(eks, name),
  }
}
