// The simulator's CloudWatch side effects, read back through the real AWS SDK: container logs
// only from nodes where Fluent Bit runs, ContainerInsights metrics, control-plane logs, and
// DynamoDB table metrics.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch'
import { CloudWatchLogsClient, DescribeLogStreamsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2'
import YAML from 'yaml'
import { podIdentityAddons } from '../../lib/monitoring/tasks.ts'
import { stopSim, eventually, startSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let logs: CloudWatchLogsClient
let metrics: CloudWatchClient
const CLUSTER = 'watched'

function eksctl(args: string[]) {
  const r = spawnSync('eksctl', args, { env: sim.env, encoding: 'utf8' })
  assert.equal(r.status, 0, `eksctl ${args.join(' ')}: ${r.stderr}`)
  return r
}
const tick = () => assert.equal(sim.cli('cloudwatch', 'tick', CLUSTER).code, 0)
/** The add-ons as 06 installs them: the agents' role through Pod Identity (the node roles here cannot write to CloudWatch). */
const addons = podIdentityAddons
async function streams(group: string): Promise<string[]> {
  try {
    return ((await logs.send(new DescribeLogStreamsCommand({ logGroupName: group }))).logStreams ?? []).map((s) => s.logStreamName!)
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return []
    throw e
  }
}

before(async () => {
  sim = startSim(['--pod-start-ms', '50', '--cloudwatch-interval-ms', '0'])
  const cfg = awsConfig(sim.env, 'ap-northeast-1')
  logs = new CloudWatchLogsClient(cfg)
  metrics = new CloudWatchClient(cfg)
  const ec2 = new EC2Client(cfg)
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.5.0.0/16' }))).Vpc!.VpcId!
  const priv: Record<string, { id: string }> = {}
  for (const [i, az] of ['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d'].entries())
    priv[az] = {
      id: (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.5.${i * 16}.0/20`, AvailabilityZone: az }))).Subnet!
        .SubnetId!,
    }
  ec2.destroy()
  const file = path.join(sim.dir, 'cluster.yaml')
  fs.writeFileSync(
    file,
    YAML.stringify({
      apiVersion: 'eksctl.io/v1alpha5',
      kind: 'ClusterConfig',
      metadata: { name: CLUSTER, region: 'ap-northeast-1' },
      vpc: { subnets: { private: priv } },
      cloudWatch: { clusterLogging: { enableTypes: ['api', 'audit'] } },
      managedNodeGroups: [
        {
          name: 'scalardlpool',
          desiredCapacity: 2,
          minSize: 2,
          maxSize: 4,
          privateNetworking: true,
          labels: { agentpool: 'scalardlpool' },
        },
        { name: 'system', desiredCapacity: 1, minSize: 1, maxSize: 2, privateNetworking: true },
      ],
    }),
  )
  eksctl(['create', 'cluster', '-f', file])
  assert.equal(
    (await sim.kubectl(['taint', 'nodes', '-l', 'agentpool=scalardlpool', 'kubernetes.io/app=scalardlpool:NoSchedule', '--overwrite']))
      .code,
    0,
  )
  const ledger = `apiVersion: apps/v1
kind: Deployment
metadata: {name: ledger}
spec:
  replicas: 2
  selector: {matchLabels: {app: ledger}}
  template:
    metadata: {labels: {app: ledger}}
    spec:
      nodeSelector: {agentpool: scalardlpool}
      tolerations: [{key: kubernetes.io/app, operator: Equal, value: scalardlpool, effect: NoSchedule}]
      containers: [{name: scalardl-ledger, image: "public.ecr.aws/docker/library/busybox:1.36"}] # no start-up checks: this is about logs
`
  assert.equal((await sim.kubectl(['apply', '-f', '-'], { input: ledger })).code, 0)
  assert.equal((await sim.kubectl(['rollout', 'status', 'deployment/ledger', '--timeout=20s'])).code, 0)
})
after(() => {
  stopSim(sim)
  logs.destroy()
  metrics.destroy()
})

describe('simulated CloudWatch data', () => {
  test('a Fluent Bit that does not tolerate the Scalar DL taint ships no logs from the pool nodes; one that does, ships them', async () => {
    const values = JSON.stringify({ containerLogs: { fluentBit: { tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }] } } })
    const file = path.join(sim.dir, 'addon.yaml')
    fs.writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'eksctl.io/v1alpha5',
        kind: 'ClusterConfig',
        metadata: { name: CLUSTER, region: 'ap-northeast-1' },
        addons: addons(values),
      }),
    )
    eksctl(['create', 'addon', '-f', file])
    const fluentReady = async (n: number) =>
      eventually(
        async () =>
          JSON.parse((await sim.kubectl(['get', 'ds', 'fluent-bit', '-n', 'amazon-cloudwatch', '-o', 'json'])).stdout).status
            .numberReady === n && true,
        `fluent-bit ready on ${n} node(s)`,
      )
    await fluentReady(1)
    tick()
    const group = `/aws/containerinsights/${CLUSTER}/application`
    let names = await streams(group)
    assert.ok(
      names.some((s) => s.includes('_kube-system_')),
      'pods on the untainted node have log streams',
    )
    assert.ok(!names.some((s) => s.includes('ledger-')), `no ledger logs from tainted nodes: ${names.join(', ')}`)

    fs.writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'eksctl.io/v1alpha5',
        kind: 'ClusterConfig',
        metadata: { name: CLUSTER, region: 'ap-northeast-1' },
        addons: addons('{}'),
      }),
    )
    eksctl(['update', 'addon', '-f', file])
    await fluentReady(3)
    tick()
    names = await streams(group)
    assert.equal(names.filter((s) => /ledger-\w+-\w+_default_scalardl-ledger-/.test(s)).length, 2, names.join('\n'))
  })

  test('the CloudWatch agent publishes ContainerInsights metrics with the ClusterName dimension', async () => {
    tick()
    const list =
      (
        await metrics.send(
          new ListMetricsCommand({ Namespace: 'ContainerInsights', Dimensions: [{ Name: 'ClusterName', Value: CLUSTER }] }),
        )
      ).Metrics ?? []
    const names = new Set(list.map((m) => m.MetricName))
    for (const m of ['cluster_node_count', 'node_cpu_utilization', 'pod_cpu_utilization']) assert.ok(names.has(m), m)
  })

  test('enabled control-plane log types produce /aws/eks/<cluster>/cluster streams', async () => {
    tick()
    const names = await streams(`/aws/eks/${CLUSTER}/cluster`)
    assert.ok(names.some((s) => s.startsWith('kube-apiserver-') && !s.startsWith('kube-apiserver-audit-')))
    assert.ok(names.some((s) => s.startsWith('kube-apiserver-audit-')))
    assert.ok(!names.some((s) => s.startsWith('kube-scheduler-')), 'scheduler logs are not enabled')
  })

  test('Scalar DL tables get AWS/DynamoDB metrics', async () => {
    const ddb = new DynamoDBClient(awsConfig(sim.env, 'ap-northeast-1'))
    await ddb.send(
      new CreateTableCommand({
        TableName: 'scalar.asset',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    )
    ddb.destroy()
    tick()
    const list =
      (
        await metrics.send(
          new ListMetricsCommand({ Namespace: 'AWS/DynamoDB', Dimensions: [{ Name: 'TableName', Value: 'scalar.asset' }] }),
        )
      ).Metrics ?? []
    assert.ok(list.some((m) => m.MetricName === 'ConsumedReadCapacityUnits'))
  })
})
