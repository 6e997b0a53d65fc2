import { DescribeAvailabilityZonesCommand, paginateDescribeInstanceTypeOfferings, type EC2Client } from '@aws-sdk/client-ec2'

/**
 * Zone IDs where EKS does not place control planes (UnsupportedAvailabilityZoneException); eksctl
 * avoids the same ones (eksctl-io/eksctl v0.230.0 pkg/az/az.go:21-25). Zone names map to different
 * zone IDs in each account, so they are judged by ID.
 */
const EKS_UNSUPPORTED_ZONE_IDS = new Set(['use1-az3', 'usw1-az2', 'cac1-az3'])

interface Zones {
  /** Usable zone names, sorted. */
  usable: string[]
  /** Zones left out, and why. */
  skipped: { zone: string; id: string; reason: string }[]
}

/**
 * Available, default (not opt-in) availability zones of the region where EKS can run and every
 * one of `instanceTypes` is offered (DescribeInstanceTypeOfferings), sorted by name.
 */
export async function usableZones(ec2: EC2Client, instanceTypes: string[] = []): Promise<Zones> {
  const out = await ec2.send(
    new DescribeAvailabilityZonesCommand({
      Filters: [
        { Name: 'state', Values: ['available'] },
        { Name: 'zone-type', Values: ['availability-zone'] },
      ],
    }),
  )
  const zones = (out.AvailabilityZones ?? []).filter((z) => !z.OptInStatus || z.OptInStatus === 'opt-in-not-required')
  const types = [...new Set(instanceTypes)]
  const offered = new Map<string, Set<string>>()
  if (types.length) {
    // By zone name: EC2 answers in this account's names, which DescribeAvailabilityZones maps to IDs.
    for await (const page of paginateDescribeInstanceTypeOfferings(
      { client: ec2 },
      { LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: types }] },
    )) {
      for (const o of page.InstanceTypeOfferings ?? [])
        offered.set(o.Location!, (offered.get(o.Location!) ?? new Set()).add(o.InstanceType!))
    }
  }
  const usable: string[] = []
  const skipped: Zones['skipped'] = []
  for (const z of zones) {
    const id = z.ZoneId ?? ''
    const missing = types.filter((t) => !offered.get(z.ZoneName!)?.has(t))
    if (EKS_UNSUPPORTED_ZONE_IDS.has(id)) skipped.push({ zone: z.ZoneName!, id, reason: 'EKS does not support this zone ID' })
    else if (missing.length) skipped.push({ zone: z.ZoneName!, id, reason: `${missing.join(', ')} not offered` })
    else usable.push(z.ZoneName!)
  }
  return { usable: usable.sort(), skipped }
}

/** Available, default (not opt-in) availability zones of the region, sorted by name. */
export async function availableZones(ec2: EC2Client, instanceTypes: string[] = []): Promise<string[]> {
  return (await usableZones(ec2, instanceTypes)).usable
}

/** The AZs to build in: those the runbook's subnets already use first, then the first usable ones. */
export function chooseZones(available: string[], alreadyUsed: string[], count = 3): string[] {
  const chosen = [...new Set(alreadyUsed)].sort()
  for (const az of available) if (chosen.length < count && !chosen.includes(az)) chosen.push(az)
  return chosen.slice(0, Math.max(count, chosen.length))
}
