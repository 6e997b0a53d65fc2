// Step 1: NAT gateway(s) with Elastic IPs in the public subnets, so private nodes reach
// GitHub Packages and AWS APIs.
import type { Address, NatGateway } from '@aws-sdk/client-ec2'
import { subnetsOf } from '../aws/subnets.ts'
import {
  addressAz,
  allocateNatAddress,
  createNatGateway,
  describeNatGateways,
  findNatAddresses,
  findNatGateways,
  natAz,
} from '../aws/nat.ts'
import { RunbookError } from '../engine/errors.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { waitFor } from '../engine/wait.ts'
import { natZones, type NetworkState, type TargetOf } from './target.ts'

interface NatPlan {
  az: string
  nat?: NatGateway
  address?: Address
}

function plan(zones: string[], nats: NatGateway[], addresses: Address[]): NatPlan[] {
  return zones.map((az) => {
    const nat = nats.find((n) => natAz(n) === az)
    const allocationId = nat?.NatGatewayAddresses?.[0]?.AllocationId
    // The NAT's own address, or a free one tagged for this AZ (left by an interrupted run).
    const address =
      addresses.find((a) => a.AllocationId === allocationId) ??
      addresses.find(
        (a) =>
          addressAz(a) === az &&
          !a.AssociationId &&
          !nats.some((n) => n.NatGatewayAddresses?.some((x) => x.AllocationId === a.AllocationId)),
      )
    return { az, nat, address }
  })
}

/**
 * Creates the missing NAT gateways and, unless `wait` is false, waits until they are available.
 * With wait false the step goes on (the bastion launches meanwhile: both take minutes on AWS)
 * and natGatewaysAvailableTask waits later, before the private routes need them.
 */
export function natGatewaysTask(target: TargetOf, o: { wait?: boolean } = {}): Task<NetworkState & { natAddresses?: Address[] }> {
  const wait = o.wait ?? true
  return {
    title: wait
      ? 'NAT gateway(s) with Elastic IPs in the public subnets'
      : 'NAT gateway(s) with Elastic IPs in the public subnets (created; available is checked below)',
    async check(ctx, s) {
      const t = target(ctx)
      const [nats, addresses] = await Promise.all([findNatGateways(ctx.aws.ec2, t.cluster), findNatAddresses(ctx.aws.ec2, t.cluster)])
      s.nats = nats
      s.natAddresses = addresses
      const zones = natZones(t, s.azs)
      const p = plan(zones, nats, addresses)
      const todo = p.flatMap((x) =>
        !x.nat
          ? [`create NAT gateway in ${x.az}${x.address ? ` with ${x.address.PublicIp}` : ' with a new Elastic IP'}`]
          : wait && x.nat.State !== 'available'
            ? [`wait for ${x.nat.NatGatewayId} (${x.nat.State})`]
            : [],
      )
      const surplus = nats.filter((n) => !zones.includes(natAz(n) ?? ''))
      const note = surplus.length
        ? ` (NAT_GATEWAYS=${t.natGateways}: ${surplus.map((n) => n.NatGatewayId).join(', ')} no longer routed to; 99-teardown or the console removes them)`
        : ''
      if (todo.length) return { holds: false, detail: todo.join('; ') + note }
      return {
        holds: true,
        detail:
          p
            .map((x) =>
              `${x.az} ${x.nat!.NatGatewayId} ${x.address?.PublicIp ?? ''}${x.nat!.State !== 'available' ? ` (${x.nat!.State})` : ''}`.trim(),
            )
            .join(', ') + note,
      }
    },
    async apply(ctx, s) {
      const t = target(ctx)
      const ec2 = ctx.aws.ec2
      const publicSubnets = subnetsOf(s.subnets, 'public')
      const p = plan(natZones(t, s.azs), s.nats, s.natAddresses ?? [])
      const created = await Promise.all(
        p.map(async (x) => {
          if (x.nat) return x.nat
          const subnet = publicSubnets.find((sn) => sn.AvailabilityZone === x.az)
          if (!subnet)
            throw new RunbookError(`no public subnet in ${x.az} for its NAT gateway`, 'rerun the step: the subnet task comes first')
          const address = x.address ?? (await allocateNatAddress(ec2, t.cluster, x.az))
          return createNatGateway(ec2, { cluster: t.cluster, az: x.az, subnetId: subnet.SubnetId!, allocationId: address.AllocationId! })
        }),
      )
      const ids = created.map((n) => n.NatGatewayId!)
      if (!wait) {
        s.nats = created
        return created.map((n) => `${natAz(n)} ${n.NatGatewayId} (${n.State ?? 'pending'})`).join(', ')
      }
      s.nats = await waitAvailable(ctx, ids)
      return s.nats.map((n) => `${natAz(n)} ${n.NatGatewayId}`).join(', ')
    },
    hint: 'a failed NAT gateway is not reused: rerun the step to create a new one (its Elastic IP is kept and reused)',
  }
}

/** NAT gateways take a few minutes on AWS: wait for all of them together. */
async function waitAvailable(ctx: TaskContext, ids: string[]): Promise<NatGateway[]> {
  const ec2 = ctx.aws.ec2
  return (await waitFor(
    {
      what: `NAT gateway${ids.length > 1 ? 's' : ''} ${ids.join(', ')} to be available`,
      timeoutMs: ctx.config.waitTimeoutMs,
      log: ctx.log,
    },
    async () => {
      const now = await describeNatGateways(ec2, ids)
      const failed = now.find((n) => n.State === 'failed' || n.State === 'deleted')
      return {
        done: now.length === ids.length && now.every((n) => n.State === 'available'),
        status: now.map((n) => `${n.NatGatewayId} ${n.State}`).join(', '),
        value: now,
        failed: failed ? `${failed.NatGatewayId} is ${failed.State}: ${failed.FailureMessage ?? 'no reason given'}` : undefined,
      }
    },
  ))!
}

/** Waits for the NAT gateways natGatewaysTask({ wait: false }) created. */
export function natGatewaysAvailableTask(target: TargetOf): Task<NetworkState> {
  return {
    title: 'NAT gateway(s) available',
    async check(ctx, s) {
      const t = target(ctx)
      s.nats = await findNatGateways(ctx.aws.ec2, t.cluster)
      const zones = natZones(t, s.azs)
      const mine = s.nats.filter((n) => zones.includes(natAz(n) ?? ''))
      if (!mine.length)
        return ctx.dryRun
          ? { holds: false, detail: 'wait for the NAT gateway(s) created above' }
          : { holds: false, conflict: 'no NAT gateway found', hint: 'rerun the step: the NAT gateway task comes first' }
      const pending = mine.filter((n) => n.State !== 'available')
      return pending.length
        ? { holds: false, detail: `wait for ${pending.map((n) => `${n.NatGatewayId} (${n.State})`).join(', ')}` }
        : { holds: true, detail: mine.map((n) => `${natAz(n)} ${n.NatGatewayId} available`).join(', ') }
    },
    async apply(ctx, s) {
      const t = target(ctx)
      const zones = natZones(t, s.azs)
      const ids = s.nats.filter((n) => zones.includes(natAz(n) ?? '')).map((n) => n.NatGatewayId!)
      s.nats = await waitAvailable(ctx, ids)
      return s.nats.map((n) => `${natAz(n)} ${n.NatGatewayId} available`).join(', ')
    },
    hint: 'a failed NAT gateway is not reused: rerun the step to create a new one (its Elastic IP is kept and reused)',
  }
}
