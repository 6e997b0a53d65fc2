// EKS's built-in load balancer controller (the AWS cloud provider's service controller) for
// Services of type LoadBalancer with `aws-load-balancer-type: nlb`, playing against moto: the NLB,
// its target groups, listeners and targets, its network interfaces, and the node security group's
// rules, as kubernetes/cloud-provider-aws v1.32.8 pkg/providers/v1 makes them. What AWS reports
// and moto does not (the NLB `provisioning` for minutes, target health, a subnet that cannot be
// deleted while an NLB's interfaces are in it) is answered through the AWS layer's hooks.
import { createHash } from 'node:crypto'
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type Subnet,
} from '@aws-sdk/client-ec2'
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks'
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { rewriteEach, type AwsHooks } from '../faults.ts'
import type { Cluster } from './cluster.ts'
import { isReady } from './conditions.ts'
import { byResource } from './resources.ts'
import { selectorMatches } from './selectors.ts'
import type { Obj } from './store.ts'
import { ownAws } from '../own-aws.ts'
import type { FrontDoors } from './front-door.ts'

const SERVICES = byResource('', 'services')!
const NODES = byResource('', 'nodes')!
const PODS = byResource('', 'pods')!

// cloud-provider-aws v1.32.8 pkg/providers/v1/aws.go:101 (internal), :84 (service-name tag), :69/:73/:77 (rule descriptions).
const ANNOTATION = {
  type: 'service.beta.kubernetes.io/aws-load-balancer-type',
  internal: 'service.beta.kubernetes.io/aws-load-balancer-internal',
  // k8s.io/api core/v1 annotation_key_constants.go AnnotationLoadBalancerSourceRangesKey, read by
  // k8s.io/cloud-provider service/helpers/helper.go GetLoadBalancerSourceRanges when the spec field is empty.
  sourceRanges: 'service.beta.kubernetes.io/load-balancer-source-ranges',
}
const RULE = { client: 'kubernetes.io/rule/nlb/client', health: 'kubernetes.io/rule/nlb/health', mtu: 'kubernetes.io/rule/nlb/mtu' }

/** k8s.io/cloud-provider cloud.go DefaultLoadBalancerName (aws.go:2590): "a" + the UID without dashes, cut to 32. */
export const loadBalancerName = (uid: string) => `a${uid}`.replace(/-/g, '').slice(0, 32)

/** aws_loadbalancer.go:656-671 buildTargetGroupName: k8s-<ns:8>-<name:8>-<sha1:10>, non-alphanumerics stripped. */
function targetGroupName(cluster: string, ns: string, name: string, port: number, nodePort: number): string {
  const clean = (x: string) => x.replace(/[^A-Za-z0-9]/g, '')
  const hash = createHash('sha1').update([cluster, ns, name, port, nodePort, 'TCP', 'instance', 'TCP', 30].join('/')).digest('hex')
  return `k8s-${clean(ns).slice(0, 8)}-${clean(name).slice(0, 8)}-${hash.slice(0, 10)}`
}

/** helper.go GetLoadBalancerSourceRanges: the spec field, else the annotation (comma-separated), else 0.0.0.0/0. */
function sourceRangesOf(s: Obj): string[] {
  const spec = (s.spec?.loadBalancerSourceRanges ?? []) as string[]
  if (spec.length) return spec.map((x) => x.trim())
  const a = String(s.metadata.annotations?.[ANNOTATION.sourceRanges] ?? '').trim()
  return a
    ? a
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : ['0.0.0.0/0']
}

const isNlb = (s: Obj) => s.spec?.type === 'LoadBalancer' && s.metadata.annotations?.[ANNOTATION.type] === 'nlb'
/** aws.go:2230-2237: internal unless the annotation is absent, empty or exactly "false". */
const isInternal = (s: Obj) => {
  const v = s.metadata.annotations?.[ANNOTATION.internal]
  return v !== undefined && v !== '' && v !== 'false'
}
/** An NLB by name, or undefined when there is none (DescribeLoadBalancers answers LoadBalancerNotFound). */
export async function describeNlb(elb: ElasticLoadBalancingV2Client, name: string): Promise<LoadBalancer | undefined> {
  try {
    return (await elb.send(new DescribeLoadBalancersCommand({ Names: [name] }))).LoadBalancers?.[0]
  } catch (e) {
    if ((e as Error).name === 'LoadBalancerNotFoundException' || (e as Error).name === 'LoadBalancerNotFound') return undefined
    throw e
  }
}

