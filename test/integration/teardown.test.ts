// 99-teardown against the simulator: confirmation, and resumable after kills. A full deployment
// (Ledger and Auditor) torn down, with untagged resources surviving, tables and logs kept unless
// asked, backups first, and a second teardown that changes nothing: test/integration/auditor.test.ts.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import YAML from 'yaml'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { CreateNetworkInterfaceCommand, DeleteNetworkInterfaceCommand, EC2Client } from '@aws-sdk/client-ec2'
import { AttachRolePolicyCommand, IAMClient, ListRolesCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { findBastion } from '../../lib/aws/bastion.ts'
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { findSubnets } from '../../lib/aws/subnets.ts'
import { findVpc } from '../../lib/aws/vpc.ts'
import { inventory } from '../helpers/inventory.ts'
import { collect, runStep, spawnStep, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListBackupsCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb'
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling'
import { CloudWatchClient, DescribeAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch'

let sim: Sim

function envFor(cluster: string, cidr: string): NodeJS.ProcessEnv {
  const state = tempDir('rb-td-')
  return {
    ...sim.env,
    NODE_NO_WARNINGS: '1',
    CI: 'true',
    CLUSTER_NAME: cluster,
    VPC_CIDR: cidr,
    RUNBOOK_STATE_DIR: state,
    GITHUB_USERNAME: 'octo',
    GITHUB_TOKEN: ['ghp', 'teardownTestToken00000000000000000'].join('_'),
    SCALARDL_DB_USERNAME: 'AKIATEARDOWN00000000',
    SCALARDL_DB_PASSWORD: 'teardown-secret',
    LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
    DYNAMODB_NAMESPACE_PREFIX: `${cluster}_`,
  }
}

async function deploy(env: NodeJS.ProcessEnv): Promise<void> {
  for (const [s, args] of [
    ['01-vpc', []],
    ['02-database', []],
    ['03-eks', []],
    ['04-scalardl', ['--generate-ledger-key']],
    ['06-monitoring', []],
  ] as const) {
    const r = await runStep(`runbooks/${s}.ts`, [...args], env)
    assert.equal(r.code, 0, `${s}: ${r.stderr}`)
  }
}

const tagged = async (env: NodeJS.ProcessEnv) => Object.values(await inventory(env, env.CLUSTER_NAME!)).reduce((a, b) => a + b, 0)

/** The tables' auto scaling in the account: scalable targets, scaling policies and target-tracking alarms, by table. */
async function scalingOf(env: NodeJS.ProcessEnv, tables: string[]) {
  const opts = awsConfig(env, 'ap-northeast-1')
  const aas = new ApplicationAutoScalingClient(opts)
  const cw = new CloudWatchClient(opts)
  const mine = (resourceId: string) => tables.some((t) => resourceId === `table/${t}`)
  const targets = ((await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb' }))).ScalableTargets ?? [])
    .filter((t) => mine(t.ResourceId!))
    .map((t) => `${t.ResourceId} ${t.ScalableDimension}`)
  const policies = ((await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'dynamodb' }))).ScalingPolicies ?? [])
    .filter((p) => mine(p.ResourceId!))
    .map((p) => p.PolicyName!)
  const alarms = ((await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'TargetTracking-table/' }))).MetricAlarms ?? [])
    .map((a) => a.AlarmName!)
    .filter((n) => tables.some((t) => n.startsWith(`TargetTracking-table/${t}-`)))
  aas.destroy()
  cw.destroy()
  return { targets, policies, alarms }
}

before(() => {
  sim = startSim(['--pod-start-ms', '30', '--job-duration-ms', '50', '--lb-delay-ms', '50', '--cloudwatch-interval-ms', '0'])
})
after(() => stopSim(sim))

