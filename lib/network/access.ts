// Step 1 (and Step 3's prerequisite): the bastion and the security groups that let it reach
// the private EKS API endpoint on 443.
import { callerBoundaryArn } from '../iam/boundary-task.ts'
import {
  bastionDrift,
  bastionIdentity,
  bastionRoleName,
  describeInstance,
  ensureBastionIdentity,
  findBastion,
  identityDrift,
  normalisePolicy,
  OPERATOR_POLICY_NAME,
  latestAmazonLinuxAmi,
  launchBastion,
  repairBastion,
} from '../aws/bastion.ts'
import { isAwsError } from '../aws/clients.ts'
import { activePeeringBetween } from '../aws/peering.ts'
import { ensureSecurityGroup, findSecurityGroup, securityGroupDrift, type SecurityGroupSpec } from '../aws/security-groups.ts'
import { subnetsOf } from '../aws/subnets.ts'
import { findVpc } from '../aws/vpc.ts'
import { RunbookError } from '../engine/errors.ts'
import { operatorPolicy, policyScope } from '../iam/operator-policy.ts'
import { wantedBootstrap } from '../bastion/tasks.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { waitFor } from '../engine/wait.ts'
import type { NetworkState, NetworkTarget, TargetOf } from './target.ts'

function bastionSgSpec(t: NetworkTarget): SecurityGroupSpec {
  return {
    role: 'bastion-sg',
    name: `${t.cluster}-bastion`,
    description: `Bastion of Scalar DL cluster ${t.cluster}`,
    ingress: t.bastion.sshCidr ? [{ port: 22, cidr: t.bastion.sshCidr, description: 'SSH from operators' }] : [],
  }
}

function controlPlaneSgSpec(t: NetworkTarget, bastionSgId: string | undefined, peerBastionSgId: string | undefined): SecurityGroupSpec {
  return {
    role: 'control-plane-sg',
    name: `${t.cluster}-control-plane`,
    description: `EKS control plane of ${t.cluster}: HTTPS from the bastion`,
    ingress: [
      ...(t.bastion.enabled
        ? [{ port: 443, sourceGroupId: bastionSgId ?? '(bastion group)', description: 'HTTPS from the bastion to the EKS API' }]
        : []),
      // The peer cluster's bastion by its security group (referenced across the peering, as AWS
      // allows within a region: https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html),
      // not its whole VPC. AWS accepts that reference only while the peering is active (same
      // page), so until then, and when the peer has no bastion, the peer VPC's range.
      ...(peerBastionSgId
        ? [{ port: 443, sourceGroupId: peerBastionSgId, description: `HTTPS from the bastion of ${t.peerBastionOf} through the peering` }]
        : t.apiAccessFrom
          ? [{ port: 443, cidr: t.apiAccessFrom.cidr, description: `HTTPS from ${t.apiAccessFrom.label} to the EKS API` }]
          : []),
    ],
  }
}

function securityGroupTask(
  title: string,
  target: TargetOf,
  role: SecurityGroupSpec['role'],
  spec: (t: NetworkTarget, s: NetworkState) => SecurityGroupSpec,
  key: 'bastionSgId' | 'controlPlaneSgId',
  /** What the spec needs found first (another cluster's groups). */
  before?: (ctx: TaskContext, t: NetworkTarget, s: NetworkState) => Promise<void>,
): Task<NetworkState> {
  return {
    title,
    async check(ctx, s) {
      const t = target(ctx)
      if (role === 'bastion-sg' && !t.bastion.enabled) return { holds: true, detail: 'no bastion (BASTION_ENABLED=false)' }
      await before?.(ctx, t, s)
      const sg = s.vpc ? await findSecurityGroup(ctx.aws.ec2, t.cluster, s.vpc.VpcId!, role) : undefined
      s[key] = sg?.GroupId
      const { words } = securityGroupDrift(sg, spec(t, s))
      if (words.length) return { holds: false, detail: words.join('; ') }
      const rules = spec(t, s).ingress.map((r) => `tcp/${r.port} from ${r.cidr ?? r.sourceGroupId}`)
      return { holds: true, detail: `${sg!.GroupId}${rules.length ? ` admits ${rules.join(', ')}` : ' admits nothing inbound'}` }
    },
    async apply(ctx, s) {
      const t = target(ctx)
      await before?.(ctx, t, s)
      const existing = await findSecurityGroup(ctx.aws.ec2, t.cluster, s.vpc!.VpcId!, role)
      s[key] = await ensureSecurityGroup(ctx.aws.ec2, { cluster: t.cluster, vpcId: s.vpc!.VpcId!, existing, spec: spec(t, s) })
      return `${s[key]} ${securityGroupDrift(existing, spec(t, s)).words.join('; ')}`
    },
  }
}