/**
 * An NLB's DNS name as AWS gives it, <name>-<id>.elb.<region>.amazonaws.com (moto gives the Classic
 * ELB form <name>-1.<region>.elb.amazonaws.com); the ARN's last part stands in for AWS's hash.
 */
const nlbDnsName = (name: string, arn: string, region: string) => `${name}-${arn.split('/').pop()}.elb.${region}.amazonaws.com`

const instanceId = (n: Obj) =>
  String(n.spec?.providerID ?? '')
    .split('/')
    .pop() ?? ''

interface Balancer {
  uid: string
  namespace: string
  service: string
  name: string
  arn: string
  /** Until then DescribeLoadBalancers says `provisioning`. */
  activeAt: number
  /** Until then each target is `initial` (3 health checks 30 s apart, aws_loadbalancer.go defaults). */
  checkedAt: number
  targetGroups: Set<string>
  /** Its DNS name, where its front door answers (sim/kube/front-door.ts). */
  hostname?: string
}

type Rule = { proto: string; from: number; to: number; cidr: string; description: string }

export class InTreeLoadBalancers {
  private readonly ec2: EC2Client
  private readonly elb: ElasticLoadBalancingV2Client
  private readonly eks: EKSClient
  private readonly balancers = new Map<string, Balancer>()
  /** NLB names this controller has asked ELB to create and not yet heard back about. */
  private readonly creating = new Set<string>()
  private readonly dirty = new Set<string>()
  private chain: Promise<void> = Promise.resolve()
  private unsubscribe?: () => void
  private stopped = false
  private vpc?: { id: string; subnets: Subnet[] }

  constructor(
    private readonly cluster: Cluster,
    /** moto itself: the controller's own calls are not the runbook's and meet no faults. */
    endpoint: string,
    /** From CreateLoadBalancer to `active`; the targets' first health checks take as long again. */
    private readonly provisionMs: () => number,
    /** Where each NLB's hostname answers, if the simulator opens its listeners. */
    private readonly doors?: FrontDoors,
  ) {
    const cfg = ownAws(cluster.opts.region, endpoint)
    this.ec2 = new EC2Client(cfg)
    this.elb = new ElasticLoadBalancingV2Client(cfg)
    this.eks = new EKSClient(cfg)
  }

  /** Whether this controller makes the Service's load balancer (the Kubernetes side then leaves its status alone). */
  handles(s: Obj): boolean {
    return isNlb(s) || this.balancers.has(s.metadata.uid)
  }

  start(): void {
    this.unsubscribe = this.cluster.store.subscribe((e) => {
      // k8s.io/cloud-provider controllers/service/controller.go needsUpdate: a change of the spec or
      // the annotations syncs the load balancer again; one of the status alone does not.
      const changed =
        e.type !== 'MODIFIED' ||
        JSON.stringify([e.old?.spec, e.old?.metadata?.annotations]) !== JSON.stringify([e.object.spec, e.object.metadata.annotations])
      if (e.t === SERVICES && changed) this.mark(e.object.metadata.uid, e.type === 'DELETED' ? undefined : e.object)
      // New or removed nodes change every load balancer's targets (ensureTargetGroupTargets).
      if (e.t === NODES && e.type !== 'MODIFIED')
        for (const s of this.cluster.store.list(SERVICES)) if (this.handles(s)) this.mark(s.metadata.uid, s)
    })
    for (const s of this.cluster.store.list(SERVICES)) if (isNlb(s)) this.mark(s.metadata.uid, s)
  }

  stop(): void {
    this.stopped = true
    this.unsubscribe?.()
    for (const b of this.balancers.values()) if (b.hostname) void this.doors?.close(b.hostname)
  }

