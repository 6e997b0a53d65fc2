// IAM as the simulator's AWS layer enforces it: the evaluation logic on its own (IAM user guide,
// "Policy evaluation logic"), then a role's session refused and allowed through the layer in front
// of moto, which alone would allow everything.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CloudWatchClient, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch'
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { CreatePolicyCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { boundaryArn, boundaryPolicy } from '../../lib/iam/boundary.ts'
import { operatorPolicy, uncovered } from '../../lib/iam/operator-policy.ts'
import { FaultProxy } from '../../sim/faults.ts'
import { evaluate, RESOURCE_TAGS_KNOWN, wildcard, type PolicyDocument } from '../../sim/iam-eval.ts'
import { IamEnforcement, s3Action } from '../../sim/iam-enforce.ts'
import { startMoto, type Moto } from '../../sim/moto.ts'
import { motoCaller } from '../../sim/own-aws.ts'
import { TEST_CREDENTIALS } from '../helpers/aws.ts'

const req = (action: string, resource = '?', context: Record<string, string> = {}) => ({ action, resource, context })

describe('IAM policy evaluation (IAM user guide, reference_policies_evaluation-logic)', () => {
  test('wildcards: actions case-insensitive, resources as written', () => {
    assert.ok(wildcard('ec2:Describe*', 'ec2:describevpcs', true))
    assert.ok(wildcard('arn:aws:iam::*:role/*-bastion', 'arn:aws:iam::123456789012:role/ledger-bastion'))
    assert.equal(wildcard('arn:aws:iam::*:role/*-bastion', 'arn:aws:iam::123456789012:role/ledger-Bastion-x'), false)
    assert.ok(wildcard('s3:Get?bject', 's3:GetObject'))
  })

  test('no statement: implicit deny; an explicit deny beats any allow; NotAction and NotResource', () => {
    const allowAll = { Statement: [{ Effect: 'Allow' as const, Action: '*', Resource: '*' }] }
    const denyIam = { Statement: [{ Effect: 'Deny' as const, Action: 'iam:*', Resource: '*' }] }
    assert.equal(evaluate([], undefined, req('ec2:DescribeVpcs')), 'implicit-deny')
    assert.equal(evaluate([allowAll], undefined, req('ec2:DescribeVpcs')), 'allow')
    assert.equal(evaluate([allowAll, denyIam], undefined, req('iam:CreateRole')), 'explicit-deny')
    const notIam = { Statement: [{ Effect: 'Allow' as const, NotAction: 'iam:*', Resource: '*' }] }
    assert.equal(evaluate([notIam], undefined, req('iam:CreateRole')), 'implicit-deny')
    assert.equal(evaluate([notIam], undefined, req('eks:DescribeCluster')), 'allow')
    const scoped = { Statement: [{ Effect: 'Allow' as const, Action: 'dynamodb:*', Resource: 'arn:aws:dynamodb:*:*:table/app_*' }] }
    assert.equal(evaluate([scoped], undefined, req('dynamodb:DeleteTable', 'arn:aws:dynamodb:r:1:table/app_x')), 'allow')
    assert.equal(evaluate([scoped], undefined, req('dynamodb:DeleteTable', 'arn:aws:dynamodb:r:1:table/other')), 'implicit-deny')
    assert.equal(
      evaluate([scoped], undefined, req('dynamodb:ListTables', '*')),
      'implicit-deny',
      'an action without a resource needs Resource "*"',
    )
  })

  test('a permissions boundary caps what the identity policies allow; conditions on the request', () => {
    const allowAll = { Statement: [{ Effect: 'Allow' as const, Action: '*', Resource: '*' }] }
    const boundary = { Statement: [{ Effect: 'Allow' as const, Action: ['ec2:*', 'eks:*'], Resource: '*' }] }
    assert.equal(evaluate([allowAll], boundary, req('eks:CreateCluster')), 'allow')
    assert.equal(evaluate([allowAll], boundary, req('iam:CreateRole')), 'implicit-deny')
    const withBoundary = {
      Statement: [
        {
          Effect: 'Allow' as const,
          Action: 'iam:CreateRole',
          Resource: '*',
          Condition: { StringEquals: { 'iam:PermissionsBoundary': 'arn:aws:iam::1:policy/b' } },
        },
      ],
    }
    assert.equal(evaluate([withBoundary], undefined, req('iam:CreateRole')), 'implicit-deny', 'no boundary in the request')
    assert.equal(
      evaluate([withBoundary], undefined, req('iam:CreateRole', '?', { 'iam:permissionsboundary': 'arn:aws:iam::1:policy/b' })),
      'allow',
    )
  })

  test('tag conditions: a resource tag is judged when the layer read the tags, not guessed when it did not; ForAllValues on the request tags', () => {
    const write: PolicyDocument = {
      Statement: [
        {
          Effect: 'Allow' as const,
          Action: 'dynamodb:DeleteTable',
          Resource: '*',
          Condition: { StringEquals: { 'aws:ResourceTag/owner': 'me' } },
        },
        {
          Effect: 'Allow' as const,
          Action: 'dynamodb:TagResource',
          Resource: '*',
          Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['owner'] }, StringEquals: { 'aws:RequestTag/owner': 'me' } },
        },
      ],
    }
    const known = { [RESOURCE_TAGS_KNOWN]: 'true' }
    assert.equal(evaluate([write], undefined, req('dynamodb:DeleteTable', '?', { ...known, 'aws:resourcetag/owner': 'me' })), 'allow')
    assert.equal(
      evaluate([write], undefined, req('dynamodb:DeleteTable', '?', { ...known, 'aws:resourcetag/owner': 'you' })),
      'implicit-deny',
    )
    assert.equal(evaluate([write], undefined, req('dynamodb:DeleteTable', '?', known)), 'implicit-deny', 'an untagged table')
    assert.equal(evaluate([write], undefined, req('dynamodb:DeleteTable')), 'allow', 'tags not read: not judged')
    const tag = (keys: string[], owner: string) =>
      evaluate([write], undefined, {
        action: 'dynamodb:TagResource',
        resource: '?',
        context: { 'aws:tagkeys': keys, 'aws:requesttag/owner': owner },
      })
    assert.equal(tag(['owner'], 'me'), 'allow')
    assert.equal(tag(['owner', 'other'], 'me'), 'implicit-deny')
    assert.equal(tag(['owner'], 'you'), 'implicit-deny')
  })

  test("S3's REST operations by method, path and subresource", () => {
    assert.deepEqual(s3Action('PUT', '/b/k/x.tgz'), { action: 's3:PutObject', bucket: 'b', key: 'k/x.tgz' })
    assert.equal(s3Action('PUT', '/b?tagging').action, 's3:PutBucketTagging')
    assert.equal(s3Action('PUT', '/b').action, 's3:CreateBucket')
    assert.equal(s3Action('GET', '/b?list-type=2').action, 's3:ListBucket')
  })
})

