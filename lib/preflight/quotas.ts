// Whether the account's quotas leave room for what the configuration builds, before anything is
// built: a quota found exhausted half-way leaves a half-made environment. Each quota is judged as
// "used by others + wanted <= limit", where what the runbook already made (found by its tags)
// counts as wanted, not as used, so a rerun on a finished environment passes.
import {
  paginateDescribeInstances,
  paginateDescribeNatGateways,
  paginateDescribeVpcs,
  DescribeAddressesCommand,
  DescribeInstanceTypesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2'
import { paginateListClusters } from '@aws-sdk/client-eks'
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, type ServiceQuotasClient } from '@aws-sdk/client-service-quotas'
import { isAwsError } from '../aws/clients.ts'
import { availableZones } from '../aws/azs.ts'
import { CLUSTER_TAG, ROLE_TAG } from '../aws/tags.ts'
import { deploymentClusters, type Config } from '../config/load.ts'
import type { CheckResult, Task, TaskContext } from '../engine/task.ts'

/**
 * The quotas a deployment uses. Codes: amazon-vpc-user-guide amazon-vpc-limits.md (L-F678F1CE,
 * L-FE5A380F, L-0263D0A3 "Elastic IP addresses per Region"), the EKS quotas page (L-1194D53C), the
 * EC2 On-Demand quotas (L-1216C47A, counted in vCPUs of running instances:
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-on-demand-instances.html).
 */
const QUOTA = {
  elasticIps: { service: 'ec2', code: 'L-0263D0A3', name: 'Elastic IPs per Region' },
  vpcs: { service: 'vpc', code: 'L-F678F1CE', name: 'VPCs per Region' },
  natPerAz: { service: 'vpc', code: 'L-FE5A380F', name: 'NAT gateways per Availability Zone' },
  clusters: { service: 'eks', code: 'L-1194D53C', name: 'EKS clusters per Region' },
  standardVcpus: { service: 'ec2', code: 'L-1216C47A', name: 'Running On-Demand Standard instances (vCPUs)' },
} as const
type QuotaId = keyof typeof QUOTA

/**
 * The applied value, or the default where the account has none: GetServiceQuota answers
 * NoSuchResourceException then (the API reference: "If the applied quota value is not available
 * for a quota, the quota is not retrieved"; GetAWSDefaultServiceQuota gives the default).
 */
async function quotaValue(sq: ServiceQuotasClient, id: QuotaId): Promise<{ value: number; applied: boolean }> {
  const q = QUOTA[id]
  try {
    const out = await sq.send(new GetServiceQuotaCommand({ ServiceCode: q.service, QuotaCode: q.code }))
    if (out.Quota?.Value !== undefined) return { value: out.Quota.Value, applied: true }
  } catch (err) {
    if (!isAwsError(err, 'NoSuchResourceException')) throw err
  }
  const out = await sq.send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: q.service, QuotaCode: q.code }))
  return { value: out.Quota?.Value ?? 0, applied: false }
}

/** The clusters the configuration makes (each with its own VPC, NAT gateways and EKS cluster). */
const clusterNames = deploymentClusters
const natsPerCluster = (c: Config) => (c.natGateways === 'per-az' ? 3 : 1)
/** Whether tags mark a resource the runbook made for one of the configuration's clusters. */
const ownedBy = (c: Config, tags: { Key?: string; Value?: string }[] | undefined, keys = [CLUSTER_TAG]) =>
  Boolean(tags?.some((t) => keys.includes(t.Key ?? '') && clusterNames(c).includes(t.Value ?? '')))

/** The instance families AWS counts as Standard (A, C, D, H, I, M, R, T, Z: ec2-on-demand-instances.html). */
/**
 * Whether an instance type counts against "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z)
 * instances" (L-1216C47A). The DL, Inf, Trn and HPC families begin with those letters but have
 * quotas of their own, and Mac instances run only on Dedicated Hosts (EC2 user guide,
 * ec2-on-demand-instances.html#ec2-on-demand-instances-limits: the On-Demand instance quotas table).
 */
export const isStandard = (type: string) => /^[acdhimrtz]/.test(type) && !/^(dl|inf|trn|hpc|mac)\d/.test(type)

async function vcpusOf(ec2: EC2Client, types: string[]): Promise<Map<string, number>> {
  const unique = [...new Set(types)]
  if (!unique.length) return new Map()
  const out = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: unique as never[] }))
  return new Map((out.InstanceTypes ?? []).map((t) => [t.InstanceType as string, t.VCpuInfo?.DefaultVCpus ?? 0]))
}

interface Judged {
  limit: number
  applied: boolean
  /** Used by what the runbook did not make. */
  others: number
  /** What the configuration needs in all (made already or not). */
  wanted: number
  unit: string
  where?: string
}

function verdict(id: QuotaId, j: Judged): CheckResult {
  const q = QUOTA[id]
  const source = j.applied ? 'applied' : 'default'
  const at = j.where ? ` in ${j.where}` : ''
  const detail = `${j.others} ${j.unit} used by others${at} + ${j.wanted} for this deployment, of ${j.limit} (${source})`
  if (j.others + j.wanted <= j.limit) return { holds: true, detail }
  return {
    holds: false,
    detail: `${detail}: ${j.others + j.wanted - j.limit} short`,
    hint: `ask for at least ${j.others + j.wanted} in Service Quotas (${q.service} ${q.code} "${q.name}"), or free some, before 01-vpc`,
  }
}

