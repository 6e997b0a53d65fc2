// EKS's built-in load balancer controller as the simulator plays it against moto
// (kubernetes/cloud-provider-aws v1.32.8): the NLB provisioning then active, its subnets, tags,
// targets and their health, the node security group's rules from the source ranges, the subnets
// AWS will not delete while the NLB's interfaces are in them, and eksctl's cleanup on delete.
// Driven as an operator would: the eksctl stand-in, the real kubectl, the real AWS SDK.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  AssociateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import { DescribeLoadBalancersCommand, DescribeTagsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import YAML from 'yaml'
import { findLoadBalancer, nlbName, nlbState, targetsHealth } from '../../lib/aws/load-balancers.ts'
import { eventually, runIn, startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let ec2: EC2Client
let elb: ElasticLoadBalancingV2Client
let vpcId: string
const subnets: Record<string, string> = {}
const kubectl = async (args: string[], input?: string) => {
  const r = await sim.kubectl(args, { input })
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const apply = (o: object) => kubectl(['apply', '-f', '-'], YAML.stringify(o))
const svcJson = async (name: string) => JSON.parse(await kubectl(['get', 'svc', name, '-o', 'json']))
const service = (name: string, annotations: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb', ...annotations } },
  spec: {
    type: 'LoadBalancer',
    selector: { app: 'envoy' },
    ports: [
      { name: 'a', port: 50051 },
      { name: 'b', port: 50052 },
    ],
  },
})
const clusterGroup = async () =>
  (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:aws:eks:cluster-name', Values: ['lbc'] }] })))
    .SecurityGroups ?? []
const rules = async () =>
  (await clusterGroup())[0]!
    .IpPermissions!.flatMap((p) => (p.IpRanges ?? []).map((r) => `${p.IpProtocol}/${p.FromPort}-${p.ToPort} ${r.CidrIp} ${r.Description}`))
    .sort()

before(async () => {
  // 2 s from creation to active, and as long again to healthy targets: room for a loaded machine
  // to see each state.
  sim = startSim(['--pod-start-ms', '50', '--lb-delay-ms', '2000'])
  const opts = awsConfig(sim.env, 'ap-northeast-1')
  ec2 = new EC2Client(opts)
  elb = new ElasticLoadBalancingV2Client(opts)
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.7.0.0/16' }))).Vpc!.VpcId!
  const subnet = async (key: string, cidr: string, az: string, tags: Record<string, string>) => {
    subnets[key] = (
      await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: cidr,
          AvailabilityZone: az,
          TagSpecifications: [{ ResourceType: 'subnet', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
        }),
      )
    ).Subnet!.SubnetId!
  }
  await subnet('private-a', '10.7.0.0/20', 'ap-northeast-1a', { 'kubernetes.io/role/internal-elb': '1' })
  await subnet('private-c', '10.7.16.0/20', 'ap-northeast-1c', { 'kubernetes.io/role/internal-elb': '1' })
  await subnet('public-a', '10.7.128.0/20', 'ap-northeast-1a', { 'kubernetes.io/role/elb': '1' })
  // Tagged for another cluster: never chosen.
  await subnet('other-d', '10.7.64.0/20', 'ap-northeast-1d', {
    'kubernetes.io/cluster/other': 'owned',
    'kubernetes.io/role/internal-elb': '1',
  })
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }))
  const rt = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!
  await ec2.send(new CreateRouteCommand({ RouteTableId: rt, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }))
  await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rt, SubnetId: subnets['public-a'] }))
  const file = path.join(sim.dir, 'lbc.yaml')
  fs.writeFileSync(
    file,
    YAML.stringify({
      apiVersion: 'eksctl.io/v1alpha5',
      kind: 'ClusterConfig',
      metadata: { name: 'lbc', region: 'ap-northeast-1', version: '1.35' },
      vpc: { subnets: { private: { 'ap-northeast-1a': { id: subnets['private-a'] }, 'ap-northeast-1c': { id: subnets['private-c'] } } } },
    }),
  )
  const r = await runIn(sim, 'eksctl', ['create', 'cluster', '-f', file, '--without-nodegroup'])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.equal(sim.cli('nodes', 'add', 'lbc', '--count', '3').code, 0)
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'envoy-0', labels: { app: 'envoy' } },
    spec: { containers: [{ name: 'envoy', image: 'envoyproxy/envoy' }] },
  })
})
after(() => {
  stopSim(sim)
  ec2.destroy()
  elb.destroy()
})