describe("the runbook's policies under IAM's evaluation: the operator's bounds and the permissions boundary", () => {
  const account = '123456789012'
  const operator = operatorPolicy({ account, clusters: ['ledger'], tablePrefix: '' }) as PolicyDocument
  const boundary = boundaryPolicy(account) as PolicyDocument
  const ours = boundaryArn(account)
  const role = (name: string) => `arn:aws:iam::${account}:role/${name}`
  const asBastion = { 'aws:principalarn': role('ledger-bastion') }

  test('a role is created, or given more, only with the boundary on it', () => {
    const eksctlRole = role('eksctl-ledger-nodegroup-pool-NodeInstanceRole-X')
    for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:PutRolePermissionsBoundary']) {
      assert.equal(evaluate([operator], undefined, req(action, eksctlRole)), 'implicit-deny', `${action} without a boundary`)
      assert.equal(
        evaluate([operator], undefined, req(action, eksctlRole, { 'iam:permissionsboundary': `arn:aws:iam::${account}:policy/Admin` })),
        'implicit-deny',
        `${action} with another boundary`,
      )
      assert.equal(evaluate([operator], undefined, req(action, eksctlRole, { 'iam:permissionsboundary': ours })), 'allow', action)
    }
    // Removing is not granting: a role without the boundary (made before it existed) can still be torn down.
    assert.equal(evaluate([operator], undefined, req('iam:DetachRolePolicy', eksctlRole)), 'allow')
    // No other role, with or without the boundary.
    assert.equal(
      evaluate([operator], undefined, req('iam:CreateRole', role('admin'), { 'iam:permissionsboundary': ours })),
      'implicit-deny',
    )
  })

  test('nobody holding the operator policy changes or removes the boundary, and the bastion cannot edit its own role', () => {
    assert.equal(evaluate([operator], undefined, req('iam:CreatePolicy', ours)), 'allow', '01 makes it')
    for (const action of ['iam:CreatePolicyVersion', 'iam:SetDefaultPolicyVersion', 'iam:DeletePolicyVersion', 'iam:DeletePolicy'])
      assert.equal(evaluate([operator], undefined, req(action, ours)), 'explicit-deny', action)
    assert.equal(evaluate([operator], undefined, req('iam:DeleteRolePermissionsBoundary', role('eksctl-x'))), 'explicit-deny')
    // The bastion's role, holding the operator policy and the boundary, on itself.
    const self = { ...asBastion, 'iam:permissionsboundary': ours }
    for (const action of ['iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRole', 'iam:UpdateAssumeRolePolicy'])
      assert.equal(evaluate([operator], boundary, req(action, role('ledger-bastion'), self)), 'explicit-deny', action)
    // The same role may still give an eksctl role its policies (with the boundary): what 03 does on the bastion.
    assert.equal(evaluate([operator], boundary, req('iam:AttachRolePolicy', role('eksctl-ledger-x'), self)), 'allow')
  })

  test("the boundary caps what a role's policies allow: AmazonSSMManagedInstanceCore's parameters on * are cut to the runbook's", () => {
    const ssmCore: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Core', Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:UpdateInstanceInformation'], Resource: '*' },
      ],
    }
    const param = (p: string) => `arn:aws:ssm:ap-northeast-1:${p.startsWith('aws/') ? '' : account}:parameter/${p}`
    assert.equal(evaluate([ssmCore], undefined, req('ssm:GetParameter', param('prod/db-password'))), 'allow', 'without the boundary')
    assert.equal(evaluate([ssmCore], boundary, req('ssm:GetParameter', param('prod/db-password'))), 'implicit-deny')
    assert.equal(evaluate([ssmCore], boundary, req('ssm:GetParameter', param('scalardl-runbook/ledger/x'))), 'allow')
    assert.equal(evaluate([ssmCore], boundary, req('ssm:GetParameter', param('aws/service/eks/x'))), 'allow')
    assert.equal(evaluate([ssmCore], boundary, req('ssm:UpdateInstanceInformation', '*')), 'allow')
  })

  test("the boundary leaves the operator policy whole: every action it allows, the boundary allows (the bastion's role holds both)", () => {
    const allowed = operatorPolicy({ account, clusters: ['ledger'], tablePrefix: '' })
      .Statement.filter((s) => s.Effect === 'Allow')
      .flatMap((s) => s.Action)
    assert.deepEqual(uncovered(boundaryPolicy(account), allowed), [])
  })
})