const judges: Record<QuotaId, (ctx: TaskContext) => Promise<Judged>> = {
  async elasticIps(ctx) {
    const c = ctx.config
    const [all, limit] = await Promise.all([ctx.aws.ec2.send(new DescribeAddressesCommand({})), quotaValue(ctx.aws.quotas, 'elasticIps')])
    // An allocated address counts whether or not it is associated (it stays allocated until released).
    const addresses = all.Addresses ?? []
    const used = addresses.length
    const made = addresses.filter((a) => ownedBy(c, a.Tags) && a.Tags?.some((t) => t.Key === ROLE_TAG && t.Value === 'nat-eip')).length
    return { ...limit, limit: limit.value, others: used - made, wanted: natsPerCluster(c) * clusterNames(c).length, unit: 'addresses' }
  },
  async vpcs(ctx) {
    const c = ctx.config
    let used = 0
    let made = 0
    for await (const page of paginateDescribeVpcs({ client: ctx.aws.ec2 }, {}))
      for (const v of page.Vpcs ?? []) {
        used++
        if (ownedBy(c, v.Tags)) made++
      }
    const limit = await quotaValue(ctx.aws.quotas, 'vpcs')
    return { ...limit, limit: limit.value, others: used - made, wanted: clusterNames(c).length, unit: 'VPCs' }
  },
  async natPerAz(ctx) {
    const c = ctx.config
    // NAT gateways count while pending, available or deleting (amazon-vpc-limits.md: "pending,
    // active, and deleting"); the busiest zone the design uses is the one that matters.
    const gateways: { subnet: string; mine: boolean }[] = []
    for await (const page of paginateDescribeNatGateways(
      { client: ctx.aws.ec2 },
      { Filter: [{ Name: 'state', Values: ['pending', 'available', 'deleting'] }] },
    ))
      for (const n of page.NatGateways ?? [])
        gateways.push({
          subnet: n.SubnetId!,
          mine: ownedBy(c, n.Tags),
        })
    const subnets = gateways.length
      ? ((await ctx.aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...new Set(gateways.map((g) => g.subnet))] }))).Subnets ?? [])
      : []
    const zoneOf = new Map(subnets.map((s) => [s.SubnetId!, s.AvailabilityZone!]))
    const zones = (await availableZones(ctx.aws.ec2, [c.nodeInstanceType, c.systemNodeInstanceType])).slice(0, natsPerCluster(c))
    const limit = await quotaValue(ctx.aws.quotas, 'natPerAz')
    const others = (z: string) => gateways.filter((g) => !g.mine && zoneOf.get(g.subnet) === z).length
    const busiest = zones.reduce((a, b) => (others(b) > others(a) ? b : a), zones[0] ?? '')
    // Each cluster puts at most one NAT gateway in a zone.
    return { ...limit, limit: limit.value, others: others(busiest), wanted: clusterNames(c).length, unit: 'NAT gateways', where: busiest }
  },
  async clusters(ctx) {
    const c = ctx.config
    const names: string[] = []
    for await (const page of paginateListClusters({ client: ctx.aws.eks }, {})) names.push(...(page.clusters ?? []))
    const limit = await quotaValue(ctx.aws.quotas, 'clusters')
    const made = names.filter((n) => clusterNames(c).includes(n)).length
    return { ...limit, limit: limit.value, others: names.length - made, wanted: clusterNames(c).length, unit: 'clusters' }
  },
  async standardVcpus(ctx) {
    const c = ctx.config
    // Nodes of both clusters (the Auditor's view has the same node settings) and the bastion.
    const wantedTypes: [string, number][] = [
      [c.nodeInstanceType, c.nodeCount * clusterNames(c).length],
      [c.systemNodeInstanceType, c.systemNodeCount * clusterNames(c).length],
      ...(c.bastion.enabled ? ([[c.bastion.instanceType, 1]] as [string, number][]) : []),
    ]
    const running: { type: string; mine: boolean }[] = []
    for await (const page of paginateDescribeInstances(
      { client: ctx.aws.ec2 },
      { Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }] },
    ))
      for (const r of page.Reservations ?? [])
        for (const i of r.Instances ?? [])
          running.push({
            type: i.InstanceType as string,
            // The bastion carries the runbook's tag; EKS's managed nodes carry eks:cluster-name.
            mine: ownedBy(c, i.Tags, [CLUSTER_TAG, 'eks:cluster-name']),
          })
    const [vcpus, limit] = await Promise.all([
      vcpusOf(ctx.aws.ec2, [...wantedTypes.map(([t]) => t), ...running.map((r) => r.type)].filter(isStandard)),
      quotaValue(ctx.aws.quotas, 'standardVcpus'),
    ])
    const others = running.filter((r) => !r.mine && isStandard(r.type)).reduce((n, r) => n + (vcpus.get(r.type) ?? 0), 0)
    const wanted = wantedTypes.filter(([t]) => isStandard(t)).reduce((n, [t, count]) => n + count * (vcpus.get(t) ?? 0), 0)
    return { ...limit, limit: limit.value, others, wanted, unit: 'vCPUs' }
  },
}

export function quotaTask(id: QuotaId): Task {
  return {
    title: `Quota: ${QUOTA[id].name}`,
    async check(ctx) {
      return verdict(id, await judges[id](ctx))
    },
  }
}

export const QUOTA_IDS = Object.keys(QUOTA) as QuotaId[]
