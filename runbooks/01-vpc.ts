// Step 1 of "Scalar DL on AWS": the network. A VPC over 3 AZs with public and private subnets,
// an internet gateway, NAT gateway(s), routes, EKS load-balancer subnet tags, a bastion with the
// tools of the later steps (pinned, checksums verified), and the security group that lets the
// bastion reach the private EKS API endpoint.
import { bastionToolsTask, bootstrapProblems } from '../lib/bastion/tasks.ts'
import { boundaryTask } from '../lib/iam/boundary-task.ts'
import { isMain } from '../lib/engine/main.ts'
import { bastionIdentityTask, bastionSecurityGroupTask, bastionTask, controlPlaneSecurityGroupTask } from '../lib/network/access.ts'
import { availabilityZonesTask, internetGatewayTask, subnetsTask, vpcTask } from '../lib/network/core.ts'
import { natGatewaysAvailableTask, natGatewaysTask } from '../lib/network/nat.ts'
import { privateRoutesTask, publicRoutesTask } from '../lib/network/routes.ts'
import { emptyNetworkState, networkOf, type NetworkState } from '../lib/network/target.ts'
import { runStep } from '../lib/engine/runner.ts'
import { defineStep } from '../lib/engine/task.ts'

const ledger = (ctx: { config: Parameters<typeof networkOf>[0] }) => networkOf(ctx.config)

export const step = defineStep<NetworkState>({
  name: '01-vpc',
  description: 'Step 1: VPC with NAT gateway, subnets in 3 AZs, bastion',
  state: emptyNetworkState,
  // A bastion that would have no usable kubectl: exit 2 before any call.
  validate: (config) => bootstrapProblems(config),
  tasks: [
    availabilityZonesTask(ledger),
    vpcTask(ledger),
    subnetsTask(ledger, 'public'),
    subnetsTask(ledger, 'private'),
    internetGatewayTask(ledger),
    // NAT gateways and the bastion each take minutes on AWS: the NAT gateways are created, the
    // bastion launched and waited for, then the NAT gateways waited for (by then, mostly ready).
    natGatewaysTask(ledger, { wait: false }),
    publicRoutesTask(ledger),
    bastionSecurityGroupTask(ledger),
    controlPlaneSecurityGroupTask(ledger),
    boundaryTask(),
    bastionIdentityTask(ledger),
    bastionTask(ledger),
    bastionToolsTask(ledger),
    natGatewaysAvailableTask(ledger),
    privateRoutesTask(ledger),
  ],
})

if (isMain(import.meta.url, '01-vpc')) await runStep(step)
