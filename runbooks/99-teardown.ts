// "Deleting resources" of "Scalar DL on AWS", in the guide's order: Scalar DL, node groups, the
// EKS cluster, the database, the bastion, NAT gateways, the VPC. Only resources tagged
// scalardl-runbook/cluster=<CLUSTER_NAME> (and, with AUDITOR_ENABLED=true, =<AUDITOR_CLUSTER_NAME>)
// are deleted, the Auditor's before the Ledger's. Tables (with their auto scaling), log groups and
// the run-lock table are kept unless asked.
import readline from 'node:readline/promises'
import { STEP_FLAGS } from '../lib/engine/steps.ts'
import { isMain } from '../lib/engine/main.ts'
import { runStep } from '../lib/engine/runner.ts'
import {
  bastionHostProblems,
  bastionTask,
  endpointTask,
  logGroupsTask,
  natTask,
  tablesTask,
  unlessKeepingBastion,
  vpcTask,
  boundaryKeptTask,
  clusterReachProblems,
} from '../lib/teardown/aws.ts'
import { clusterGoneTask, monitoringGoneTask, nodegroupsGoneTask, releasesGoneTask } from '../lib/teardown/kube.ts'
import { autoScalingTask } from '../lib/teardown/autoscaling.ts'
import { parametersTask, stagingTask } from '../lib/teardown/leftovers.ts'
import { lockTableTask } from '../lib/teardown/lock-table.ts'
import { peeringGoneTask } from '../lib/teardown/peering.ts'
import { ifAuditor, scoped } from '../lib/auditor/view.ts'
import { defineStep } from '../lib/engine/task.ts'

export const step = defineStep({
  name: '99-teardown',
  locks: (c) => [c.clusterName, ...(c.auditor.enabled ? [c.auditor.clusterName] : [])],
  description: 'Deleting resources: everything this runbook created for CLUSTER_NAME',
  ...STEP_FLAGS['99-teardown'],
  // Run on the bastion, the teardown would terminate its own host half-way; run where a
  // cluster's API does not answer, it would delete the cluster before its load balancer.
  preflight: async (ctx) => [...(await bastionHostProblems(ctx)), ...(await clusterReachProblems(ctx))],
  async confirm(config, flags, yes) {
    if (yes)
      return flags.confirm === config.clusterName
        ? undefined
        : `--yes needs --confirm ${config.clusterName} (got ${flags.confirm ? `"${flags.confirm}"` : 'none'})`
    if (!process.stdin.isTTY) return `no terminal to confirm on: pass --yes --confirm ${config.clusterName}`
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
    const answer = await rl.question(
      `This deletes every resource tagged for ${config.clusterName}${config.auditor.enabled ? ` and its Auditor ${config.auditor.clusterName}` : ''} in ${config.region}${flags['delete-data'] ? ', INCLUDING THE SCALAR DL TABLES' : ''}. Type the cluster name to go on: `,
    )
    rl.close()
    return answer.trim() === config.clusterName ? undefined : 'the name typed does not match'
  },
  // With AUDITOR_ENABLED=true, the Auditor's side (AUDITOR_CLUSTER_NAME) goes first at each stage.
  tasks: [
    scoped(ifAuditor(), releasesGoneTask()),
    releasesGoneTask(),
    scoped(ifAuditor(), monitoringGoneTask()),
    monitoringGoneTask(),
    scoped(ifAuditor(), nodegroupsGoneTask()),
    nodegroupsGoneTask(),
    scoped(ifAuditor(), clusterGoneTask()),
    clusterGoneTask(),
    autoScalingTask(),
    tablesTask(),
    scoped(ifAuditor(), logGroupsTask()),
    logGroupsTask(),
    scoped(ifAuditor(), endpointTask()),
    endpointTask(),
    unlessKeepingBastion(bastionTask()),
    scoped(ifAuditor(), natTask()),
    natTask(),
    peeringGoneTask(),
    scoped(ifAuditor(), vpcTask()),
    unlessKeepingBastion(vpcTask()),
    unlessKeepingBastion(parametersTask()),
    unlessKeepingBastion(stagingTask()),
    boundaryKeptTask(),
    unlessKeepingBastion(lockTableTask()),
  ],
  report: (result, ctx) =>
    ctx.flags['keep-bastion'] && result.status !== 'failed'
      ? `\n  The bastion and the ${ctx.config.clusterName} VPC were kept. From another host: npx tsx runbooks/99-teardown.ts --yes --confirm ${ctx.config.clusterName}`
      : undefined,
})

if (isMain(import.meta.url, '99-teardown')) await runStep(step)