describe('IAM enforced in the AWS layer', () => {
  let moto: Moto
  let proxy: FaultProxy
  const region = 'ap-northeast-1'
  before(async () => {
    moto = await startMoto()
    proxy = new FaultProxy({ target: moto.url, rate: 0, pendingMs: 0, latencyMs: 0 })
    proxy.hooks.unshift(new IamEnforcement(moto.url, motoCaller(moto.url), 0).hooks())
    await proxy.listen()
  })
  after(async () => {
    await proxy.close()
    await moto.stop()
  })

  test('a gzip body (the SDK gzips a CloudWatch PutMetricData over 10 KB) reaches moto, which would fail on it alone', async () => {
    const data = Array.from({ length: 120 }, (_, i) => ({
      MetricName: 'node_cpu_utilization',
      Dimensions: [
        { Name: 'ClusterName', Value: 'big' },
        { Name: 'NodeName', Value: `ip-10-1-11-${i}.ap-northeast-1.compute.internal` },
      ],
      Value: 1,
    }))
    const through = new CloudWatchClient({ region, endpoint: proxy.url, credentials: TEST_CREDENTIALS, maxAttempts: 1 })
    await through.send(new PutMetricDataCommand({ Namespace: 'Big', MetricData: data }))
    assert.equal((await through.send(new ListMetricsCommand({ Namespace: 'Big' }))).Metrics?.length, 120)
    const direct = new CloudWatchClient({ region, endpoint: moto.url, credentials: TEST_CREDENTIALS, maxAttempts: 1 })
    await assert.rejects(
      direct.send(new PutMetricDataCommand({ Namespace: 'Big', MetricData: data })),
      "moto 5.2.1 alone refuses it (if this passes, moto was fixed: drop the proxy's gunzip)",
    )
  })

  test("a role's session gets what its policies allow and AccessDenied in each service's form otherwise; the administrator's key is not judged", async () => {
    const admin = { region, endpoint: proxy.url, credentials: TEST_CREDENTIALS, maxAttempts: 1 }
    const iam = new IAMClient(admin)
    const role = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: 'reader',
          Path: '/ops/',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' }],
          }),
        }),
      )
    ).Role!
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'reader',
        PolicyName: 'read',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['ec2:Describe*'], Resource: '*' },
            { Effect: 'Allow', Action: ['dynamodb:CreateTable'], Resource: 'arn:aws:dynamodb:*:*:table/app_*' },
          ],
        }),
      }),
    )
    const c = (await new STSClient(admin).send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: 's' }))).Credentials!
    const as = {
      region,
      endpoint: proxy.url,
      maxAttempts: 1,
      credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken },
    }
    const name = async (p: Promise<unknown>) =>
      p.then(
        () => 'allowed',
        (e: Error) => e.name,
      )
    assert.equal(await name(new EC2Client(as).send(new DescribeVpcsCommand({}))), 'allowed')
    const key = {
      AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' as const }],
      KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' as const }],
      BillingMode: 'PAY_PER_REQUEST' as const,
    }
    const ddb = new DynamoDBClient(as)
    assert.equal(await name(ddb.send(new CreateTableCommand({ TableName: 'app_one', ...key }))), 'allowed')
    assert.equal(await name(ddb.send(new CreateTableCommand({ TableName: 'other', ...key }))), 'AccessDeniedException')
    assert.equal(await name(ddb.send(new ListTablesCommand({}))), 'AccessDeniedException')
    const denied = await new IAMClient(as).send(new CreatePolicyCommand({ PolicyName: 'x', PolicyDocument: '{}' })).catch((e: Error) => e)
    assert.equal((denied as Error).name, 'AccessDenied')
    assert.match(
      (denied as Error).message,
      /User: arn:aws:sts::123456789012:assumed-role\/reader\/s is not authorized to perform: iam:CreatePolicy/,
    )
    // The same calls straight to moto: allowed (moto checks nothing), and the admin key through the layer too.
    assert.equal(await name(new DynamoDBClient({ ...as, endpoint: moto.url }).send(new ListTablesCommand({}))), 'allowed')
    assert.equal(await name(new DynamoDBClient(admin).send(new ListTablesCommand({}))), 'allowed')
  })
})
