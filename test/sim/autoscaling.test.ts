// The auto scaling of the schema loader's tables: what the simulated loader registers against
// ScalarDB's DynamoAdmin (scalar-labs/scalardb v3.17.2 core/src/main/java/com/scalar/db/storage/
// dynamo/DynamoAdmin.java:97-115, 271-274, 534-611), and DeregisterScalableTarget through the AWS
// layer deleting the target's policies and their alarms, as the Application Auto Scaling API
// reference says and moto alone does not.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from '@aws-sdk/client-application-auto-scaling'
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch'
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { startAwsLayer } from '../../sim/aws-layer.ts'
import { runSchemaLoader } from '../../sim/kube/images.ts'
import { Store } from '../../sim/kube/store.ts'
import { startMoto, type Moto } from '../../sim/moto.ts'
import { TEST_CREDENTIALS } from '../helpers/aws.ts'

let moto: Moto
let layer: Awaited<ReturnType<typeof startAwsLayer>>
const region = 'ap-northeast-1'
const client = <T>(C: new (c: object) => T, endpoint: string) => new C({ region, endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1 })

before(async () => {
  moto = await startMoto()
  layer = await startAwsLayer(moto.url)
  process.env.AWS_ENDPOINT_URL = moto.url
})
after(async () => {
  await layer.stop()
  await moto.stop()
})

const loaderPod = (schemaType: string, args: string[]) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `load-${schemaType}`, namespace: 'default' },
  spec: {
    containers: [
      {
        name: 'schema-loader',
        image: 'ghcr.io/scalar-labs/scalardl-schema-loader:3.13.0',
        env: [{ name: 'SCHEMA_TYPE', value: schemaType }],
        args: ['--dynamo', '--region', region, '-u', 'AKIASIMTEST000000000', '-p', 'sim-test-secret', ...args],
      },
    ],
  },
})

const targets = async (aas: ApplicationAutoScalingClient) =>
  (await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb' }))).ScalableTargets ?? []
const policies = async (aas: ApplicationAutoScalingClient) =>
  (await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'dynamodb' }))).ScalingPolicies ?? []
const alarms = async (cw: CloudWatchClient) =>
  ((await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'TargetTracking-table/' }))).MetricAlarms ?? []).map((a) => a.AlarmName!)

