// Whether the CloudWatch add-on's agents on a node hold credentials that let them write to
// CloudWatch, as AWS's credential chain would decide for them: the Pod Identity association of
// their service account (amazon-cloudwatch/cloudwatch-agent, used by both the agent and Fluent
// Bit: aws-observability/helm-charts@amazon-cloudwatch-observability-6.4.0
// templates/linux/fluent-bit-daemonset.yaml:147, cloudwatch-agent-custom-resource.yaml:91), which
// the Pod Identity Agent on the same node serves (awsdocs/amazon-eks-user-guide
// service-accounts.adoc:194 "only serves Pods on its own node"), and otherwise the node's role
// from the instance metadata service, which the agents reach on the host network. The role must
// carry CloudWatchAgentServerPolicy.
import { DescribeNodegroupCommand, EKSClient } from '@aws-sdk/client-eks'
import { IAMClient, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam'
import type { PodIdentity } from '../eks-pod-identity.ts'
import type { Cluster } from './cluster.ts'
import { byResource } from './resources.ts'
import { selectorMatches } from './selectors.ts'
import type { Obj } from './store.ts'
import { ownAws } from '../own-aws.ts'

const PODS = byResource('', 'pods')!
const DAEMONSETS = byResource('apps', 'daemonsets')!
const POLICY = 'arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy'
const NODEGROUP_LABEL = 'eks.amazonaws.com/nodegroup'

export type Credentials = (node: Obj) => boolean

export function agentCredentials(cluster: Cluster, endpoint: string, podIdentity: PodIdentity): () => Promise<Credentials> {
  const cfg = ownAws(cluster.opts.region, endpoint, 1)
  const iam = new IAMClient(cfg)
  const eks = new EKSClient(cfg)
  const allows = async (roleArn: string | undefined) => {
    if (!roleArn) return false
    try {
      const out = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleArn.split('/').pop()! }))
      return (out.AttachedPolicies ?? []).some((p) => p.PolicyArn === POLICY)
    } catch {
      return false
    }
  }
  return async () => {
    const name = cluster.opts.name
    const agentDs = cluster.store.list(DAEMONSETS, 'kube-system').find((d) => d.metadata.name === 'eks-pod-identity-agent')
    const agentNodes = new Set(
      cluster.store
        .list(PODS, 'kube-system')
        .filter((p) => agentDs && selectorMatches(agentDs.spec?.selector, p.metadata.labels) && p.status?.phase === 'Running')
        .map((p) => p.spec?.nodeName),
    )
    const viaPodIdentity = await allows(podIdentity.roleFor(name, 'amazon-cloudwatch', 'cloudwatch-agent'))
    const groups = new Map<string, boolean>()
    for (const g of new Set(cluster.store.list(byResource('', 'nodes')!).map((n) => n.metadata.labels?.[NODEGROUP_LABEL]))) {
      if (!g) continue
      try {
        const ng = (await eks.send(new DescribeNodegroupCommand({ clusterName: name, nodegroupName: g }))).nodegroup
        groups.set(g, await allows(ng?.nodeRole))
      } catch {
        groups.set(g, false)
      }
    }
    return (node) => {
      const group = node.metadata.labels?.[NODEGROUP_LABEL]
      // A node no EKS node group made (sim/cli.ts nodes add) has no AWS identity to judge: it sends.
      if (!group) return true
      return (viaPodIdentity && agentNodes.has(node.metadata.name)) || groups.get(group) === true
    }
  }
}