  private mark(uid: string, s: Obj | undefined): void {
    if (s && !this.handles(s)) return
    if (!s && !this.balancers.has(uid)) return
    if (this.dirty.has(uid)) return
    this.dirty.add(uid)
    this.chain = this.chain.then(async () => {
      this.dirty.delete(uid)
      // A deletion under way finishes even if the cluster goes (the Service's finalizer would have kept it).
      if (this.stopped && s) return
      const live = this.cluster.store.list(SERVICES).find((x) => x.metadata.uid === uid)
      try {
        if (live && isNlb(live)) await this.ensure(live)
        else await this.remove(uid)
      } catch (err) {
        if (live)
          this.event(
            live,
            'Warning',
            'SyncLoadBalancerFailed',
            `Error syncing load balancer: failed to ensure load balancer: ${(err as Error).message}`,
          )
      }
    })
  }

  /** Events as the service controller reports them. */
  private event(s: Obj, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.cluster.controllers.event(s, type, reason, message, 'service-controller')
  }

  /** The cluster's VPC and its subnets (aws.go:628-645 takes the VPC of the instance the controller runs on: here, the cluster's). */
  private async network(): Promise<{ id: string; subnets: Subnet[] }> {
    if (this.vpc) return this.vpc
    const c = (await this.eks.send(new DescribeClusterCommand({ name: this.cluster.opts.name }))).cluster
    const first = c?.resourcesVpcConfig?.subnetIds?.[0]
    const id = first ? (await this.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [first] }))).Subnets?.[0]?.VpcId : undefined
    if (!id) throw new Error(`no VPC found for cluster ${this.cluster.opts.name}`)
    const subnets = (await this.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [id] }] }))).Subnets ?? []
    this.vpc = { id, subnets }
    return this.vpc
  }

  /**
   * aws.go:1651 findELBSubnets: the VPC's subnets tagged for this cluster or for none; public ones
   * only (a route to an igw-) for an internet-facing NLB; one per zone, preferring the role tag,
   * then the cluster tag, then the lowest ID.
   */
  private async subnetsFor(internal: boolean): Promise<Subnet[]> {
    const { id, subnets } = await this.network()
    const clusterTag = `kubernetes.io/cluster/${this.cluster.opts.name}`
    const tagged = (s: Subnet, key: string) => (s.Tags ?? []).some((t) => t.Key === key)
    const candidates = subnets.filter(
      (s) => tagged(s, clusterTag) || !(s.Tags ?? []).some((t) => t.Key?.startsWith('kubernetes.io/cluster/')),
    )
    const tables = (await this.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [id] }] }))).RouteTables ?? []
    const main = tables.find((t) => (t.Associations ?? []).some((a) => a.Main))
    const isPublic = (s: Subnet) => {
      const t = tables.find((x) => (x.Associations ?? []).some((a) => a.SubnetId === s.SubnetId)) ?? main
      return (t?.Routes ?? []).some((r) => r.GatewayId?.startsWith('igw'))
    }
    const role = internal ? 'kubernetes.io/role/internal-elb' : 'kubernetes.io/role/elb'
    const rank = (s: Subnet) => [tagged(s, role) ? 0 : 1, tagged(s, clusterTag) ? 0 : 1, s.SubnetId ?? '']
    const byZone = new Map<string, Subnet>()
    for (const s of candidates.filter((x) => internal || isPublic(x))) {
      const have = byZone.get(s.AvailabilityZone!)
      if (!have || JSON.stringify(rank(s)) < JSON.stringify(rank(have))) byZone.set(s.AvailabilityZone!, s)
    }
    return [...byZone.keys()].sort().map((z) => byZone.get(z)!)
  }

  private find(name: string): Promise<LoadBalancer | undefined> {
    return describeNlb(this.elb, name)
  }

  /** EnsureLoadBalancer (aws.go:2213-2303) for an NLB. */
  private async ensure(s: Obj): Promise<void> {
    const name = loadBalancerName(s.metadata.uid)
    const ranges = sourceRangesOf(s)
    const bad = ranges.find((r) => !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(r))
    // helper.go GetLoadBalancerSourceRanges: an unparsable range fails the sync.
    if (bad) throw new Error(`${ANNOTATION.sourceRanges}: ${bad} is not valid. Expecting a list of IP ranges. For example, 10.0.0.0/24.`)
    const ports = ((s.spec?.ports ?? []) as { port: number; nodePort?: number }[]).filter((p) => p.nodePort)
    if (!ports.length) throw new Error('requested load balancer with no ports')
    let lb = await this.find(name)
    let b = this.balancers.get(s.metadata.uid)
    if (!lb) {
      const subnets = await this.subnetsFor(isInternal(s))
      if (!subnets.length) throw new Error('could not find any suitable subnets for creating the ELB')
      // aws_loadbalancer.go:157-161: tags kubernetes.io/service-name and kubernetes.io/cluster/<id>=owned (tags.go buildTags).
      const tags = [
        { Key: 'kubernetes.io/service-name', Value: `${s.metadata.namespace}/${s.metadata.name}` },
        { Key: `kubernetes.io/cluster/${this.cluster.opts.name}`, Value: 'owned' },
      ]
      this.creating.add(name)
      lb = (
        await this.elb.send(
          new CreateLoadBalancerCommand({
            Name: name,
            Type: 'network',
            ...(isInternal(s) ? { Scheme: 'internal' } : {}),
            Subnets: subnets.map((x) => x.SubnetId!),
            Tags: tags,
          }),
        )
      ).LoadBalancers![0]!
      // Known before anything else is awaited: DescribeLoadBalancers says `provisioning` from the
      // moment the NLB exists (a caller asking in between would otherwise see moto's `active`).
      const now = Date.now()
      b = {
        uid: s.metadata.uid,
        namespace: s.metadata.namespace,
        service: s.metadata.name,
        name,
        arn: lb.LoadBalancerArn!,
        activeAt: now + this.provisionMs(),
        checkedAt: now + 2 * this.provisionMs(),
        targetGroups: new Set(),
      }
      this.balancers.set(s.metadata.uid, b)
      this.creating.delete(name)
      // ELB makes one network interface per subnet, described "ELB net/<name>/<id>"
      // (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/network-load-balancers.html).
      for (const sub of subnets)
        await this.ec2.send(
          new CreateNetworkInterfaceCommand({
            SubnetId: sub.SubnetId,
            Description: `ELB net/${name}/${lb.LoadBalancerArn!.split('/').pop()}`,
          }),
        )
    }
    b ??= {
      uid: s.metadata.uid,
      namespace: s.metadata.namespace,
      service: s.metadata.name,
      name,
      arn: lb.LoadBalancerArn!,
      activeAt: 0,
      checkedAt: 0,
      targetGroups: new Set(),
    }
    this.balancers.set(s.metadata.uid, b)
    // aws.go:2302 "TODO: Wait for creation?": the hostname is the status at once, while the NLB is still provisioning (v2toStatus :2605).
    const hostname = nlbDnsName(name, lb.LoadBalancerArn!, this.cluster.opts.region)
    if (s.status?.loadBalancer?.ingress?.[0]?.hostname !== hostname) {
      this.cluster.store.update(SERVICES, { ...s, status: { loadBalancer: { ingress: [{ hostname }] } } })
      this.event(s, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer')
    }
    // One target group (instance targets on the NodePort, TCP health checks on the traffic port) and listener per port (aws_loadbalancer.go:738-760).
    const { id: vpcId } = await this.network()
    const listeners = (await this.elb.send(new DescribeListenersCommand({ LoadBalancerArn: b.arn }))).Listeners ?? []
    const nodes = this.cluster.store.list(NODES).map(instanceId).filter(Boolean)
    for (const p of ports) {
      let tgArn = listeners.find((l) => l.Port === p.port)?.DefaultActions?.[0]?.TargetGroupArn
      if (!tgArn) {
        const tgName = targetGroupName(this.cluster.opts.name, s.metadata.namespace, s.metadata.name, p.port, p.nodePort!)
        tgArn = (
          await this.elb.send(
            new CreateTargetGroupCommand({
              Name: tgName,
              Protocol: 'TCP',
              Port: p.nodePort,
              VpcId: vpcId,
              TargetType: 'instance',
              HealthCheckProtocol: 'TCP',
              HealthCheckPort: 'traffic-port',
              HealthCheckIntervalSeconds: 30,
              HealthyThresholdCount: 3,
              UnhealthyThresholdCount: 3,
            }),
          )
        ).TargetGroups![0]!.TargetGroupArn!
        await this.elb.send(
          new CreateListenerCommand({
            LoadBalancerArn: b.arn,
            Port: p.port,
            Protocol: 'TCP',
            DefaultActions: [{ Type: 'forward', TargetGroupArn: tgArn }],
          }),
        )
      }
      b.targetGroups.add(tgArn)
      // ensureTargetGroupTargets (aws_loadbalancer.go:846): every node's instance on the NodePort.
      const have = ((await this.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }))).TargetHealthDescriptions ?? []).map(
        (d) => d.Target!.Id!,
      )
      const add = nodes.filter((n) => !have.includes(n))
      const drop = have.filter((n) => !nodes.includes(n))
      if (drop.length)
        await this.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: tgArn, Targets: drop.map((Id) => ({ Id, Port: p.nodePort })) }))
      if (add.length)
        await this.elb.send(new RegisterTargetsCommand({ TargetGroupArn: tgArn, Targets: add.map((Id) => ({ Id, Port: p.nodePort })) }))
    }
    const subnetCidrs = (lb.AvailabilityZones ?? [])
      .map((z) => (this.vpc?.subnets ?? []).find((x) => x.SubnetId === z.SubnetId)?.CidrBlock)
      .filter((x): x is string => Boolean(x))
    await this.nodeRules(
      name,
      ports.map((p) => p.nodePort!),
      ranges,
      subnetCidrs,
    )
    b.hostname = hostname
    const balancer = b
    await this.doors?.open(
      {
        cluster: this.cluster,
        hostname,
        namespace: s.metadata.namespace,
        service: s.metadata.name,
        vpcId,
        internal: isInternal(s),
        sourceRanges: ranges,
        healthy: () => this.hasHealthyTarget(balancer),
      },
      ports.map((p) => p.port),
    )
  }

  /** Whether any target is healthy now: the NLB then forwards a connection (to a healthy one). */
  private hasHealthyTarget(b: Balancer): boolean {
    const now = Date.now()
    const s = this.cluster.store.get(SERVICES, b.namespace, b.service)
    return this.cluster.store.list(NODES).some((n) => this.healthy(b, s, instanceId(n), now))
  }

  /** The cluster security group EKS attaches to managed nodes, tagged kubernetes.io/cluster/<name> (aws.go findSecurityGroupForInstance). */
  private async nodeGroup(): Promise<{ GroupId?: string; IpPermissions?: IpPermission[] } | undefined> {
    const { id } = await this.network()
    const groups =
      (
        await this.ec2.send(
          new DescribeSecurityGroupsCommand({
            Filters: [
              { Name: 'vpc-id', Values: [id] },
              { Name: 'tag-key', Values: [`kubernetes.io/cluster/${this.cluster.opts.name}`] },
            ],
          }),
        )
      ).SecurityGroups ?? []
    return groups.length === 1 ? groups[0] : undefined
  }

  /**
   * updateInstanceSecurityGroupsForNLB (aws_loadbalancer.go:944-1033): the NodePorts open to each
   * source range ("client"), to the NLB's subnets for health checks unless the client rule is
   * 0.0.0.0/0 already ("health"), and ICMP 3/4 from every client range of any NLB ("mtu").
   * Rules are told apart by their description; a rerun changes nothing.
   */
  private async nodeRules(lbName: string, nodePorts: number[], clientCidrs: string[], subnetCidrs: string[]): Promise<void> {
    const sg = await this.nodeGroup()
    if (!sg?.GroupId) return
    const flat = (sg.IpPermissions ?? []).flatMap((p) =>
      (p.IpRanges ?? []).map((r) => ({
        proto: p.IpProtocol!,
        from: p.FromPort!,
        to: p.ToPort!,
        cidr: r.CidrIp!,
        description: r.Description ?? '',
      })),
    )
    const want: Rule[] = [
      ...nodePorts.flatMap((port) =>
        clientCidrs.map((cidr) => ({ proto: 'tcp', from: port, to: port, cidr, description: `${RULE.client}=${lbName}` })),
      ),
      ...(clientCidrs.length === 1 && clientCidrs[0] === '0.0.0.0/0'
        ? []
        : nodePorts.flatMap((port) =>
            subnetCidrs.map((cidr) => ({ proto: 'tcp', from: port, to: port, cidr, description: `${RULE.health}=${lbName}` })),
          )),
    ]
    const mine = (r: Rule) => r.description === `${RULE.client}=${lbName}` || r.description === `${RULE.health}=${lbName}`
    const key = (r: Rule) => `${r.proto}/${r.from}/${r.to}/${r.cidr}/${r.description}`
    const stale = flat.filter((r) => mine(r) && !want.some((w) => key(w) === key(r)))
    const missing = want.filter((w) => !flat.some((r) => key(r) === key(w)))
    // MTU discovery rules follow every client rule left in the group (aws_loadbalancer.go:1085-1134).
    const clients = [
      ...flat.filter((r) => r.description.startsWith(`${RULE.client}=`) && !stale.includes(r)),
      ...missing.filter((r) => r.description.startsWith(RULE.client)),
    ]
    const mtuWant = [...new Set(clients.map((r) => r.cidr))].map((cidr) => ({ proto: 'icmp', from: 3, to: 4, cidr, description: RULE.mtu }))
    const mtuHave = flat.filter((r) => r.description === RULE.mtu)
    stale.push(...mtuHave.filter((r) => !mtuWant.some((w) => w.cidr === r.cidr)))
    missing.push(...mtuWant.filter((w) => !mtuHave.some((r) => r.cidr === w.cidr)))
    const perm = (r: Rule): IpPermission => ({
      IpProtocol: r.proto,
      FromPort: r.from,
      ToPort: r.to,
      IpRanges: [{ CidrIp: r.cidr, Description: r.description }],
    })
    if (stale.length) await this.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: sg.GroupId, IpPermissions: stale.map(perm) }))
    if (missing.length)
      await this.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg.GroupId, IpPermissions: missing.map(perm) }))
  }

  /**
   * EnsureLoadBalancerDeleted (aws.go:2829-2881): the NLB (its listeners with it), its target
   * groups, then its rules in the node security group. ELB releases the NLB's interfaces with it.
   */
  private async remove(uid: string): Promise<void> {
    const b = this.balancers.get(uid)
    if (!b) return
    const lb = await this.find(b.name)
    if (lb) {
      const groups = (await this.elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).TargetGroups ?? []
      // Deleting takes AWS a while; the NLB is listed until it is gone.
      await new Promise((r) => setTimeout(r, this.provisionMs()))
      await this.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }))
      for (const g of groups) await this.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: g.TargetGroupArn }))
      const enis =
        (await this.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: [`ELB net/${b.name}/*`] }] })))
          .NetworkInterfaces ?? []
      for (const e of enis) await this.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: e.NetworkInterfaceId }))
    }
    await this.nodeRules(b.name, [], [], [])
    if (b.hostname) await this.doors?.close(b.hostname)
    this.balancers.delete(uid)
  }

  /** The state and target health AWS reports for this cluster's NLBs (moto says `active` and `healthy` at once). */
  rewrite(service: string, action: string, params: URLSearchParams, text: string): string {
    if (service !== 'elasticloadbalancing') return text
    const now = Date.now()
    const byArn = new Map([...this.balancers.values()].map((b) => [b.arn, b]))
    if (action === 'DescribeLoadBalancers' || action === 'CreateLoadBalancer') {
      return rewriteEach(text, /<LoadBalancerArn>([^<]+)<\/LoadBalancerArn>/g, (arn, part) => {
        const b = byArn.get(arn)
        // One this controller is making and has not yet heard back about is provisioning too.
        const making = !b && [...this.creating].some((n) => part.includes(`<LoadBalancerName>${n}</LoadBalancerName>`))
        return making || now < (b?.activeAt ?? 0) ? part.replace('<Code>active</Code>', '<Code>provisioning</Code>') : part
      })
    }
    if (action === 'DescribeTargetHealth') {
      const b = [...this.balancers.values()].find((x) => x.targetGroups.has(params.get('TargetGroupArn') ?? ''))
      if (!b) return text
      const s = this.cluster.store.get(SERVICES, b.namespace, b.service)
      return rewriteEach(text, /<Target><Id>([^<]+)<\/Id>/g, (id, part) =>
        part.replace('<TargetHealth><State>healthy</State></TargetHealth>', this.health(b, s, id, now)),
      )
    }
    return text
  }

  /**
   * A target's health: `initial` until its first checks pass (HealthyThresholdCount x interval);
   * then a TCP check of the NodePort, which kube-proxy answers on every node while the Service has a
   * ready endpoint (externalTrafficPolicy Cluster), or only on nodes with one (Local).
   */
  private health(b: Balancer, s: Obj | undefined, instance: string, now: number): string {
    const state = (st: string, reason?: string, description?: string) =>
      `<TargetHealth><State>${st}</State>${reason ? `<Reason>${reason}</Reason><Description>${description}</Description>` : ''}</TargetHealth>`
    if (now < b.checkedAt) return state('initial', 'Elb.RegistrationInProgress', 'Target registration is in progress')
    return this.healthy(b, s, instance, now) ? state('healthy') : state('unhealthy', 'Target.FailedHealthChecks', 'Health checks failed')
  }

  /** A target passes its checks: past the first ones, and kube-proxy answers its NodePort. */
  private healthy(b: Balancer, s: Obj | undefined, instance: string, now: number): boolean {
    if (now < b.checkedAt) return false
    const ready = s?.spec?.selector
      ? this.cluster.store
          .list(PODS, s.metadata.namespace)
          .filter((p) => isReady(p) && selectorMatches({ matchLabels: s.spec.selector }, p.metadata.labels))
      : []
    const local = s?.spec?.externalTrafficPolicy === 'Local'
    const node = this.cluster.store.list(NODES).find((n) => instanceId(n) === instance)?.metadata.name
    return local ? ready.some((p) => p.spec?.nodeName === node) : ready.length > 0
  }
}