export function bastionSecurityGroupTask(target: TargetOf): Task<NetworkState> {
  return securityGroupTask(
    'Bastion security group (SSH only from BASTION_SSH_CIDR, if set)',
    target,
    'bastion-sg',
    bastionSgSpec,
    'bastionSgId',
  )
}

/**
 * The control plane's group. For a cluster operated through a peering (the Auditor's), the peer
 * bastion's group once the peering is active, the peer VPC's range before: so 05 runs it twice,
 * before the peering (the range: eksctl must reach the new API through the peering) and after it
 * (`narrowed`: the range replaced by the bastion's group), on a rerun too.
 */
export function controlPlaneSecurityGroupTask(target: TargetOf, o: { narrowed?: boolean } = {}): Task<NetworkState> {
  return securityGroupTask(
    o.narrowed
      ? "Control-plane security group admits HTTPS (443) from the peer bastion's group, the peering being active"
      : 'Control-plane security group admits HTTPS (443) from the bastion',
    target,
    'control-plane-sg',
    (t, s) => controlPlaneSgSpec(t, s.bastionSgId, s.peerBastionSgId),
    'controlPlaneSgId',
    async (ctx, t, s) => {
      s.peerBastionSgId = undefined
      if (!t.peerBastionOf) return
      const peer = await findVpc(ctx.aws.ec2, t.peerBastionOf)
      if (!peer || !s.vpc || !(await activePeeringBetween(ctx.aws.ec2, s.vpc.VpcId!, peer.VpcId!))) return
      s.peerBastionSgId = (await findSecurityGroup(ctx.aws.ec2, t.peerBastionOf, peer.VpcId!, 'bastion-sg'))?.GroupId
    },
  )
}

/** The operator policy the bastion's role should carry (normalised), or undefined (BASTION_OPERATOR_POLICY=false). */
async function wantedOperatorPolicy(ctx: TaskContext): Promise<string | undefined> {
  const c = ctx.config
  if (!c.bastion.operatorPolicy) return undefined
  const account = (await ctx.aws.identity()).Account
  return normalisePolicy(operatorPolicy(policyScope(c, account)))
}

export function bastionIdentityTask(target: TargetOf): Task<NetworkState> {
  return {
    title: 'Bastion IAM role and instance profile for SSM Session Manager (and BASTION_OPERATOR_POLICY)',
    async check(ctx) {
      const t = target(ctx)
      if (!t.bastion.enabled) return { holds: true, detail: 'no bastion (BASTION_ENABLED=false)' }
      const [id, wanted, boundary] = await Promise.all([
        bastionIdentity(ctx.aws.iam, t.cluster),
        wantedOperatorPolicy(ctx),
        callerBoundaryArn(ctx),
      ])
      if (id.roleExists && !id.roleOwned) {
        return {
          holds: false,
          conflict: `IAM role ${bastionRoleName(t.cluster)} exists but was not created by this runbook for ${t.cluster}`,
          hint: 'choose another CLUSTER_NAME, or delete or tag that role yourself',
        }
      }
      const drift = identityDrift(id, wanted, boundary)
      return drift.length
        ? { holds: false, detail: drift.join('; ') }
        : { holds: true, detail: `${bastionRoleName(t.cluster)}${wanted ? ` with ${OPERATOR_POLICY_NAME}` : ''}` }
    },
    async apply(ctx) {
      const t = target(ctx)
      const [wanted, boundary, id] = await Promise.all([
        wantedOperatorPolicy(ctx),
        callerBoundaryArn(ctx),
        bastionIdentity(ctx.aws.iam, t.cluster),
      ])
      const done = identityDrift(id, wanted, boundary)
      await ensureBastionIdentity(ctx.aws.iam, t.cluster, id, wanted, boundary)
      return `${bastionRoleName(t.cluster)}: ${done.join('; ')}`
    },
  }
}

