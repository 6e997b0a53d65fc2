// Where the caller of a simulated EKS API stands, and whether it reaches the endpoint from there.
// The knob `caller` says it: '' everywhere (every endpoint answers, as before this was modelled),
// 'outside' off AWS (a laptop on the internet at 203.0.113.10), or an EC2 instance in moto (its id
// or its Name tag, e.g. the bastion) the caller runs on. That instance is also what the simulated
// instance metadata service (IMDSv2) answers, so the runbook learns where it runs as on EC2.
//
// Reachability, as https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html has it:
// - public endpoint: from the internet, when the caller's public address is in publicAccessCidrs;
// - private endpoint: from the cluster's VPC, or a VPC connected to it (here: an active peering
//   with a route to the cluster's VPC range in the caller subnet's route table), when a security
//   group of the control plane (the cluster's, and those given at creation) admits 443 from the
//   caller's security group or address.
// Not modelled: the route back from the control plane's subnets, DNS of the private endpoint,
// Transit Gateways. An unreachable endpoint resets the connection at once, where AWS lets the
// connection to a private address time out.
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks'
import {
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Instance,
  type IpPermission,
} from '@aws-sdk/client-ec2'
import { ownAws } from './own-aws.ts'

/** The caller's public address when it stands outside AWS (TEST-NET-3, documentation range). */
const OUTSIDE_ADDRESS = '203.0.113.10'

const toInt = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0)
const inCidr = (ip: string, cidr: string): boolean => {
  const [base, b] = cidr.split('/') as [string, string]
  const size = 2 ** (32 - Number(b))
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size)
}
const cidrWithin = (inner: string, outer: string): boolean =>
  Number(inner.split('/')[1]) >= Number(outer.split('/')[1]) && inCidr(inner.split('/')[0]!, outer)

export class Whereabouts {
  private readonly ec2: EC2Client
  private readonly eks: EKSClient
  private readonly cache = new Map<string, { at: number; ok: Promise<boolean> }>()

  constructor(
    region: string,
    /** moto itself: these reads are the simulator's, not the runbook's. */
    endpoint: string,
    private readonly caller: () => string,
  ) {
    const cfg = ownAws(region, endpoint)
    this.ec2 = new EC2Client(cfg)
    this.eks = new EKSClient(cfg)
  }

  /** The instance the caller runs on (or `c`, a caller given), if it is one. */
  async instance(c = this.caller()): Promise<Instance | undefined> {
    if (!c || c === 'outside') return undefined
    const filter = c.startsWith('i-') ? { InstanceIds: [c] } : { Filters: [{ Name: 'tag:Name', Values: [c] }] }
    const r = await this.ec2.send(new DescribeInstancesCommand(filter))
    return (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).find((i) => i.State?.Name !== 'terminated')
  }

