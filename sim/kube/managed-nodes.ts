// A managed node group's nodes are EKS's, not eksctl's: the node group's Auto Scaling group launches
// its instances and they join the cluster, whatever becomes of the eksctl that asked for the group
// ("Amazon EKS managed node groups automate the provisioning and lifecycle management of nodes",
// https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html). So the nodes come
// with CreateNodegroup's answer, as the AWS layer passes it: desiredSize nodes with the group's
// labels (and the eks.amazonaws.com/nodegroup label EKS gives), taints and instance type. (The
// eksctl stand-in once added them itself after its wait: killed in between, the group was ACTIVE
// in EKS with no node ever joining, and 03's rerun waited for nodes that could not come.)
import type { AwsHooks } from '../faults.ts'
import type { Cluster, NodeSpec } from './cluster.ts'
import { byResource } from './resources.ts'
import { labelsMatch } from './selectors.ts'

const NODES = byResource('', 'nodes')!
const EFFECT: Record<string, string> = { NO_SCHEDULE: 'NoSchedule', NO_EXECUTE: 'NoExecute', PREFER_NO_SCHEDULE: 'PreferNoSchedule' }

/** A node group as EKS describes it (CreateNodegroup's and DescribeNodegroup's `nodegroup`). */
interface Nodegroup {
  nodegroupName?: string
  scalingConfig?: { desiredSize?: number }
  labels?: Record<string, string>
  taints?: { key?: string; value?: string; effect?: string }[]
  instanceTypes?: string[]
  capacityType?: string
}

/**
 * `count` nodes of the group as its Auto Scaling group launches them: its labels and the
 * eks.amazonaws.com ones EKS gives, its taints (Kubernetes' effect names), its instance type. A
 * taint added by hand to a running node is not there.
 */
export function groupNodes(ng: Nodegroup & { nodegroupName: string }, count: number): NodeSpec {
  return {
    count,
    labels: {
      ...ng.labels,
      'eks.amazonaws.com/nodegroup': ng.nodegroupName,
      'eks.amazonaws.com/capacityType': ng.capacityType ?? 'ON_DEMAND',
    },
    taints: (ng.taints ?? []).map((t) => ({ key: t.key ?? '', value: t.value, effect: EFFECT[t.effect ?? ''] ?? t.effect ?? '' })),
    instanceType: ng.instanceTypes?.[0],
  }
}

export function managedNodeGroupHooks(clusterOf: (name: string) => Cluster | undefined): AwsHooks {
  return {
    rewrite(service, action, _params, text) {
      const m = service === 'eks' ? /^POST \/clusters\/([^/]+)\/node-groups$/.exec(action) : null
      const c = m ? clusterOf(decodeURIComponent(m[1]!)) : undefined
      if (!c) return text
      let ng: Nodegroup | undefined
      try {
        ng = (JSON.parse(text) as { nodegroup?: Nodegroup }).nodegroup
      } catch {
        return text
      }
      const name = ng?.nodegroupName
      const desired = ng?.scalingConfig?.desiredSize ?? 0
      if (!ng || !name || desired <= 0) return text
      // The same group answered again (a request retried with its client token): its nodes are there.
      const selector = `eks.amazonaws.com/nodegroup=${name}`
      if (c.store.list(NODES).some((n) => labelsMatch(selector, n.metadata.labels))) return text
      c.addNodes(groupNodes({ ...ng, nodegroupName: name }, desired))
      return text
    },
  }
}