describe("the schema loader's auto scaling", () => {
  test('each table but the metadata table gets a read and a write target (min ru/10, max ru) with a target-tracking policy at 70 %; --no-scaling gets none', async () => {
    const aas = client(ApplicationAutoScalingClient, moto.url)
    const cw = client(CloudWatchClient, moto.url)
    const ddb = client(DynamoDBClient, moto.url)
    const ledger = await runSchemaLoader(loaderPod('ledger', ['--ru', '50']) as never, new Store())
    assert.ok(ledger.ok, ledger.message)
    const tables = ((await ddb.send(new ListTablesCommand({}))).TableNames ?? []).sort()
    const scaled = tables.filter((t) => t !== 'scalardb.metadata')
    assert.ok(scaled.includes('scalar.asset') && scaled.includes('coordinator.state'), tables.join(', '))
    // DynamoAdmin.java:565-574: one target per capacity, min ru/10 (ru > 10), max ru.
    const got = (await targets(aas)).map((t) => `${t.ResourceId} ${t.ScalableDimension} ${t.MinCapacity}-${t.MaxCapacity}`).sort()
    assert.deepEqual(
      got,
      scaled
        .flatMap((t) => [`table/${t} dynamodb:table:ReadCapacityUnits 5-50`, `table/${t} dynamodb:table:WriteCapacityUnits 5-50`])
        .sort(),
    )
    // DynamoAdmin.java:576-611: policy <resource id>-read|write, target tracking at 70 %, cooldowns 60 s.
    const ps = await policies(aas)
    assert.deepEqual(ps.map((p) => p.PolicyName).sort(), scaled.flatMap((t) => [`table/${t}-read`, `table/${t}-write`]).sort())
    const asset = ps.find((p) => p.PolicyName === 'table/scalar.asset-write')!
    assert.equal(asset.PolicyType, 'TargetTrackingScaling')
    assert.deepEqual(asset.TargetTrackingScalingPolicyConfiguration, {
      PredefinedMetricSpecification: { PredefinedMetricType: 'DynamoDBWriteCapacityUtilization' },
      ScaleInCooldown: 60,
      ScaleOutCooldown: 60,
      TargetValue: 70,
    })
    // Target tracking's alarms, in CloudWatch.
    const names = await alarms(cw)
    for (const t of scaled)
      assert.ok(
        names.some((n) => n.startsWith(`TargetTracking-table/${t}-AlarmHigh-`)),
        `an AlarmHigh of ${t}`,
      )
    assert.ok(!names.some((n) => n.includes('scalardb.metadata')), 'none for the metadata table')
    // --no-scaling: the Auditor's tables are made, with nothing registered for them.
    const before = got.length
    const auditor = await runSchemaLoader(loaderPod('auditor', ['--no-scaling']) as never, new Store())
    assert.ok(auditor.ok, auditor.message)
    assert.ok(((await ddb.send(new ListTablesCommand({}))).TableNames ?? []).includes('auditor.asset'))
    assert.equal((await targets(aas)).length, before)
    assert.ok(!(await alarms(cw)).some((n) => n.includes('auditor.')))
    for (const c of [aas, cw, ddb]) c.destroy()
  })

  test("DeregisterScalableTarget through the layer deletes the target's policy and its alarms (API reference); moto alone leaves them; an unknown target is ObjectNotFoundException", async () => {
    const viaLayer = client(ApplicationAutoScalingClient, layer.url)
    const direct = client(ApplicationAutoScalingClient, moto.url)
    const cw = client(CloudWatchClient, moto.url)
    const target = (t: string) => ({
      ServiceNamespace: 'dynamodb' as const,
      ResourceId: `table/${t}`,
      ScalableDimension: 'dynamodb:table:ReadCapacityUnits' as const,
    })
    const policyOf = async (t: string) =>
      (await policies(direct)).filter((p) => p.ResourceId === `table/${t}` && p.PolicyName!.endsWith('-read'))
    const alarmsOf = async (t: string) => (await alarms(cw)).filter((n) => n.startsWith(`TargetTracking-table/${t}-`))
    assert.equal((await policyOf('scalar.contract')).length, 1)
    assert.ok((await alarmsOf('scalar.contract')).length > 0)
    // moto alone: the target goes, its policy and alarms stay.
    await direct.send(new DeregisterScalableTargetCommand(target('scalar.contract')))
    assert.equal((await policyOf('scalar.contract')).length, 1, 'moto keeps the policy')
    // Through the layer: the policy goes, and its alarms with it.
    await viaLayer.send(new DeregisterScalableTargetCommand(target('scalar.function')))
    assert.ok(
      !(await targets(direct)).some(
        (t) => t.ResourceId === 'table/scalar.function' && t.ScalableDimension === target('x').ScalableDimension,
      ),
    )
    assert.deepEqual(await policyOf('scalar.function'), [])
    const left = await alarmsOf('scalar.function')
    assert.ok(left.length > 0, 'the write policy keeps its alarms')
    const remaining = (await policies(direct)).filter((p) => p.ResourceId === 'table/scalar.function').map((p) => p.PolicyName)
    assert.deepEqual(remaining, ['table/scalar.function-write'])
    // Both gone: no alarm of the table is left.
    await viaLayer.send(
      new DeregisterScalableTargetCommand({ ...target('scalar.function'), ScalableDimension: 'dynamodb:table:WriteCapacityUnits' }),
    )
    assert.deepEqual(await alarmsOf('scalar.function'), [])
    const refusal = (c: ApplicationAutoScalingClient) =>
      c.send(new DeregisterScalableTargetCommand(target('no.such'))).then(
        () => 'accepted',
        (e: Error) => e.name,
      )
    assert.equal(await refusal(viaLayer), 'ObjectNotFoundException')
    assert.equal(await refusal(direct), 'ValidationException')
    for (const c of [viaLayer, direct, cw]) c.destroy()
  })
})