describe("EKS's built-in NLB controller against moto", () => {
  test('an internal NLB: hostname at once, provisioning then active, one internal-elb subnet per zone of this cluster, tagged, targets initial then healthy', async () => {
    const created = JSON.parse(
      await kubectl(
        ['apply', '-f', '-', '-o', 'json'],
        YAML.stringify(
          service('restricted', {
            'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
            'service.beta.kubernetes.io/load-balancer-source-ranges': '10.7.0.0/16, 10.8.0.0/16',
          }),
        ),
      ),
    )
    const name = nlbName(created.metadata.uid)
    // Watched through the ELB API (one quick call at a time), well inside the controller's delay.
    const lb = await eventually(async () => findLoadBalancer(elb, name), 'the NLB')
    assert.equal(lb.State?.Code, 'provisioning', 'made provisioning')
    const svc = await eventually(async () => {
      const s = await svcJson('restricted')
      return s.status?.loadBalancer?.ingress?.[0]?.hostname && s
    }, 'the hostname')
    assert.match(svc.status.loadBalancer.ingress[0].hostname, new RegExp(`^${name}-[0-9a-f]+\\.elb\\.ap-northeast-1\\.amazonaws\\.com$`))
    assert.equal((await findLoadBalancer(elb, name))?.State?.Code, 'provisioning', 'the hostname comes before the NLB is active')
    assert.equal(lb.Scheme, 'internal')
    assert.equal(lb.Type, 'network')
    assert.equal(lb.DNSName, svc.status.loadBalancer.ingress[0].hostname)
    assert.deepEqual(lb.AvailabilityZones!.map((z) => z.SubnetId).sort(), [subnets['private-a'], subnets['private-c']].sort())
    const tags = (await elb.send(new DescribeTagsCommand({ ResourceArns: [lb.LoadBalancerArn!] }))).TagDescriptions![0]!.Tags!
    assert.deepEqual(Object.fromEntries(tags.map((t) => [t.Key, t.Value])), {
      'kubernetes.io/service-name': 'default/restricted',
      'kubernetes.io/cluster/lbc': 'owned',
    })
    assert.equal((await nlbState(elb, svc.metadata.uid)).ready, false)
    await eventually(async () => (await findLoadBalancer(elb, name))?.State?.Code === 'active', 'the NLB to be active')
    const first = await targetsHealth(elb, lb.LoadBalancerArn!)
    assert.deepEqual(
      first.groups.map((g) => g.total),
      [3, 3],
      'every node is a target of each port',
    )
    assert.ok(
      first.groups.every((g) => g.other.every((o) => / initial \(Elb\.RegistrationInProgress\)$/.test(o))),
      JSON.stringify(first),
    )
    const ready = await eventually(async () => {
      const st = await nlbState(elb, svc.metadata.uid)
      return st.ready && st
    }, 'healthy targets')
    assert.match(ready.status, /active, targets 3\/3 and 3\/3 healthy/)
  })

  test('node security group: NodePorts open to each source range, health checks from the NLB subnets, ICMP 3/4; nothing to 0.0.0.0/0', async () => {
    const svc = await svcJson('restricted')
    const name = nlbName(svc.metadata.uid)
    const ports = svc.spec.ports.map((p: { nodePort: number }) => p.nodePort)
    const want = [
      ...ports.flatMap((p: number) =>
        ['10.7.0.0/16', '10.8.0.0/16'].map((c) => `tcp/${p}-${p} ${c} kubernetes.io/rule/nlb/client=${name}`),
      ),
      ...ports.flatMap((p: number) =>
        ['10.7.0.0/20', '10.7.16.0/20'].map((c) => `tcp/${p}-${p} ${c} kubernetes.io/rule/nlb/health=${name}`),
      ),
      'icmp/3-4 10.7.0.0/16 kubernetes.io/rule/nlb/mtu',
      'icmp/3-4 10.8.0.0/16 kubernetes.io/rule/nlb/mtu',
    ].sort()
    assert.deepEqual(await rules(), want)
    assert.ok(!(await rules()).some((r) => r.includes('0.0.0.0/0')))
  })

  test('without source ranges the NodePorts are open to 0.0.0.0/0 (no health rule then); an internet-facing NLB takes the public subnet', async () => {
    await apply(service('open', {}))
    const svc = await eventually(async () => {
      const s = await svcJson('open')
      return s.status?.loadBalancer?.ingress?.[0]?.hostname && s
    }, 'the hostname')
    const name = nlbName(svc.metadata.uid)
    const lb = (await findLoadBalancer(elb, name))!
    assert.equal(lb.Scheme, 'internet-facing')
    assert.deepEqual(
      lb.AvailabilityZones!.map((z) => z.SubnetId),
      [subnets['public-a']],
    )
    const mine = await eventually(async () => {
      const r = (await rules()).filter((x) => x.endsWith(`=${name}`))
      return r.length === 2 && r
    }, 'the client rules')
    assert.deepEqual(
      mine,
      svc.spec.ports
        .map((p: { nodePort: number }) => `tcp/${p.nodePort}-${p.nodePort} 0.0.0.0/0 kubernetes.io/rule/nlb/client=${name}`)
        .sort(),
    )
    assert.ok((await rules()).includes('icmp/3-4 0.0.0.0/0 kubernetes.io/rule/nlb/mtu'))
  })

  test('no ready endpoint: the targets fail their health checks', async () => {
    const svc = await svcJson('restricted')
    await kubectl(['delete', 'pod', 'envoy-0', '--wait=false'])
    const st = await eventually(async () => {
      const x = await nlbState(elb, svc.metadata.uid)
      return !x.ready && /unhealthy \(Target\.FailedHealthChecks\)/.test(x.status) && x
    }, 'unhealthy targets')
    assert.match(st.status, /targets 0\/3 and 0\/3 healthy/)
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'envoy-1', labels: { app: 'envoy' } },
      spec: { containers: [{ name: 'envoy', image: 'envoyproxy/envoy' }] },
    })
    await eventually(async () => (await nlbState(elb, svc.metadata.uid)).ready, 'healthy again')
  })

  test("the front door: the hostname resolves only in the simulator's env; a connection is reset without a healthy target or from outside; Envoy routes only to a selected, Ready server", async () => {
    const svc = await svcJson('restricted')
    const host: string = svc.status.loadBalancer.ingress[0].hostname
    const ask = (env: NodeJS.ProcessEnv = sim.env) => {
      // A process of the simulator's environment (NODE_OPTIONS loads sim/dns.mjs), as a step is.
      const script = `import { resolveHost, healthCheck } from ${JSON.stringify(path.resolve('lib/verify/grpc-health.ts'))}
const r = await resolveHost(${JSON.stringify(host)})
if ('error' in r) console.log(JSON.stringify(r))
else console.log(JSON.stringify(await healthCheck(${JSON.stringify(host)}, r.addresses, 50051, 3000)))`
      const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8' })
      assert.equal(out.status, 0, out.stderr)
      return JSON.parse(out.stdout.trim().split('\n').pop()!)
    }
    // Without the simulator's resolution, an AWS name is not looked up at all here (no DNS server is reachable).
    const { NODE_OPTIONS: _, ...bare } = sim.env
    assert.match(ask({ ...bare, SIM_STATE_DIR: '' }).error ?? '', /does not resolve/)
    // Envoy is Ready but is not scalar-envoy (no service_listeners): it takes the connection and cannot route it.
    await eventually(async () => (await nlbState(elb, svc.metadata.uid)).ready, 'healthy targets')
    assert.match(ask().error, /^UNAVAILABLE: upstream connect error: Envoy has no listener on 50051$/)
    // No Ready Envoy: no healthy target, so the NLB takes no connection.
    await kubectl(['delete', 'pod', 'envoy-1', '--wait=false'])
    await eventually(async () => !(await nlbState(elb, svc.metadata.uid)).ready, 'unhealthy targets')
    const reset = ask()
    assert.match(reset.error, /^UNAVAILABLE: /)
    assert.doesNotMatch(reset.error, /upstream/)
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'envoy-2', labels: { app: 'envoy' } },
      spec: { containers: [{ name: 'envoy', image: 'envoyproxy/envoy' }] },
    })
    await eventually(async () => (await nlbState(elb, svc.metadata.uid)).ready, 'healthy again')
    // From outside AWS an internal NLB does not answer: the connection is reset.
    assert.equal(sim.cli('knobs', '--caller', 'outside').code, 0)
    try {
      const outside = ask()
      assert.match(outside.error, /^UNAVAILABLE: /)
      assert.doesNotMatch(outside.error, /upstream/)
    } finally {
      assert.equal(sim.cli('knobs', '--caller', '').code, 0)
    }
    // Another amazonaws.com name is refused, never sent to a DNS server.
    const other = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "import dns from 'node:dns'; dns.lookup('sts.amazonaws.com', (e) => console.log(e?.code))"],
      { env: sim.env, encoding: 'utf8' },
    )
    assert.equal(other.stdout.trim(), 'ENOTFOUND')
  })

  test("a subnet with an NLB's interfaces cannot be deleted (moto would); deleting the Service removes the NLB, its rules and interfaces", async () => {
    const svc = await svcJson('restricted')
    const name = nlbName(svc.metadata.uid)
    await assert.rejects(
      ec2.send(new DeleteSubnetCommand({ SubnetId: subnets['private-a'] })),
      (e: Error) =>
        e.name === 'DependencyViolation' && e.message === `The subnet '${subnets['private-a']}' has dependencies and cannot be deleted.`,
    )
    const enis = (
      await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))
    ).NetworkInterfaces!.filter((e) => e.Description?.startsWith(`ELB net/${name}/`))
    assert.equal(enis.length, 2, 'one interface per subnet')
    await kubectl(['delete', 'svc', 'restricted'])
    assert.ok(await findLoadBalancer(elb, name), 'deleting takes a while: the NLB is still there right after')
    await eventually(async () => !(await findLoadBalancer(elb, name)), 'the NLB to be deleted')
    await eventually(
      async () => !(await rules()).some((r) => r.includes(name) || r.includes('10.8.0.0/16')),
      'its rules (and the MTU rule of its ranges) to be revoked',
    )
    const left = (
      await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))
    ).NetworkInterfaces!.filter((e) => e.Description?.startsWith(`ELB net/${name}/`))
    assert.deepEqual(left, [])
  })

  test('eksctl delete cluster deletes the LoadBalancer Services and waits for their NLBs, then EKS removes its security group', async () => {
    const before = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.filter((l) => l.VpcId === vpcId)
    assert.equal(before.length, 1, 'the open Service still has its NLB')
    const r = await runIn(sim, 'eksctl', ['delete', 'cluster', '--name', 'lbc', '--region', 'ap-northeast-1'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /\[ℹ\] {2}cleaning up AWS load balancers created by Kubernetes objects of Kind Service, Ingress, or Gateway/)
    assert.deepEqual(
      (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.filter((l) => l.VpcId === vpcId),
      [],
    )
    assert.deepEqual(await clusterGroup(), [])
  })
})
