// Contract tests of the eksctl stand-in: flags, exit codes, JSON shapes, error messages, and its
// effects in moto (through the real AWS SDK) and in the fake API (through the real kubectl).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2'
import {
  CreateNodegroupCommand,
  CreatePodIdentityAssociationCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  EKSClient,
} from '@aws-sdk/client-eks'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import YAML from 'yaml'
import { getCluster, getNodegroups } from '../../lib/eks/read.ts'
import { podIdentityRoleName } from '../../sim/standins/eksctl-iam.ts'
import { stopSim, eventually, runIn, startSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let subnets: { private: Record<string, string>; public: Record<string, string> }
let aws: { ec2: EC2Client; eks: EKSClient }

const eksctl = (args: string[]) => runIn(sim, 'eksctl', args)

function config(name: string, o: { nodegroups?: any[]; extra?: Record<string, unknown>; logging?: string[] } = {}): string {
  const file = path.join(sim.dir, `${name}-${Math.random().toString(36).slice(2)}.yaml`)
  const doc = {
    apiVersion: 'eksctl.io/v1alpha5',
    kind: 'ClusterConfig',
    metadata: { name, region: 'ap-northeast-1', version: '1.35' },
    vpc: {
      subnets: {
        private: Object.fromEntries(Object.entries(subnets.private).map(([az, id]) => [az, { id }])),
        public: Object.fromEntries(Object.entries(subnets.public).map(([az, id]) => [az, { id }])),
      },
      clusterEndpoints: { privateAccess: true, publicAccess: false },
    },
    ...(o.logging ? { cloudWatch: { clusterLogging: { enableTypes: o.logging } } } : {}),
    managedNodeGroups: o.nodegroups ?? [
      {
        name: 'scalardlpool',
        instanceType: 'm5.xlarge',
        desiredCapacity: 3,
        minSize: 3,
        maxSize: 6,
        privateNetworking: true,
        labels: { agentpool: 'scalardlpool' },
      },
      { name: 'system', instanceType: 'm5.large', desiredCapacity: 2, minSize: 1, maxSize: 3, privateNetworking: true },
    ],
    ...(o.extra ?? {}),
  }
  fs.writeFileSync(file, YAML.stringify(doc))
  return file
}

before(async () => {
  sim = startSim(['--pod-start-ms', '50'])
  const opts = awsConfig(sim.env, 'ap-northeast-1')
  aws = { ec2: new EC2Client(opts), eks: new EKSClient(opts) }
  const vpc = (await aws.ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc!.VpcId!
  subnets = { private: {}, public: {} }
  const azs = ['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d']
  for (const [i, az] of azs.entries()) {
    subnets.private[az] = (
      await aws.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.1.${i * 64}.0/18`, AvailabilityZone: az }))
    ).Subnet!.SubnetId!
    subnets.public[az] = (
      await aws.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.1.${192 + i * 16}.0/20`, AvailabilityZone: az }))
    ).Subnet!.SubnetId!
  }
})
after(() => {
  stopSim(sim)
  aws.ec2.destroy()
  aws.eks.destroy()
})

