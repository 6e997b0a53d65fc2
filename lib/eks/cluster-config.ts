// The eksctl ClusterConfig 03-eks hands to eksctl: built from the configuration and from what
// 01-vpc created (found by tag). Managed node groups carry no kubernetes.io/ label or taint (EKS
// refuses them); the Scalar DL taint is put on the nodes with kubectl afterwards.
import { sessionKubeconfig } from './kube-session.ts'
import type { Subnet } from '@aws-sdk/client-ec2'
import YAML from 'yaml'
import { CLUSTER_TAG } from '../aws/tags.ts'
import type { Config } from '../config/load.ts'
import { kubeconfigFile } from './files.ts'
import { accessConfig } from './access.ts'

export const POOL_LABEL = { key: 'agentpool', value: 'scalardlpool' } as const
export const POOL_TAINT = { key: 'kubernetes.io/app', value: 'scalardlpool', effect: 'NoSchedule' } as const
export const SYSTEM_NODEGROUP = 'system'

export interface ExistingNetwork {
  vpcId: string
  privateSubnets: Subnet[]
  publicSubnets: Subnet[]
  controlPlaneSecurityGroupId?: string
}

const byAz = (subnets: Subnet[]) => Object.fromEntries(subnets.map((s) => [s.AvailabilityZone!, { id: s.SubnetId! }]))

/**
 * No node role gets CloudWatchAgentServerPolicy: the add-on's agents get theirs through EKS Pod
 * Identity (06-monitoring), as AWS recommends (install-CloudWatch-Observability-EKS-addon.html,
 * "Option 1"), so no Pod on a node inherits CloudWatch write access from the node (and eksctl
 * refuses withAddonPolicies beside disablePodIMDS: validation.go@v0.228.0:740-747).
 */
function renderClusterConfig(c: Config, net: ExistingNetwork, admins: string[], boundary: string): Record<string, unknown> {
  const tags = { [CLUSTER_TAG]: c.clusterName }
  // Every role eksctl makes for the cluster carries the runbook's permissions boundary
  // (lib/iam/boundary.ts), which the operator policy requires of any role it creates. eksctl
  // v0.228.0 sets it from: iam.serviceRolePermissionsBoundary, the cluster's service role
  // (pkg/apis/eksctl.io/v1alpha5/iam.go:36, pkg/cfn/builder/iam.go:135-137); a node group's
  // iam.instanceRolePermissionsBoundary (types.go:1540, pkg/cfn/builder/iam_helper.go:96-97);
  // an add-on's permissionsBoundary for the IRSA role it makes (addon.go:56,
  // pkg/actions/addon/create.go:455-461). With withOIDC, eksctl adds vpc-cni itself, without a
  // boundary, and makes its IRSA role (pkg/actions/addon/tasks.go:25-37, create.go:223-241), so
  // vpc-cni is listed here, with the boundary.
  const nodeIam = { iam: { instanceRolePermissionsBoundary: boundary } }
  const groups: Record<string, unknown>[] = [
    {
      name: c.nodegroupName,
      instanceType: c.nodeInstanceType,
      desiredCapacity: c.nodeCount,
      minSize: c.nodeCount,
      maxSize: c.nodeMax,
      privateNetworking: true,
      labels: { [POOL_LABEL.key]: POOL_LABEL.value },
      volumeEncrypted: true,
      disableIMDSv1: true,
      // IMDS hop limit 1 (eksctl-io/eksctl pkg/cfn/builder makeMetadataOptions): Pods on these
      // nodes cannot borrow the node's role; the CloudWatch agents use the host network
      // (aws-observability/helm-charts amazon-cloudwatch-observability: fluent-bit-daemonset.yaml
      // hostNetwork: true; values.yaml agent.hostNetwork: true) and keep it.
      disablePodIMDS: true,
      ...nodeIam,
      tags,
    },
  ]
  if (c.systemNodeCount > 0) {
    groups.push({
      name: SYSTEM_NODEGROUP,
      instanceType: c.systemNodeInstanceType,
      desiredCapacity: c.systemNodeCount,
      minSize: c.systemNodeCount,
      maxSize: Math.max(c.systemNodeCount * 2, 2),
      privateNetworking: true,
      labels: { role: 'system' },
      volumeEncrypted: true,
      disableIMDSv1: true,
      // Off the node's role too: CoreDNS and the schema-loading Job (whose DynamoDB key comes
      // from its Secret) need no AWS credentials, and the CloudWatch agents use the host network
      // and their Pod Identity association.
      disablePodIMDS: true,
      ...nodeIam,
      tags,
    })
  }
  return {
    apiVersion: 'eksctl.io/v1alpha5',
    kind: 'ClusterConfig',
    metadata: { name: c.clusterName, region: c.region, version: c.kubernetesVersion, tags },
    iam: { withOIDC: true, serviceRolePermissionsBoundary: boundary },
    addons: [{ name: 'vpc-cni', permissionsBoundary: boundary }],
    // Who may use the cluster besides its creator (lib/eks/access.ts; reruns converge them through the EKS API).
    accessConfig: accessConfig(admins),
    vpc: {
      id: net.vpcId,
      subnets: { private: byAz(net.privateSubnets), public: byAz(net.publicSubnets) },
      ...(net.controlPlaneSecurityGroupId ? { controlPlaneSecurityGroupIDs: [net.controlPlaneSecurityGroupId] } : {}),
      clusterEndpoints: { privateAccess: true, publicAccess: c.endpoint.publicAccess },
      ...(c.endpoint.publicAccess ? { publicAccessCIDRs: c.endpoint.publicCidrs } : {}),
    },
    managedNodeGroups: groups,
  }
}

export function clusterConfigYaml(c: Config, net: ExistingNetwork, admins: string[], boundary: string): string {
  return `# Rendered by 03-eks from .env and the network of 01-vpc. Regenerated on every run.\n${YAML.stringify(renderClusterConfig(c, net, admins, boundary), { aliasDuplicateObjects: false })}`
}

export { clusterConfigFile, kubeconfigFile } from './files.ts'

/** What the runbook's kubectl and helm calls use: eksctl's kubeconfig, with its token made in-process (lib/eks/kube-session.ts). */
export function kubeAccess(c: Config): () => Promise<string> {
  return () => sessionKubeconfig(kubeconfigFile(c), c.region)
}
