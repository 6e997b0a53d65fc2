// The envoy's load balancer as AWS sees it. EKS's built-in controller (kubernetes/cloud-provider-aws
// pkg/providers/v1) makes one NLB per `aws-load-balancer-type: nlb` Service, named from the
// Service's UID, and reports its DNS name while it is still provisioning; its targets are the
// nodes on the NodePort, `initial` until their first health checks pass.
import { DescribeNetworkInterfacesCommand, type EC2Client } from '@aws-sdk/client-ec2'
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  paginateDescribeLoadBalancers,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { isAwsError } from './clients.ts'

/** k8s.io/cloud-provider cloud.go DefaultLoadBalancerName, used by cloud-provider-aws v1.32.8 aws.go:2590: "a" + UID without dashes, 32 at most. */
export const nlbName = (serviceUid: string) => `a${serviceUid}`.replace(/-/g, '').slice(0, 32)

/** Whether EKS's built-in controller makes this Service's NLB (aws_loadbalancer.go:85: the type annotation is exactly "nlb"). */
export const isInTreeNlb = (svc: { spec?: { type?: string }; metadata: Record<string, unknown> }) =>
  svc.spec?.type === 'LoadBalancer' &&
  (svc.metadata.annotations as Record<string, string> | undefined)?.['service.beta.kubernetes.io/aws-load-balancer-type'] === 'nlb'

export async function findLoadBalancer(elb: ElasticLoadBalancingV2Client, name: string): Promise<LoadBalancer | undefined> {
  try {
    return (await elb.send(new DescribeLoadBalancersCommand({ Names: [name] }))).LoadBalancers?.[0]
  } catch (e) {
    if (isAwsError(e, 'LoadBalancerNotFoundException', 'LoadBalancerNotFound')) return undefined
    throw e
  }
}

interface TargetsHealth {
  /** Per listener port's target group: healthy targets of all, and the other states seen. */
  groups: { port?: number; healthy: number; total: number; other: string[] }[]
}

export async function targetsHealth(elb: ElasticLoadBalancingV2Client, loadBalancerArn: string): Promise<TargetsHealth> {
  // A load balancer whose listeners are still being made has no target group yet: an empty list,
  // or TargetGroupNotFoundException (moto answers so; seen as a failed 04 in one run in twenty):
  // not ready yet either way.
  const groups = await elb
    .send(new DescribeTargetGroupsCommand({ LoadBalancerArn: loadBalancerArn }))
    .then((o) => o.TargetGroups ?? [])
    .catch((e) => {
      if (isAwsError(e, 'TargetGroupNotFoundException', 'TargetGroupNotFound')) return []
      throw e
    })
  return {
    groups: await Promise.all(
      groups.map(async (g) => {
        const d = (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }))).TargetHealthDescriptions ?? []
        const other = d
          .filter((x) => x.TargetHealth?.State !== 'healthy')
          .map((x) => `${x.Target?.Id} ${x.TargetHealth?.State}${x.TargetHealth?.Reason ? ` (${x.TargetHealth.Reason})` : ''}`)
        return { port: g.Port, healthy: d.length - other.length, total: d.length, other }
      }),
    ),
  }
}

/** Ready to carry traffic: active, and every target group has a healthy target. */
interface NlbState {
  ready: boolean
  /** e.g. "NLB a1b2... active, targets 3/3 and 3/3 healthy". */
  status: string
}

export async function nlbState(elb: ElasticLoadBalancingV2Client, serviceUid: string): Promise<NlbState> {
  const name = nlbName(serviceUid)
  const lb = await findLoadBalancer(elb, name)
  if (!lb) return { ready: false, status: `NLB ${name} not found yet` }
  const state = lb.State?.Code ?? 'unknown'
  if (state !== 'active') return { ready: false, status: `NLB ${name} ${state}${lb.State?.Reason ? ` (${lb.State.Reason})` : ''}` }
  const h = await targetsHealth(elb, lb.LoadBalancerArn!)
  const ready = h.groups.length > 0 && h.groups.every((g) => g.healthy > 0)
  const counts = h.groups.map((g) => `${g.healthy}/${g.total}`).join(' and ')
  const seen = [...new Set(h.groups.flatMap((g) => g.other))].slice(0, 3)
  return { ready, status: `NLB ${name} active, targets ${counts || 'none'} healthy${seen.length && !ready ? `; ${seen.join(', ')}` : ''}` }
}

interface Leftover {
  loadBalancers: { name: string; service?: string }[]
  interfaces: { id: string; description: string }[]
}

/** The load balancers in the VPC, with the Service named by their `kubernetes.io/service-name` tag (aws_loadbalancer.go:157-161). */
export async function loadBalancersInVpc(elb: ElasticLoadBalancingV2Client, vpcId: string): Promise<Leftover['loadBalancers']> {
  const lbs: LoadBalancer[] = []
  for await (const page of paginateDescribeLoadBalancers({ client: elb }, {}))
    lbs.push(...(page.LoadBalancers ?? []).filter((l) => l.VpcId === vpcId))
  const services = new Map<string, string>()
  for (let i = 0; i < lbs.length; i += 20) {
    const out = await elb.send(new DescribeTagsCommand({ ResourceArns: lbs.slice(i, i + 20).map((l) => l.LoadBalancerArn!) }))
    for (const d of out.TagDescriptions ?? []) {
      const svc = d.Tags?.find((t) => t.Key === 'kubernetes.io/service-name')?.Value
      if (svc) services.set(d.ResourceArn!, svc)
    }
  }
  return lbs.map((l) => ({ name: l.LoadBalancerName!, service: services.get(l.LoadBalancerArn!) }))
}

/** Load balancers in the VPC and the ELB network interfaces left in it (they keep its subnets from being deleted). */
export async function leftoverLoadBalancers(elb: ElasticLoadBalancingV2Client, ec2: EC2Client, vpcId: string): Promise<Leftover> {
  const [loadBalancers, enis] = await Promise.all([
    loadBalancersInVpc(elb, vpcId),
    ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'description', Values: ['ELB *'] },
        ],
      }),
    ),
  ])
  return {
    loadBalancers,
    interfaces: (enis.NetworkInterfaces ?? []).map((e) => ({ id: e.NetworkInterfaceId!, description: e.Description ?? '' })),
  }
}

export function describeLeftover(l: Leftover): string {
  return [
    ...l.loadBalancers.map((b) => `load balancer ${b.name}${b.service ? ` (Service ${b.service})` : ''}`),
    ...l.interfaces.map((e) => `network interface ${e.id} (${e.description})`),
  ].join(', ')
}