describe('eksctl stand-in', () => {
  test('version, plain and -o json', async () => {
    assert.equal((await eksctl(['version'])).stdout, '0.230.0\n')
    assert.equal(JSON.parse((await eksctl(['version', '-o', 'json'])).stdout).Version, '0.230.0')
  })

  test('create cluster refuses unknown keys and reserved label prefixes before touching AWS', async () => {
    const unknown = await eksctl(['create', 'cluster', '-f', config('bad1', { extra: { nodegroupz: [] } })])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /error unmarshaling JSON: while decoding JSON: json: unknown field "nodegroupz"/)
    const nested = await eksctl(['create', 'cluster', '-f', config('bad2', { nodegroups: [{ name: 'ng', instanceTyp: 'm5.large' }] })])
    assert.match(nested.stderr, /unknown field "managedNodeGroups\[0\]\.instanceTyp"/)
    const reserved = await eksctl([
      'create',
      'cluster',
      '-f',
      config('bad3', { nodegroups: [{ name: 'ng', privateNetworking: true, labels: { 'kubernetes.io/app': 'scalardlpool' } }] }),
    ])
    assert.equal(reserved.code, 1)
    assert.match(
      reserved.stderr,
      /the following nodegroup labels are disallowed as they have reserved prefixes \[kubernetes\.io\/, k8s\.io\/\]: \[kubernetes\.io\/app\]/,
    )
    const effect = await eksctl([
      'create',
      'cluster',
      '-f',
      config('bad4', { nodegroups: [{ name: 'ng', privateNetworking: true, taints: [{ key: 'a', value: 'b', effect: 'NO_SCHEDULE' }] }] }),
    ])
    assert.match(effect.stderr, /invalid taint effect: NO_SCHEDULE/)
    // validation.go@v0.228.0:740-747: no IMDS for the Pods and an addon policy on the node role at once.
    const imds = await eksctl([
      'create',
      'cluster',
      '-f',
      config('bad5', {
        nodegroups: [{ name: 'ng', privateNetworking: true, disablePodIMDS: true, iam: { withAddonPolicies: { cloudWatch: true } } }],
      }),
    ])
    assert.equal(imds.code, 1)
    assert.match(
      imds.stderr,
      /managedNodeGroups\[0\]\.disablePodIMDS and managedNodeGroups\[0\]\.iam\.withAddonPolicies cannot be set at the same time/,
    )
    // :1298-1329: sizes.
    const sizes = await eksctl([
      'create',
      'cluster',
      '-f',
      config('bad6', { nodegroups: [{ name: 'ng', privateNetworking: true, minSize: 3, desiredCapacity: 2 }] }),
    ])
    assert.match(sizes.stderr, /cannot use --nodes-min=3 and --nodes=2 at the same time/)
    // :1348-1349.
    const types = await eksctl([
      'create',
      'cluster',
      '-f',
      config('bad7', { nodegroups: [{ name: 'ng', privateNetworking: true, instanceType: 'm5.xlarge', instanceTypes: ['m5.large'] }] }),
    ])
    assert.match(types.stderr, /only one of instanceType or instanceTypes can be specified \(managedNodeGroups\[0\]\)/)
    for (const n of ['bad1', 'bad2', 'bad3', 'bad4', 'bad5', 'bad6', 'bad7'])
      await assert.rejects(aws.eks.send(new DescribeClusterCommand({ name: n })), /ResourceNotFound/)
  })

  test('create cluster takes its version from DescribeClusterVersions as eksctl 0.230 does: an unsupported version is refused before anything is made', async () => {
    assert.equal(sim.cli('knobs', '--eks-version-status', '1.33=UNSUPPORTED').code, 0)
    try {
      const doc = config('oldver')
      fs.writeFileSync(doc, fs.readFileSync(doc, 'utf8').replace('version: "1.35"', 'version: "1.33"'))
      const r = await eksctl(['create', 'cluster', '-f', doc])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /resolving cluster version: invalid version, supported values: 1\.\d+(, 1\.\d+)*/)
      assert.doesNotMatch(r.stderr, /supported values: [^\n]*1\.33/)
      await assert.rejects(aws.eks.send(new DescribeClusterCommand({ name: 'oldver' })), /ResourceNotFound/)
    } finally {
      assert.equal(sim.cli('knobs', '--eks-version-status', '').code, 0)
    }
  })

  test('create cluster makes the cluster, node groups, Ready untainted nodes, CoreDNS and the kubeconfig context; again fails as eksctl does', async () => {
    const file = config('ledger', { logging: ['api', 'audit'] })
    const r = await eksctl(['create', 'cluster', '-f', file])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\[✔\] {2}EKS cluster "ledger" in "ap-northeast-1" region is ready/)
    const c = (await aws.eks.send(new DescribeClusterCommand({ name: 'ledger' }))).cluster!
    assert.equal(c.status, 'ACTIVE')
    assert.equal(c.resourcesVpcConfig?.endpointPrivateAccess, true)
    const ng = (await aws.eks.send(new DescribeNodegroupCommand({ clusterName: 'ledger', nodegroupName: 'scalardlpool' }))).nodegroup!
    assert.equal(ng.labels?.agentpool, 'scalardlpool')
    assert.deepEqual(ng.scalingConfig, { minSize: 3, maxSize: 6, desiredSize: 3 })
    const kube = JSON.parse((await sim.kubectl(['get', 'nodes', '-o', 'json'])).stdout).items
    assert.equal(kube.length, 5)
    assert.equal(kube.filter((n: any) => n.metadata.labels.agentpool === 'scalardlpool').length, 3)
    for (const n of kube) {
      assert.equal(n.spec.taints, undefined)
      assert.equal(n.status.conditions.find((x: any) => x.type === 'Ready').status, 'True')
    }
    const k = YAML.parse(fs.readFileSync(sim.env.KUBECONFIG!, 'utf8'))
    assert.equal(k['current-context'], 'moto@ledger.ap-northeast-1.eksctl.io')
    const dns = JSON.parse((await sim.kubectl(['get', 'deployment', 'coredns', '-n', 'kube-system', '-o', 'json'])).stdout)
    assert.equal(dns.spec.replicas, 2)
    assert.deepEqual(
      dns.spec.template.spec.tolerations.map((t: any) => t.key),
      ['node-role.kubernetes.io/control-plane', 'CriticalAddonsOnly'],
    )
    const again = await eksctl(['create', 'cluster', '-f', file])
    assert.equal(again.code, 1)
    // eksctl logs the cause on stdout ([✖]); stderr has only cobra's summary.
    assert.match(
      again.stdout,
      /\[✖\] {2}creating CloudFormation stack "eksctl-ledger-cluster": .*AlreadyExistsException: Stack \[eksctl-ledger-cluster\] already exists/,
    )
    assert.equal(again.stderr, 'Error: failed to create cluster "ledger"\n')
  })

  test("get cluster and get nodegroup print eksctl's JSON shapes; a missing cluster is eksctl's error", async () => {
    const [c] = JSON.parse((await eksctl(['get', 'cluster', '--name', 'ledger', '-o', 'json'])).stdout)
    assert.equal(c.Name, 'ledger')
    assert.equal(c.Status, 'ACTIVE')
    assert.match(c.ResourcesVpcConfig.VpcId, /^vpc-/)
    assert.equal(c.ResourcesVpcConfig.SubnetIds.length, 6)
    assert.deepEqual(c.Logging.ClusterLogging.find((l: any) => l.Enabled).Types, ['api', 'audit'])
    const list = JSON.parse((await eksctl(['get', 'cluster', '-o', 'json'])).stdout)
    assert.deepEqual(list, [{ Name: 'ledger', Region: 'ap-northeast-1', Owned: 'True' }])
    const missing = await eksctl(['get', 'cluster', '--name', 'nope', '-o', 'json'])
    assert.equal(missing.code, 1)
    assert.equal(missing.stdout, '')
    assert.match(missing.stderr, /ResourceNotFoundException: No cluster found for name: nope\./)
    const groups = JSON.parse((await eksctl(['get', 'nodegroup', '--cluster', 'ledger', '-o', 'json'])).stdout)
    assert.deepEqual(groups.map((g: any) => [g.Name, g.Status, g.DesiredCapacity, g.InstanceType, g.Type]).sort(), [
      ['scalardlpool', 'ACTIVE', 3, 'm5.xlarge', 'managed'],
      ['system', 'ACTIVE', 2, 'm5.large', 'managed'],
    ])
    for (const key of ['StackName', 'Cluster', 'MaxSize', 'MinSize', 'NodeInstanceRoleARN', 'Version']) assert.ok(key in groups[0], key)
  })

  test("the runbook's EKS API reads (lib/eks/read.ts) give what eksctl get prints", async () => {
    const [c] = JSON.parse((await eksctl(['get', 'cluster', '--name', 'ledger', '-o', 'json'])).stdout)
    const read = await getCluster(aws.eks, 'ledger')
    for (const key of ['Name', 'Status', 'Version', 'Endpoint'] as const) assert.equal(read?.[key], c[key], key)
    // VpcId is left out: EKS returns it, moto does not (the stand-in derives it from the subnets).
    for (const key of ['SecurityGroupIds', 'EndpointPublicAccess', 'EndpointPrivateAccess'] as const)
      assert.deepEqual(read?.ResourcesVpcConfig?.[key], c.ResourcesVpcConfig[key], key)
    assert.deepEqual([...(read?.ResourcesVpcConfig?.SubnetIds ?? [])].sort(), [...c.ResourcesVpcConfig.SubnetIds].sort())
    assert.deepEqual(read?.Logging, c.Logging)
    assert.equal(await getCluster(aws.eks, 'nope'), undefined)
    const groups = JSON.parse((await eksctl(['get', 'nodegroup', '--cluster', 'ledger', '-o', 'json'])).stdout)
    const keys = ['Cluster', 'Name', 'Status', 'MinSize', 'MaxSize', 'DesiredCapacity', 'InstanceType', 'Type']
    const pick = (g: any) => Object.fromEntries(keys.map((k) => [k, g[k]]))
    assert.deepEqual(
      (await getNodegroups(aws.eks, 'ledger')).map(pick).sort((a, b) => a.Name.localeCompare(b.Name)),
      groups.map(pick).sort((a: any, b: any) => a.Name.localeCompare(b.Name)),
    )
    // (A missing cluster's node groups are not asked here: moto answers 500 where EKS answers
    // ResourceNotFoundException, which read.ts maps to none; the tasks ask only for a cluster that exists.)
  })

  test('create nodegroup skips existing groups; scale nodegroup adds untainted nodes (a hand-made taint is not copied)', async () => {
    const file = config('ledger')
    const r = await eksctl(['create', 'nodegroup', '-f', file])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /2 existing nodegroup\(s\) \(scalardlpool,system\) will be excluded/)
    assert.equal(
      (await sim.kubectl(['taint', 'nodes', '-l', 'agentpool=scalardlpool', 'kubernetes.io/app=scalardlpool:NoSchedule', '--overwrite']))
        .code,
      0,
    )
    const tooMany = await eksctl(['scale', 'nodegroup', '--cluster', 'ledger', '--name', 'scalardlpool', '--nodes', '9'])
    assert.equal(tooMany.code, 1)
    assert.match(tooMany.stderr, /greater than current nodes-max\/maxSize 6/)
    const s = await eksctl(['scale', 'nodegroup', '--cluster', 'ledger', '--name', 'scalardlpool', '--nodes', '4'])
    assert.equal(s.code, 0, s.stderr)
    const pool = JSON.parse((await sim.kubectl(['get', 'nodes', '-l', 'agentpool=scalardlpool', '-o', 'json'])).stdout).items
    assert.equal(pool.length, 4)
    assert.equal(pool.filter((n: any) => !n.spec.taints).length, 1, 'exactly the new node is untainted')
    const ng = (await aws.eks.send(new DescribeNodegroupCommand({ clusterName: 'ledger', nodegroupName: 'scalardlpool' }))).nodegroup!
    assert.equal(ng.scalingConfig?.desiredSize, 4)
    assert.equal((await eksctl(['scale', 'nodegroup', '--cluster', 'ledger', '--name', 'scalardlpool', '--nodes', '3'])).code, 0)
    assert.equal(JSON.parse((await sim.kubectl(['get', 'nodes', '-l', 'agentpool=scalardlpool', '-o', 'json'])).stdout).items.length, 3)
  })

  test("a node group's nodes are EKS's: made through EKS's API alone (eksctl killed after asking), its nodes join, once", async () => {
    const nodegroup = {
      clusterName: 'ledger',
      nodegroupName: 'orphan',
      scalingConfig: { minSize: 1, maxSize: 3, desiredSize: 2 },
      instanceTypes: ['m5.large'],
      subnets: Object.values(subnets.private),
      labels: { agentpool: 'orphan' },
      taints: [{ key: 'kubernetes.io/app', value: 'orphan', effect: 'NO_SCHEDULE' as const }],
      nodeRole: 'arn:aws:iam::123456789012:role/orphan-node',
      clientRequestToken: 'orphan-once',
    }
    await aws.eks.send(new CreateNodegroupCommand(nodegroup))
    // The same request again (a retry with its token): the group, not a second set of nodes.
    await aws.eks.send(new CreateNodegroupCommand(nodegroup)).catch((e: Error) => assert.equal(e.name, 'ResourceInUseException'))
    const nodes = JSON.parse((await sim.kubectl(['get', 'nodes', '-l', 'eks.amazonaws.com/nodegroup=orphan', '-o', 'json'])).stdout).items
    assert.equal(nodes.length, 2)
    for (const n of nodes) {
      assert.equal(n.metadata.labels.agentpool, 'orphan')
      assert.equal(n.metadata.labels['node.kubernetes.io/instance-type'], 'm5.large')
      assert.deepEqual(n.spec.taints, [{ key: 'kubernetes.io/app', value: 'orphan', effect: 'NoSchedule' }])
    }
    const gone = await eksctl(['delete', 'nodegroup', '--cluster', 'ledger', '--name', 'orphan', '--drain=false', '--wait'])
    assert.equal(gone.code, 0, gone.stderr)
  })

  test('utils update-cluster-logging: a preview without --approve, the change with it, then already up-to-date', async () => {
    const preview = await eksctl(['utils', 'update-cluster-logging', '--cluster', 'ledger', '--enable-types', 'all'])
    assert.equal(preview.code, 0)
    assert.match(preview.stdout, /\(plan\) would update CloudWatch logging/)
    assert.match(preview.stdout, /no changes were applied, run again with '--approve' to apply the changes/)
    let c = (await aws.eks.send(new DescribeClusterCommand({ name: 'ledger' }))).cluster!
    assert.deepEqual(c.logging?.clusterLogging?.find((l) => l.enabled)?.types, ['api', 'audit'])
    const apply = await eksctl(['utils', 'update-cluster-logging', '--cluster', 'ledger', '--enable-types', 'all', '--approve'])
    assert.equal(apply.code, 0, apply.stderr)
    c = (await aws.eks.send(new DescribeClusterCommand({ name: 'ledger' }))).cluster!
    assert.deepEqual(c.logging?.clusterLogging?.find((l) => l.enabled)?.types, [
      'api',
      'audit',
      'authenticator',
      'controllerManager',
      'scheduler',
    ])
    const same = await eksctl(['utils', 'update-cluster-logging', '--cluster', 'ledger', '--enable-types', 'all', '--approve'])
    assert.match(same.stdout, /is already up-to-date/)
  })

  test('utils write-kubeconfig writes the context to --kubeconfig', async () => {
    const file = path.join(sim.dir, 'other-kubeconfig')
    const r = await eksctl(['utils', 'write-kubeconfig', '--cluster', 'ledger', '--kubeconfig', file])
    assert.equal(r.code, 0, r.stderr)
    const k = YAML.parse(fs.readFileSync(file, 'utf8'))
    assert.equal(k.contexts[0].name, 'moto@ledger.ap-northeast-1.eksctl.io')
    // The endpoint and its CA, as DescribeCluster gives them: the simulated EKS API serves HTTPS.
    assert.match(k.clusters[0].cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.match(Buffer.from(k.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), /^-----BEGIN CERTIFICATE-----/)
    assert.equal(k.users[0].user.exec.command, 'aws')
  })

  test('the CloudWatch add-on: tolerations from configuration values (default: every taint), create skips, update changes, delete removes', async () => {
    const create = await eksctl(['create', 'addon', '--cluster', 'ledger', '--name', 'amazon-cloudwatch-observability'])
    assert.equal(create.code, 0, create.stderr)
    const ds = async (name: string) => JSON.parse((await sim.kubectl(['get', 'ds', name, '-n', 'amazon-cloudwatch', '-o', 'json'])).stdout)
    assert.deepEqual((await ds('fluent-bit')).spec.template.spec.tolerations, [{ operator: 'Exists' }])
    await eventually(
      async () => (await ds('fluent-bit')).status.numberReady === 5 && true,
      'fluent-bit on all 5 nodes, tainted ones included',
    )
    const again = await eksctl(['create', 'addon', '--cluster', 'ledger', '--name', 'amazon-cloudwatch-observability'])
    assert.match(again.stdout, /addon is already present on the cluster, as an EKS managed addon, skipping creation/)
    const values = JSON.stringify({ tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }] })
    const file = config('ledger', { extra: { addons: [{ name: 'amazon-cloudwatch-observability', configurationValues: values }] } })
    const update = await eksctl(['update', 'addon', '-f', file])
    assert.equal(update.code, 0, update.stderr)
    assert.deepEqual((await ds('fluent-bit')).spec.template.spec.tolerations, [{ key: 'CriticalAddonsOnly', operator: 'Exists' }])
    await eventually(
      async () => (await ds('fluent-bit')).status.desiredNumberScheduled === 2 && true,
      'fluent-bit only on the 2 untainted nodes',
    )
    const [got] = JSON.parse((await eksctl(['get', 'addon', '--cluster', 'ledger', '-o', 'json'])).stdout)
    assert.equal(got.Name, 'amazon-cloudwatch-observability')
    assert.equal(got.Status, 'ACTIVE')
    assert.equal(got.ConfigurationValues, values)
    assert.equal((await eksctl(['delete', 'addon', '--cluster', 'ledger', '--name', 'amazon-cloudwatch-observability'])).code, 0)
    assert.equal((await sim.kubectl(['get', 'ds', 'fluent-bit', '-n', 'amazon-cloudwatch'])).code, 1)
    assert.deepEqual(JSON.parse((await eksctl(['get', 'addon', '--cluster', 'ledger', '-o', 'json'])).stdout), [])
  })

  test("create addon after a kill between the association and the add-on: eksctl's own association is taken, another one is EKS's conflict", async () => {
    // What an eksctl killed inside its CreateAddon left in the stand-in: the association of the
    // add-on's service account to the role eksctl makes for it, and no add-on (EKS makes both in
    // one request: eksctl pkg/actions/addon/create.go:147-163).
    const addon = 'amazon-cloudwatch-observability'
    const iam = new IAMClient(awsConfig(sim.env, 'ap-northeast-1'))
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
    })
    const role = async (name: string) =>
      (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }))).Role!.Arn!
    const associate = async (roleArn: string) =>
      (
        await aws.eks.send(
          new CreatePodIdentityAssociationCommand({
            clusterName: 'ledger',
            namespace: 'amazon-cloudwatch',
            serviceAccount: 'cloudwatch-agent',
            roleArn,
          }),
        )
      ).association!.associationId!
    const left = await associate(await role(podIdentityRoleName('ledger', addon, 'cloudwatch-agent')))
    const withAssociation = config('ledger', {
      extra: {
        addons: [
          { name: 'eks-pod-identity-agent' },
          {
            name: addon,
            podIdentityAssociations: [
              {
                namespace: 'amazon-cloudwatch',
                serviceAccountName: 'cloudwatch-agent',
                permissionPolicyARNs: ['arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy'],
              },
            ],
          },
        ],
      },
    })
    const create = await eksctl(['create', 'addon', '-f', withAssociation])
    assert.equal(create.code, 0, create.stderr)
    const got = JSON.parse((await eksctl(['get', 'addon', '--cluster', 'ledger', '-o', 'json'])).stdout).find(
      (a: { Name: string }) => a.Name === addon,
    )
    assert.deepEqual(
      got.PodIdentityAssociations.map((a: { AssociationID: string }) => a.AssociationID),
      [left],
    )
    assert.equal((await eksctl(['delete', 'addon', '--cluster', 'ledger', '--name', addon])).code, 0)
    // Someone's own association of the service account, to another role: the conflict EKS reports.
    await associate(await role('someone-elses-agent-role'))
    const conflict = await eksctl(['create', 'addon', '-f', withAssociation])
    assert.equal(conflict.code, 1)
    assert.match(conflict.stderr, /ResourceInUseException: Association already exists for amazon-cloudwatch\/cloudwatch-agent/)
    iam.destroy()
  })

  test('a cluster whose only nodes are tainted leaves a rescheduled CoreDNS pod Pending', async () => {
    const file = config('tainted', {
      nodegroups: [
        {
          name: 'scalardlpool',
          desiredCapacity: 2,
          minSize: 2,
          maxSize: 4,
          privateNetworking: true,
          labels: { agentpool: 'scalardlpool' },
        },
      ],
    })
    assert.equal((await eksctl(['create', 'cluster', '-f', file])).code, 0)
    assert.equal(
      (await sim.kubectl(['taint', 'nodes', '-l', 'agentpool=scalardlpool', 'kubernetes.io/app=scalardlpool:NoSchedule', '--overwrite']))
        .code,
      0,
    )
    const pods = async () =>
      JSON.parse((await sim.kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'json'])).stdout).items
    const victim = (await pods())[0].metadata.name
    assert.equal((await sim.kubectl(['delete', 'pod', victim, '-n', 'kube-system'])).code, 0)
    const pending = await eventually(
      async () => (await pods()).find((p: any) => p.status.conditions?.[0]?.reason === 'Unschedulable'),
      'an unschedulable CoreDNS pod',
    )
    assert.match(pending.status.conditions[0].message, /untolerated taint \{kubernetes\.io\/app: scalardlpool\}/)
  })

  test('delete nodegroup drains, and a PodDisruptionBudget that allows nothing blocks it until --timeout; --drain=false does not drain', async () => {
    const context = YAML.parse(fs.readFileSync(sim.env.KUBECONFIG!, 'utf8')).contexts.find((c: any) => c.name.includes('@tainted.')).name
    const guarded = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'guarded' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'guarded' } },
        template: {
          metadata: { labels: { app: 'guarded' } },
          spec: {
            nodeSelector: { 'eks.amazonaws.com/nodegroup': 'scalardlpool' },
            tolerations: [{ operator: 'Exists' }],
            containers: [{ name: 'c', image: 'public.ecr.aws/docker/library/busybox:1.36' }],
          },
        },
      },
    }
    const pdb = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'guarded' },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } },
    }
    for (const o of [guarded, pdb]) assert.equal((await sim.kubectl(['apply', '-f', '-'], { input: YAML.stringify(o), context })).code, 0)
    assert.equal((await sim.kubectl(['rollout', 'status', 'deployment/guarded', '--timeout=20s'], { context })).code, 0)
    const blocked = await eksctl([
      'delete',
      'nodegroup',
      '--cluster',
      'tainted',
      '--name',
      'scalardlpool',
      '--timeout',
      '2s',
      '--pod-eviction-wait-period',
      '500ms',
    ])
    assert.equal(blocked.code, 1)
    assert.equal(blocked.stderr, 'Error: draining nodegroups: timed out waiting for nodegroup "scalardlpool" to be drained\n')
    assert.match(blocked.stdout, /to skip drain use '--drain=false' flag/)
    assert.ok(await aws.eks.send(new DescribeNodegroupCommand({ clusterName: 'tainted', nodegroupName: 'scalardlpool' })), 'not deleted')
    const nodes = JSON.parse(
      (await sim.kubectl(['get', 'nodes', '-l', 'eks.amazonaws.com/nodegroup=scalardlpool', '-o', 'json'], { context })).stdout,
    ).items
    assert.ok(
      nodes.every((n: any) => n.spec.unschedulable),
      'cordoned',
    )
  })

  test('delete nodegroup and delete cluster --wait remove them from moto and the fake API', async () => {
    assert.equal(
      (await eksctl(['delete', 'nodegroup', '--cluster', 'tainted', '--name', 'scalardlpool', '--wait', '--drain=false'])).code,
      0,
    )
    await assert.rejects(
      aws.eks.send(new DescribeNodegroupCommand({ clusterName: 'tainted', nodegroupName: 'scalardlpool' })),
      /ResourceNotFound/,
    )
    const d = await eksctl(['delete', 'cluster', '--name', 'tainted', '--wait'])
    assert.equal(d.code, 0, d.stderr)
    await assert.rejects(aws.eks.send(new DescribeClusterCommand({ name: 'tainted' })), /ResourceNotFound/)
    const k = YAML.parse(fs.readFileSync(sim.env.KUBECONFIG!, 'utf8'))
    assert.ok(!k.contexts.some((c: any) => c.name.includes('@tainted.')))
    const gone = await eksctl(['delete', 'cluster', '--name', 'tainted', '--wait'])
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /No cluster found for name: tainted/)
  })
})