function describeBastion(i: { InstanceId?: string; PublicIpAddress?: string }): string {
  return `${i.InstanceId} ${i.PublicIpAddress ?? '(no public IP yet)'}; connect: aws ssm start-session --target ${i.InstanceId}`
}

export function bastionTask(target: TargetOf): Task<NetworkState> {
  return {
    title: 'Bastion host running in a public subnet (public IP, IMDSv2 required)',
    async check(ctx, s) {
      const t = target(ctx)
      s.bastion = await findBastion(ctx.aws.ec2, t.cluster)
      if (!t.bastion.enabled) {
        return {
          holds: true,
          detail: `no bastion (BASTION_ENABLED=false)${s.bastion ? `; ${s.bastion.InstanceId} from an earlier run is left as it is (99-teardown removes it)` : ''}`,
        }
      }
      if (!s.bastion)
        return { holds: false, detail: `launch a ${t.bastion.instanceType} (Amazon Linux 2023) in ${s.azs[0] ?? 'the first AZ'}` }
      const drift = bastionDrift(s.bastion)
      if (s.bastion.State?.Name === 'pending') drift.push('wait until running')
      return drift.length ? { holds: false, detail: drift.join('; ') } : { holds: true, detail: describeBastion(s.bastion) }
    },
    async apply(ctx, s) {
      const t = target(ctx)
      const ec2 = ctx.aws.ec2
      let instance = s.bastion
      if (instance) {
        await repairBastion(ec2, instance)
      } else {
        const subnet = subnetsOf(s.subnets, 'public')[0]
        if (!subnet || !s.bastionSgId)
          throw new RunbookError('the public subnet or the bastion security group is missing', 'rerun the step: those tasks come first')
        const amiId = await latestAmazonLinuxAmi(ctx.aws.ssm, t.bastion.instanceType)
        // The tools at first boot (user data); bastionToolsTask keeps them at the wanted versions later.
        const bootstrap = wantedBootstrap(ctx.config)
        const launch = () =>
          launchBastion(ec2, {
            cluster: t.cluster,
            amiId,
            instanceType: t.bastion.instanceType,
            subnetId: subnet.SubnetId!,
            securityGroupId: s.bastionSgId!,
            instanceProfile: bastionRoleName(t.cluster),
            keyName: t.bastion.keyName,
            bootstrap: typeof bootstrap === 'string' ? undefined : bootstrap,
          })
        // A new instance profile takes a few seconds to be usable by EC2.
        instance = await waitFor(
          { what: `the bastion's instance profile to be usable`, timeoutMs: Math.min(ctx.config.waitTimeoutMs, 120_000), log: ctx.log },
          async () => {
            try {
              return { done: true, status: 'launched', value: await launch() }
            } catch (err) {
              if (isAwsError(err, 'InvalidParameterValue') && /iam instance profile/i.test((err as Error).message))
                return { done: false, status: (err as Error).message }
              throw err
            }
          },
        )
      }
      const id = instance!.InstanceId!
      s.bastion = await waitFor(
        { what: `bastion ${id} to be running with a public IP`, timeoutMs: ctx.config.waitTimeoutMs, log: ctx.log },
        async () => {
          const now = await describeInstance(ec2, id)
          const state = now?.State?.Name ?? 'not visible yet'
          if (state === 'terminated' || state === 'shutting-down')
            return { done: false, status: state, failed: `the instance is ${state}: ${now?.StateReason?.Message ?? ''}` }
          return {
            done: state === 'running' && Boolean(now?.PublicIpAddress),
            status: `${state}${now?.PublicIpAddress ? ` ${now.PublicIpAddress}` : ''}`,
            value: now,
          }
        },
      )
      return describeBastion(s.bastion!)
    },
  }
}