  /** An instance by id (any state but terminated). */
  async describe(id: string): Promise<Instance | undefined> {
    const r = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })).catch(() => undefined)
    return (r?.Reservations ?? []).flatMap((x) => x.Instances ?? []).find((i) => i.State?.Name !== 'terminated')
  }

  /** Whether the caller reaches the cluster's API endpoint now (remembered for a second). */
  reachable(cluster: string): Promise<boolean> {
    if (!this.caller()) return Promise.resolve(true)
    const key = `${this.caller()}\0${cluster}`
    const hit = this.cache.get(key)
    if (hit && Date.now() - hit.at < 1000) return hit.ok
    const ok = this.decide(cluster).catch(() => false)
    this.cache.set(key, { at: Date.now(), ok })
    return ok
  }

  /**
   * Whether the caller reaches a load balancer: an internal one only from its VPC or a VPC peered
   * with it (with a route), an internet-facing one from anywhere; and the caller's address within
   * the Service's source ranges, which the node security group's client rule admits (the NLB keeps
   * the client's address). Remembered for a second, as `reachable`.
   */
  reachesLoadBalancer(lb: { vpcId: string; internal: boolean; sourceRanges: string[] }): Promise<boolean> {
    if (!this.caller()) return Promise.resolve(true)
    const key = `${this.caller()}\0lb\0${JSON.stringify(lb)}`
    const hit = this.cache.get(key)
    if (hit && Date.now() - hit.at < 1000) return hit.ok
    const ok = (async () => {
      const me = await this.instance()
      const admitted = (ip: string | undefined) => Boolean(ip) && lb.sourceRanges.some((r) => inCidr(ip!, r))
      if (!me) return this.caller() === 'outside' && !lb.internal && admitted(OUTSIDE_ADDRESS)
      if (!lb.internal) return admitted(me.PublicIpAddress) || admitted(me.PrivateIpAddress)
      if (me.VpcId !== lb.vpcId && !(await this.peeredTowards(me, lb.vpcId))) return false
      return admitted(me.PrivateIpAddress)
    })().catch(() => false)
    this.cache.set(key, { at: Date.now(), ok })
    return ok
  }

  private async decide(cluster: string): Promise<boolean> {
    const c = (await this.eks.send(new DescribeClusterCommand({ name: cluster }))).cluster
    const v = c?.resourcesVpcConfig
    if (!v) return false
    const publicCidrs = v.publicAccessCidrs?.length ? v.publicAccessCidrs : ['0.0.0.0/0']
    const me = await this.instance()
    if (!me) return this.caller() === 'outside' && Boolean(v.endpointPublicAccess) && publicCidrs.some((r) => inCidr(OUTSIDE_ADDRESS, r))
    // From an instance with a public address the public endpoint answers as from the internet (an
    // instance in a private subnet leaves through a NAT gateway whose address moto does not tie to it).
    if (v.endpointPublicAccess && publicCidrs.includes('0.0.0.0/0')) return true
    if (me.PublicIpAddress && v.endpointPublicAccess && publicCidrs.some((r) => inCidr(me.PublicIpAddress!, r))) return true
    if (!v.endpointPrivateAccess) return false
    // EKS says vpcId; moto does not, so it comes from the cluster's subnets.
    const vpcId =
      v.vpcId ??
      (v.subnetIds?.length
        ? (await this.ec2.send(new DescribeSubnetsCommand({ SubnetIds: v.subnetIds.slice(0, 1) }))).Subnets?.[0]?.VpcId
        : undefined)
    if (!vpcId) return false
    if (me.VpcId !== vpcId && !(await this.peeredTowards(me, vpcId))) return false
    return this.admitted(me, [...(v.securityGroupIds ?? []), ...(v.clusterSecurityGroupId ? [v.clusterSecurityGroupId] : [])])
  }

  /** An active peering between the two VPCs and a route to the cluster VPC's range through it from the caller's subnet. */
  private async peeredTowards(me: Instance, clusterVpc: string): Promise<boolean> {
    const peerings =
      (await this.ec2.send(new DescribeVpcPeeringConnectionsCommand({ Filters: [{ Name: 'status-code', Values: ['active'] }] })))
        .VpcPeeringConnections ?? []
    const pcx = peerings.find(
      (p) =>
        (p.RequesterVpcInfo?.VpcId === me.VpcId && p.AccepterVpcInfo?.VpcId === clusterVpc) ||
        (p.AccepterVpcInfo?.VpcId === me.VpcId && p.RequesterVpcInfo?.VpcId === clusterVpc),
    )
    if (!pcx) return false
    const vpc = (await this.ec2.send(new DescribeVpcsCommand({ VpcIds: [clusterVpc] }))).Vpcs?.[0]
    const ranges = (vpc?.CidrBlockAssociationSet ?? []).map((a) => a.CidrBlock!).filter(Boolean)
    const tables =
      (await this.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [me.VpcId!] }] }))).RouteTables ?? []
    // The subnet's own table, else the VPC's main one.
    const table =
      tables.find((t) => t.Associations?.some((a) => a.SubnetId === me.SubnetId)) ?? tables.find((t) => t.Associations?.some((a) => a.Main))
    return Boolean(
      table?.Routes?.some(
        (r) =>
          r.VpcPeeringConnectionId === pcx.VpcPeeringConnectionId &&
          ranges.some((range) => cidrWithin(range, r.DestinationCidrBlock ?? '255.255.255.255/32')),
      ),
    )
  }

  /** A control-plane security group admits 443 from one of the caller's groups or its address. */
  private async admitted(me: Instance, groupIds: string[]): Promise<boolean> {
    if (!groupIds.length) return false
    const groups = (await this.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }))).SecurityGroups ?? []
    const mine = new Set((me.SecurityGroups ?? []).map((g) => g.GroupId))
    const covers443 = (p: IpPermission) => p.IpProtocol === '-1' || (p.FromPort! <= 443 && 443 <= p.ToPort!)
    return groups.some((g) =>
      (g.IpPermissions ?? []).some(
        (p) =>
          covers443(p) &&
          ((p.UserIdGroupPairs ?? []).some((pair) => mine.has(pair.GroupId)) ||
            (p.IpRanges ?? []).some((r) => me.PrivateIpAddress && inCidr(me.PrivateIpAddress, r.CidrIp!))),
      ),
    )
  }
}