/**
 * AWS's refusals and reported states for what the simulated clusters' controllers made: a subnet
 * with an NLB's network interfaces cannot be deleted (DependencyViolation, as DeleteSubnet answers;
 * moto deletes it), and the NLBs' states and target health as above.
 */
export function awsHooks(controllers: () => Iterable<InTreeLoadBalancers>, motoEndpoint: string): AwsHooks {
  const clients = new Map<string, EC2Client>()
  return {
    async refuse(service, action, params, region) {
      if (service !== 'ec2' || action !== 'DeleteSubnet') return undefined
      const id = params.get('SubnetId') ?? ''
      if (!clients.has(region)) clients.set(region, new EC2Client(ownAws(region, motoEndpoint)))
      const enis =
        (
          await clients.get(region)!.send(
            new DescribeNetworkInterfacesCommand({
              Filters: [
                { Name: 'subnet-id', Values: [id] },
                { Name: 'description', Values: ['ELB *'] },
              ],
            }),
          )
        ).NetworkInterfaces ?? []
      return enis.length
        ? { code: 'DependencyViolation', message: `The subnet '${id}' has dependencies and cannot be deleted.` }
        : undefined
    },
    rewrite(service, action, params, text) {
      let out = text
      if (service === 'elasticloadbalancing' && (action === 'DescribeLoadBalancers' || action === 'CreateLoadBalancer')) {
        out = rewriteEach(out, /<LoadBalancerArn>([^<]+)<\/LoadBalancerArn>/g, (arn, part) => {
          if (!part.includes('<Type>network</Type>')) return part
          const name = /<LoadBalancerName>([^<]+)<\/LoadBalancerName>/.exec(part)?.[1] ?? ''
          const named = part.replace(/<DNSName>[^<]*<\/DNSName>/, `<DNSName>${nlbDnsName(name, arn, arn.split(':')[3] ?? '')}</DNSName>`)
          // CreateLoadBalancer's Scheme defaults to internet-facing (ELBv2 API reference, CreateLoadBalancer); moto leaves it unset.
          return named.includes('<Scheme>')
            ? named
            : named.replace('<Type>network</Type>', '<Scheme>internet-facing</Scheme><Type>network</Type>')
        })
      }
      for (const c of controllers()) out = c.rewrite(service, action, params, out)
      return out
    },
  }
}
