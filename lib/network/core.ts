// Step 1, first half: availability zones, the VPC, its subnets and the internet gateway.
import type { Subnet } from '@aws-sdk/client-ec2'
import { chooseZones, usableZones } from '../aws/azs.ts'
import { attachInternetGateway, createInternetGateway, findInternetGateway, isAttached } from '../aws/internet-gateway.ts'
import { createSubnet, findSubnets, repairSubnet, subnetDrift, subnetsOf, type Tier } from '../aws/subnets.ts'
import { createVpc, enableVpcDns, findVpc, vpcDns } from '../aws/vpc.ts'
import { planSubnets } from './cidr.ts'
import { RunbookError } from '../engine/errors.ts'
import type { Task } from '../engine/task.ts'
import { waitFor } from '../engine/wait.ts'
import type { NetworkState, TargetOf } from './target.ts'

const NEEDED_AZS = 3

export function availabilityZonesTask(target: TargetOf): Task<NetworkState> {
  return {
    title: `Choose ${NEEDED_AZS} availability zones`,
    async check(ctx, s) {
      const t = target(ctx)
      // Zones by zone ID where EKS runs and both node instance types are offered; the zones the
      // runbook's subnets already use are kept (the choice is recorded by the subnets themselves).
      const [zones, existing] = await Promise.all([
        usableZones(ctx.aws.ec2, [ctx.config.nodeInstanceType, ctx.config.systemNodeInstanceType]),
        findSubnets(ctx.aws.ec2, t.cluster),
      ])
      const available = zones.usable
      s.subnets = existing
      s.azs = chooseZones(
        available,
        existing.map((x) => x.AvailabilityZone!),
        NEEDED_AZS,
      )
      const skipped = zones.skipped.map((z) => `${z.zone} (${z.id}): ${z.reason}`).join('; ')
      if (s.azs.length < NEEDED_AZS) {
        return {
          holds: false,
          conflict: `${ctx.config.region} has ${available.length} usable AZs (${available.join(', ') || 'none'}); the guide needs ${NEEDED_AZS}${skipped ? `; left out: ${skipped}` : ''}`,
          hint: 'choose a region with at least 3 availability zones offering NODE_INSTANCE_TYPE and SYSTEM_NODE_INSTANCE_TYPE, or other instance types',
        }
      }
      return { holds: true, detail: `${s.azs.join(', ')}${skipped ? ` (left out: ${skipped})` : ''}` }
    },
  }
}

export function vpcTask(target: TargetOf): Task<NetworkState> {
  return {
    title: 'VPC with DNS support and hostnames',
    async check(ctx, s) {
      const t = target(ctx)
      s.vpc = await findVpc(ctx.aws.ec2, t.cluster)
      if (!s.vpc) return { holds: false, detail: `create VPC ${t.vpcCidr} (${t.cluster}-vpc)` }
      if (s.vpc.CidrBlock !== t.vpcCidr) {
        return {
          holds: false,
          conflict: `the VPC of this cluster, ${s.vpc.VpcId}, has CIDR ${s.vpc.CidrBlock} but VPC_CIDR is ${t.vpcCidr}`,
          hint: `a VPC's CIDR cannot change: set VPC_CIDR=${s.vpc.CidrBlock}, or tear the environment down first`,
        }
      }
      const dns = await vpcDns(ctx.aws.ec2, s.vpc.VpcId!)
      const missing = [...(dns.support ? [] : ['DNS support']), ...(dns.hostnames ? [] : ['DNS hostnames'])]
      return missing.length
        ? { holds: false, detail: `enable ${missing.join(' and ')} on ${s.vpc.VpcId}` }
        : { holds: true, detail: `${s.vpc.VpcId} ${s.vpc.CidrBlock}` }
    },
    async apply(ctx, s) {
      const t = target(ctx)
      const ec2 = ctx.aws.ec2
      let created = false
      if (!s.vpc) {
        s.vpc = await createVpc(ec2, t.cluster, t.vpcCidr)
        created = true
        const id = s.vpc.VpcId!
        await waitFor({ what: `VPC ${id} to be available`, timeoutMs: ctx.config.waitTimeoutMs, log: ctx.log }, async () => {
          const v = await findVpc(ec2, t.cluster)
          return { done: v?.State === 'available', status: v?.State ?? 'not visible yet' }
        })
      }
      await enableVpcDns(ec2, s.vpc.VpcId!, created ? { support: false, hostnames: false } : await vpcDns(ec2, s.vpc.VpcId!))
      return `${created ? 'created' : 'updated'} ${s.vpc.VpcId} ${t.vpcCidr}`
    },
  }
}

