import { DescribeAvailabilityZonesCommand, type EC2Client } from '@aws-sdk/client-ec2'

/** Available, default (not opt-in) availability zones of the region, sorted by name. */
export async function availableZones(ec2: EC2Client): Promise<string[]> {
  const out = await ec2.send(
    new DescribeAvailabilityZonesCommand({
      Filters: [
        { Name: 'state', Values: ['available'] },
        { Name: 'zone-type', Values: ['availability-zone'] },
      ],
    }),
  )
  return (out.AvailabilityZones ?? [])
    .filter((z) => !z.OptInStatus || z.OptInStatus === 'opt-in-not-required')
    .map((z) => z.ZoneName!)
    .sort()
}

/** The AZs to build in: those the runbook's subnets already use first, then the first free ones. */
export function chooseZones(available: string[], alreadyUsed: string[], count = 3): string[] {
  const chosen = [...new Set(alreadyUsed)].sort()
  for (const az of available) if (chosen.length < count && !chosen.includes(az)) chosen.push(az)
  return chosen.slice(0, Math.max(count, chosen.length))
}
