// Step 3 of "Scalar DL on AWS": the EKS cluster on the private subnets of 01-vpc, the Scalar DL
// node group (label agentpool=scalardlpool) and an untainted system node group, the kubeconfig,
// and the taint kubernetes.io/app=scalardlpool:NoSchedule on every Scalar DL node.
import {
  clusterConfigTask,
  clusterTask,
  kubeconfigTask,
  networkTask,
  poolNodegroupTask,
  poolNodesReadyTask,
  systemNodegroupTask,
  taintTask,
  type EksState,
} from '../lib/eks/tasks.ts'
import { STEP_FLAGS } from '../lib/engine/steps.ts'
import { boundaryTask } from '../lib/iam/boundary-task.ts'
import { isMain } from '../lib/engine/main.ts'
import { runStep } from '../lib/engine/runner.ts'
import { accessEntriesTask } from '../lib/eks/access.ts'
import { apiReachProblems } from '../lib/eks/reach.ts'
import { defineStep, sideBySide } from '../lib/engine/task.ts'

export const step = defineStep<EksState>({
  name: '03-eks',
  description: 'Step 3: EKS cluster with the Scalar DL node group',
  state: () => ({ nodegroups: [] }),
  ...STEP_FLAGS['03-eks'],
  validate(config, flags) {
    if (config.systemNodeCount > 0 || flags['allow-no-system-nodes']) return []
    return [
      {
        key: 'SYSTEM_NODE_COUNT',
        message:
          'is 0: every node would carry the Scalar DL taint, so the schema-loading Job (its chart has no tolerations), CoreDNS and the monitoring operator could not be scheduled',
        fix: 'set SYSTEM_NODE_COUNT=2 (the default), or pass --allow-no-system-nodes if you provide such nodes another way',
      },
    ]
  },
  // This host must reach the API (eksctl waits for the control plane through it): said before anything is made.
  preflight: apiReachProblems,
  // The node groups are checked (eksctl) while the kubeconfig is written: it needs only the control plane.
  tasks: [
    networkTask(),
    // 01 makes it; here for an environment whose 01 ran before there was one.
    boundaryTask(),
    clusterConfigTask(),
    clusterTask(),
    accessEntriesTask(),
    sideBySide([poolNodegroupTask(), systemNodegroupTask()], kubeconfigTask()),
    poolNodesReadyTask(),
    taintTask(),
  ],
})

if (isMain(import.meta.url, '03-eks')) await runStep(step)