function missingSubnets(s: NetworkState, vpcCidr: string, tier: Tier) {
  const have = new Set(subnetsOf(s.subnets, tier).map((x) => x.AvailabilityZone))
  const plan = planSubnets(vpcCidr, s.azs.length).filter((p) => p.tier === tier)
  return plan.map((p) => ({ ...p, azName: s.azs[p.az]! })).filter((p) => !have.has(p.azName))
}

export function subnetsTask(target: TargetOf, tier: Tier): Task<NetworkState> {
  return {
    title: `${tier === 'public' ? 'Public' : 'Private'} subnets in ${NEEDED_AZS} AZs (tagged for ${tier === 'public' ? 'internet-facing' : 'internal'} load balancers)`,
    async check(ctx, s) {
      const t = target(ctx)
      const missing = missingSubnets(s, t.vpcCidr, tier)
      const drift = subnetsOf(s.subnets, tier).flatMap((x) => subnetDrift(x, tier).map((d) => `${x.SubnetId}: ${d}`))
      if (!missing.length && !drift.length)
        return {
          holds: true,
          detail: subnetsOf(s.subnets, tier)
            .map((x) => `${x.AvailabilityZone} ${x.CidrBlock}`)
            .join(', '),
        }
      return { holds: false, detail: [...missing.map((m) => `create ${m.cidr} in ${m.azName}`), ...drift].join('; ') }
    },
    async apply(ctx, s) {
      const t = target(ctx)
      const vpcId = s.vpc?.VpcId
      if (!vpcId) throw new RunbookError('no VPC to create subnets in', 'rerun the step: the VPC task comes first')
      const ec2 = ctx.aws.ec2
      const missing = missingSubnets(s, t.vpcCidr, tier)
      const created: Subnet[] = await Promise.all(
        missing.map((m) => createSubnet(ec2, { cluster: t.cluster, vpcId, tier, az: m.azName, cidr: m.cidr })),
      )
      s.subnets.push(...created)
      for (const x of subnetsOf(s.subnets, tier)) if (subnetDrift(x, tier).length) await repairSubnet(ec2, x, tier)
      if (tier === 'public') s.subnets = await findSubnets(ec2, t.cluster) // MapPublicIpOnLaunch as now set
      return created.length ? `created ${created.map((x) => `${x.SubnetId} ${x.CidrBlock}`).join(', ')}` : 'repaired subnet settings'
    },
  }
}

export function internetGatewayTask(target: TargetOf): Task<NetworkState> {
  return {
    title: 'Internet gateway attached to the VPC',
    async check(ctx, s) {
      const t = target(ctx)
      s.igw = await findInternetGateway(ctx.aws.ec2, t.cluster)
      if (!s.igw) return { holds: false, detail: `create ${t.cluster}-igw and attach it` }
      if (!s.vpc || !isAttached(s.igw, s.vpc.VpcId!)) return { holds: false, detail: `attach ${s.igw.InternetGatewayId}` }
      return { holds: true, detail: s.igw.InternetGatewayId }
    },
    async apply(ctx, s) {
      const t = target(ctx)
      s.igw ??= await createInternetGateway(ctx.aws.ec2, t.cluster)
      if (!isAttached(s.igw, s.vpc!.VpcId!)) {
        await attachInternetGateway(ctx.aws.ec2, s.igw.InternetGatewayId!, s.vpc!.VpcId!)
        s.igw.Attachments = [{ VpcId: s.vpc!.VpcId!, State: 'attached' }]
      }
      return `${s.igw.InternetGatewayId} attached to ${s.vpc!.VpcId}`
    },
  }
}