describe('99-teardown against the simulator', () => {
  test("tables by ownership: another application's tables stop a fresh 00; the deployment's are tagged and protected, and --delete-data deletes only them, after a backup of each", async () => {
    const ddb = new DynamoDBClient(awsConfig(sim.env, 'ap-northeast-1'))
    const table = (TableName: string) =>
      ddb.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      )
    const names = async () => (await ddb.send(new ListTablesCommand({}))).TableNames ?? []
    // Another ScalarDB application's coordinator table, under the default empty prefix.
    await table('coordinator.state')
    const env = { ...envFor('td-own', '10.44.0.0/16'), BASTION_ENABLED: 'false', DYNAMODB_NAMESPACE_PREFIX: '' }
    const refused = await runStep('runbooks/00-preflight.ts', ['--json'], env)
    assert.equal(refused.code, 2, refused.stderr)
    assert.deepEqual(
      refused.json.problems.map((p: any) => p.key),
      ['DYNAMODB_NAMESPACE_PREFIX'],
    )
    assert.match(refused.json.problems[0].message, /coordinator\.state already exists .* without this deployment's tag/)
    const own = { ...env, DYNAMODB_NAMESPACE_PREFIX: 'td_own_' }
    assert.equal((await runStep('runbooks/00-preflight.ts', ['--json'], own)).json?.problems, undefined, 'a prefix of its own')
    for (const [st, args] of [
      ['01-vpc', []],
      ['03-eks', []],
      ['04-scalardl', ['--generate-ledger-key']],
    ] as const) {
      const r = await runStep(`runbooks/${st}.ts`, [...args], own)
      assert.equal(r.code, 0, `${st}: ${r.stderr}`)
    }
    // Every table the schema loader made is tagged and protected, whatever the schema adds.
    const made = (await names()).filter((n) => n.startsWith('td_own_'))
    assert.ok(made.length >= 9, made.join(', '))
    for (const n of made) {
      const t = (await ddb.send(new DescribeTableCommand({ TableName: n }))).Table!
      assert.ok(t.DeletionProtectionEnabled, `deletion protection on ${n}`)
      const tags = (await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: t.TableArn! }))).Tags ?? []
      assert.deepEqual(tags, [{ Key: 'scalardl-runbook/cluster', Value: 'td-own' }], n)
    }
    // The schema loader gave each table but the metadata table auto scaling (ScalarDB's DynamoAdmin).
    const scaled = made.filter((n) => n !== 'td_own_scalardb.metadata')
    const scaling = await scalingOf(own, made)
    assert.equal(scaling.targets.length, scaled.length * 2, scaling.targets.join(', '))
    assert.equal(scaling.policies.length, scaled.length * 2, scaling.policies.join(', '))
    for (const n of scaled)
      assert.ok(
        scaling.alarms.some((a) => a.startsWith(`TargetTracking-table/${n}-AlarmHigh-`)),
        `alarms of ${n}`,
      )
    // Later, someone else's table under the deployment's prefix and namespace, with auto scaling of its own.
    await table('td_own_scalar.someone_else')
    const aas = new ApplicationAutoScalingClient(awsConfig(sim.env, 'ap-northeast-1'))
    const cw = new CloudWatchClient(awsConfig(sim.env, 'ap-northeast-1'))
    await aas.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: 'table/td_own_scalar.someone_else',
        ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
        MinCapacity: 1,
        MaxCapacity: 5,
      }),
    )
    // A target-tracking alarm of one of the deployment's tables whose policy is gone (as after a
    // deregistration that left it), and one of the other table.
    const stray = (t: string) =>
      cw.send(
        new PutMetricAlarmCommand({
          AlarmName: `TargetTracking-table/${t}-AlarmLow-00000000-0000-4000-8000-000000000000`,
          Namespace: 'AWS/DynamoDB',
          MetricName: 'ConsumedReadCapacityUnits',
          Dimensions: [{ Name: 'TableName', Value: t }],
          Statistic: 'Sum',
          Period: 60,
          EvaluationPeriods: 15,
          Threshold: 30,
          ComparisonOperator: 'LessThanThreshold',
          AlarmActions: [
            `arn:aws:autoscaling:ap-northeast-1:123456789012:scalingPolicy:00000000-0000-4000-8000-000000000001:resource/dynamodb/table/${t}:policyName/table/${t}-read:createdBy/00000000-0000-4000-8000-000000000002`,
          ],
        }),
      )
    await stray('td_own_scalar.asset')
    await stray('td_own_scalar.someone_else')
    const plan = await runStep('runbooks/99-teardown.ts', ['--json', '--dry-run', '--delete-data', '--yes', '--confirm', 'td-own'], own)
    assert.equal(plan.code, 0, plan.stderr)
    const planned = plan.json.tasks.find((t: any) => /^DynamoDB tables/.test(t.title)).detail as string
    assert.equal(planned.split('; ')[0], `back up and delete ${made.sort().join(', ')}`)
    // (coordinator.state, outside the prefix, is not looked at at all.)
    assert.match(planned, /; not the runbook's, never touched: td_own_scalar\.someone_else$/)
    const plannedScaling = plan.json.tasks.find((t: any) => /^Auto scaling of the runbook's tables/.test(t.title))
    assert.equal(plannedScaling.status, 'planned')
    assert.match(plannedScaling.detail, new RegExp(`deregister ${scaled.length * 2} scalable target\\(s\\)`))
    assert.deepEqual((await scalingOf(own, made)).targets, scaling.targets, '--dry-run deregisters nothing')
    const r = await runStep('runbooks/99-teardown.ts', ['--json', '--delete-data', '--yes', '--confirm', 'td-own'], own)
    assert.equal(r.code, 0, r.stderr)
    const left = await names()
    assert.ok(left.includes('td_own_scalar.someone_else') && left.includes('coordinator.state'), left.join(', '))
    assert.deepEqual(
      left.filter((n) => made.includes(n)),
      [],
    )
    const backups = (await ddb.send(new ListBackupsCommand({}))).BackupSummaries ?? []
    for (const n of made)
      assert.ok(
        backups.some((b) => b.TableName === n),
        `a backup of ${n}`,
      )
    assert.match(r.json.tasks.find((t: any) => /^DynamoDB tables/.test(t.title)).detail, /backups: arn:aws:dynamodb:/)
    // Their auto scaling went with them (the stray alarm too); the other table's stays.
    assert.deepEqual(await scalingOf(own, made), { targets: [], policies: [], alarms: [] })
    const removed = r.json.tasks.find((t: any) => /^Auto scaling of the runbook's tables/.test(t.title))
    assert.equal(removed.status, 'changed')
    assert.match(removed.detail, /deleted 1 alarm\(s\) left: TargetTracking-table\/td_own_scalar\.asset-AlarmLow-/)
    const others = await scalingOf(own, ['td_own_scalar.someone_else'])
    assert.deepEqual(others.targets, ['table/td_own_scalar.someone_else dynamodb:table:ReadCapacityUnits'])
    assert.equal(others.alarms.length, 1)
    // A rerun finds nothing and says so.
    const again = await runStep('runbooks/99-teardown.ts', ['--json', '--delete-data', '--yes', '--confirm', 'td-own'], own)
    assert.equal(again.code, 0, again.stderr)
    const none = again.json.tasks.find((t: any) => /^Auto scaling of the runbook's tables/.test(t.title))
    assert.equal(none.status, 'ok')
    assert.match(none.detail, /^none/)
    aas.destroy()
    cw.destroy()
    ddb.destroy()
  })

  test('--delete-lock-table: kept and named while another cluster has a lock item in it; deleted once only this deployment used it, and the run still releases its lock, exits 0 and journals', async () => {
    const env: NodeJS.ProcessEnv = { ...envFor('td-lock', '10.48.0.0/16'), BASTION_ENABLED: 'false' }
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const ddb = new DynamoDBClient(awsConfig(sim.env, 'ap-northeast-1'))
    const exists = () =>
      ddb.send(new DescribeTableCommand({ TableName: 'scalardl-runbook-locks' })).then(
        () => true,
        (e: Error) => (e.name === 'ResourceNotFoundException' ? false : Promise.reject(e)),
      )
    assert.ok(await exists(), '01 made it for its lock')
    // A lock another deployment left (its run died on another host).
    const now = Date.now()
    await ddb.send(
      new PutItemCommand({
        TableName: 'scalardl-runbook-locks',
        Item: {
          lockId: { S: 'someone-else' },
          step: { S: '04-scalardl' },
          holder: { S: 'op@elsewhere pid 1' },
          host: { S: 'elsewhere' },
          pid: { N: '1' },
          runId: { S: 'their-run' },
          acquiredAt: { N: String(now) },
          expiresAt: { N: String(now + 3_600_000) },
        },
      }),
    )
    const task = (r: { json?: any }) => r.json.tasks.find((t: any) => /^The run-lock table/.test(t.title))
    const plain = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-lock'], env)
    assert.equal(plain.code, 0, plain.stderr)
    assert.match(task(plain).detail, /^kept/, 'without the flag')
    const kept = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-lock', '--delete-lock-table'], env)
    assert.equal(kept.code, 0, kept.stderr)
    assert.equal(task(kept).status, 'ok')
    assert.match(task(kept).detail, /other deployments .* \(someone-else\)/)
    assert.ok(await exists(), 'kept for someone-else')
    const dry = await runStep(
      'runbooks/99-teardown.ts',
      ['--json', '--dry-run', '--yes', '--confirm', 'td-lock', '--delete-lock-table'],
      env,
    )
    assert.equal(task(dry).status, 'ok', 'the dry run sees the same')
    await ddb.send(new DeleteItemCommand({ TableName: 'scalardl-runbook-locks', Key: { lockId: { S: 'someone-else' } } }))
    const plan = await runStep(
      'runbooks/99-teardown.ts',
      ['--json', '--dry-run', '--yes', '--confirm', 'td-lock', '--delete-lock-table'],
      env,
    )
    assert.equal(task(plan).status, 'planned')
    assert.ok(await exists(), '--dry-run deletes nothing')
    const gone = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-lock', '--delete-lock-table'], env)
    assert.equal(gone.code, 0, gone.stderr)
    assert.equal(gone.json.status, 'changed')
    assert.equal(task(gone).status, 'changed')
    assert.doesNotMatch(gone.stderr, /could not release the run lock/)
    assert.equal(await exists(), false)
    const journal = fs
      .readFileSync(path.join(env.RUNBOOK_STATE_DIR!, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const last = journal.at(-1)
    assert.equal(last.step, '99-teardown')
    assert.equal(last.status, 'changed')
    assert.equal(last.tasks.find((t: any) => /^The run-lock table/.test(t.title)).status, 'changed')
    // The next mutating run makes the table again for its lock.
    assert.equal((await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-lock'], env)).json.status, 'ok')
    assert.ok(await exists())
    ddb.destroy()
  })

  test('without confirmation: exit 2 and nothing deleted', async () => {
    const env = envFor('td-noconf', '10.40.0.0/16')
    assert.equal((await runStep('runbooks/01-vpc.ts', [], { ...env, BASTION_ENABLED: 'false' })).code, 0)
    const before = await tagged(env)
    for (const args of [[], ['--yes'], ['--yes', '--confirm', 'other-cluster']]) {
      const r = await runStep('runbooks/99-teardown.ts', ['--json', ...args], env)
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /--confirm td-noconf/)
    }
    assert.equal(await tagged(env), before)
  })

  test('killed at random points and rerun: completes, nothing tagged left', async () => {
    const env = envFor('td-kill', '10.42.0.0/16')
    await deploy(env)
    // Someone's workload on the pool, under a PodDisruptionBudget that allows no eviction: a
    // drain would wait for it until eksctl's timeout; the teardown does not drain.
    const kubeconfig = path.join(env.RUNBOOK_STATE_DIR!, 'td-kill', 'kubeconfig')
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
            nodeSelector: { agentpool: 'scalardlpool' },
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
    for (const o of [guarded, pdb])
      assert.equal((await sim.kubectl(['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: YAML.stringify(o) })).code, 0)
    for (const delay of [700, 2500, 5000]) {
      const child = spawnStep('runbooks/99-teardown.ts', ['--yes', '--confirm', 'td-kill'], env)
      const done = collect(child)
      const timer = setTimeout(() => child.kill('SIGKILL'), delay)
      await done
      clearTimeout(timer)
    }
    const r = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-kill'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await tagged(env), 0)
    // The envoy's NLB went with its Service, before the cluster: nothing was left behind in the VPC.
    const elb = new ElasticLoadBalancingV2Client(awsConfig(env, 'ap-northeast-1'))
    assert.deepEqual(
      (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.map((l) => l.LoadBalancerName),
      [],
    )
    elb.destroy()
    assert.equal((await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-kill'], env)).json.status, 'ok')
    // Without --delete-data the tables stay, and their auto scaling with them.
    const ddb = new DynamoDBClient(awsConfig(env, 'ap-northeast-1'))
    const tables = ((await ddb.send(new ListTablesCommand({}))).TableNames ?? []).filter((n) => n.startsWith('td-kill_'))
    ddb.destroy()
    assert.ok(tables.includes('td-kill_scalar.asset'), tables.join(', '))
    const kept = await scalingOf(env, tables)
    assert.equal(kept.targets.length, (tables.length - 1) * 2, kept.targets.join(', '))
    assert.ok(kept.alarms.length > 0)
  })

  test('a load balancer a Service left in the VPC: the teardown names it and its interfaces at once instead of waiting on the subnets; once removed, the rerun finishes', async () => {
    const env = envFor('td-leak', '10.44.0.0/16')
    assert.equal((await runStep('runbooks/01-vpc.ts', [], { ...env, BASTION_ENABLED: 'false' })).code, 0)
    const opts = awsConfig(env, 'ap-northeast-1')
    const ec2 = new EC2Client(opts)
    const elb = new ElasticLoadBalancingV2Client(opts)
    const vpc = (await findVpc(ec2, 'td-leak'))!
    const privates = (await findSubnets(ec2, 'td-leak')).filter((x) => !x.MapPublicIpOnLaunch).slice(0, 2)
    // As a cluster deleted before its Service leaves it: the NLB and one interface per subnet.
    const lb = (
      await elb.send(
        new CreateLoadBalancerCommand({
          Name: 'a0123456789abcdef0123456789abcd',
          Type: 'network',
          Scheme: 'internal',
          Subnets: privates.map((x) => x.SubnetId!),
          Tags: [{ Key: 'kubernetes.io/service-name', Value: 'default/their-app' }],
        }),
      )
    ).LoadBalancers![0]!
    const enis = await Promise.all(
      privates.map(
        async (x) =>
          (
            await ec2.send(
              new CreateNetworkInterfaceCommand({
                SubnetId: x.SubnetId,
                Description: `ELB net/${lb.LoadBalancerName}/${lb.LoadBalancerArn!.split('/').pop()}`,
              }),
            )
          ).NetworkInterface!.NetworkInterfaceId!,
      ),
    )
    const started = Date.now()
    const r = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-leak'], { ...env, WAIT_TIMEOUT_SECONDS: '600' })
    assert.notEqual(r.code, 0)
    assert.ok(Date.now() - started < 60_000, 'no wait for a deadline')
    const out = r.stdout + r.stderr
    assert.match(out, /load balancer a0123456789abcdef0123456789abcd \(Service default\/their-app\)/)
    for (const id of enis) assert.match(out, new RegExp(`network interface ${id} \\(ELB net/`))
    assert.match(out, /this runbook did not create them, so it does not delete them/)
    assert.ok(await findVpc(ec2, 'td-leak'), 'the VPC stays')
    assert.ok(
      (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!.some((l) => l.LoadBalancerArn === lb.LoadBalancerArn),
      'and so does the load balancer',
    )
    await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }))
    for (const id of enis) await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }))
    const again = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-leak'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(await tagged(env), 0)
    assert.equal(await findVpc(ec2, 'td-leak'), undefined, `${vpc.VpcId} deleted`)
    ec2.destroy()
    elb.destroy()
  })

  test('run on the bastion: refused with the two commands; --keep-bastion there leaves the bastion and its VPC, another host finishes; policies put on the bastion role do not block it', async () => {
    const env = envFor('td-host', '10.46.0.0/16')
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const opts = awsConfig(env, 'ap-northeast-1')
    const bastion = (await findBastion(new EC2Client(opts), 'td-host'))!.InstanceId!
    // Someone gave the bastion role more: a managed policy and an inline one.
    const iam = new IAMClient(opts)
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'td-host-bastion', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }))
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'td-host-bastion',
        PolicyName: 'extra',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }] }),
      }),
    )
    // This host's instance metadata says it is the bastion (IMDSv2: token, then instance id).
    const imds = http.createServer((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end('imds-token')
      if (req.url === '/latest/meta-data/instance-id' && req.headers['x-aws-ec2-metadata-token'] === 'imds-token')
        return void res.end(bastion)
      res.writeHead(401).end()
    })
    await new Promise<void>((r) => imds.listen(0, '127.0.0.1', () => r()))
    const onBastion = {
      ...env,
      AWS_EC2_METADATA_DISABLED: 'false',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${(imds.address() as AddressInfo).port}`,
    }
    const before = await tagged(env)
    const refused = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-host'], onBastion)
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr, new RegExp(`this is the bastion ${bastion} of td-host`))
    assert.match(refused.stderr, /99-teardown\.ts --keep-bastion --yes --confirm td-host/)
    assert.equal(await tagged(env), before, 'nothing deleted')
    const kept = await runStep('runbooks/99-teardown.ts', ['--yes', '--confirm', 'td-host', '--keep-bastion'], onBastion)
    imds.close()
    assert.equal(kept.code, 0, kept.stderr)
    assert.match(
      kept.stdout + kept.stderr,
      /The bastion and the td-host VPC were kept\. From another host: npx tsx runbooks\/99-teardown\.ts --yes --confirm td-host/,
    )
    assert.ok(await findBastion(new EC2Client(opts), 'td-host'), 'the bastion is still there')
    assert.ok(await findVpc(new EC2Client(opts), 'td-host'), 'and its VPC')
    const rest = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-host'], env)
    assert.equal(rest.code, 0, rest.stderr)
    assert.equal(await tagged(env), 0)
    assert.equal(
      (await iam.send(new ListRolesCommand({}))).Roles!.filter((r) => r.RoleName === 'td-host-bastion').length,
      0,
      'the role went, its policies first',
    )
    iam.destroy()
  })
})
