// Prerequisites on the AWS side: who we are, and whether the region can hold the design.
import { callerAccessProblem, callerPrincipal } from '../eks/access.ts'
import { availableZones } from '../aws/azs.ts'
import type { Task } from '../engine/task.ts'

export function identityTask(): Task {
  return {
    title: 'AWS identity',
    async check(ctx) {
      const id = await ctx.aws.identity()
      return { holds: true, detail: `${id.Arn} (account ${id.Account})` }
    },
  }
}

/** Whether the caller may use the cluster's Kubernetes API (an EKS access entry), once the cluster exists. */
export function clusterAccessTask(): Task {
  return {
    title: 'Access to the EKS cluster (an access entry for your principal)',
    async check(ctx) {
      const problem = await callerAccessProblem(ctx)
      if (problem) return { holds: false, detail: problem.message, hint: problem.fix }
      return {
        holds: true,
        detail: `${await callerPrincipal(ctx)} may use ${ctx.config.clusterName} (or the cluster does not exist yet: 03-eks gives access to its creator, the bastion role and CLUSTER_ADMIN_ARNS)`,
      }
    },
  }
}

export function zonesTask(minimum = 3): Task {
  return {
    title: `Region has at least ${minimum} availability zones`,
    async check(ctx) {
      const zones = await availableZones(ctx.aws.ec2, [ctx.config.nodeInstanceType, ctx.config.systemNodeInstanceType])
      if (zones.length < minimum)
        return {
          holds: false,
          detail: `${ctx.config.region} has ${zones.length}: ${zones.join(', ') || 'none'}`,
          hint: 'choose a region with 3 or more availability zones where EKS runs and NODE_INSTANCE_TYPE and SYSTEM_NODE_INSTANCE_TYPE are offered (AWS_REGION)',
        }
      return { holds: true, detail: `${ctx.config.region}: ${zones.join(', ')}` }
    },
  }
}

export function configurationTask(): Task {
  return {
    title: 'Configuration valid',
    async check(ctx) {
      const c = ctx.config
      return {
        holds: true,
        detail: `${c.source}: cluster ${c.clusterName}, VPC ${c.vpcCidr}, NAT ${c.natGateways}, ${c.nodeCount} x ${c.nodeInstanceType}, bastion ${c.bastion.enabled ? c.bastion.instanceType : 'off'}`,
      }
    },
  }
}
