// The operator policy (npm run iam-policy): IAM's action matching, the configuration's names in
// the resources, and the policy for any name without a configuration. That it allows every action
// a whole rehearsal needs is checked by test/e2e/rehearse.test.ts.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, test } from 'node:test'
import { actionMatches, operatorPolicy, uncovered } from '../../lib/iam/operator-policy.ts'
import { baseEnv, scriptArgs, tempDir } from '../helpers/run-step.ts'

const print = (env: Record<string, string>, args: string[] = []) =>
  spawnSync(process.execPath, [...scriptArgs('runbooks/iam-policy.ts'), ...args], {
    env: baseEnv({ RUNBOOK_STATE_DIR: tempDir(), ...env }),
    cwd: tempDir(),
    encoding: 'utf8',
  })

describe('operator IAM policy', () => {
  test('actions match as IAM matches them: wildcards, whole names, any case', () => {
    assert.ok(actionMatches('ec2:*', 'ec2:CreateVpc'))
    assert.ok(actionMatches('iam:GetRole', 'IAM:getrole'))
    assert.ok(!actionMatches('iam:GetRole', 'iam:GetRolePolicy'))
    assert.ok(actionMatches('ssm:Get*', 'ssm:GetParameter'))
    const policy = operatorPolicy({ clusters: ['c'], tablePrefix: '' })
    assert.deepEqual(uncovered(policy, ['eks:CreateCluster', 'dynamodb:Scan', 's3:PutBucketPolicy', 'iam:CreateUser']), [
      's3:PutBucketPolicy',
      'iam:CreateUser',
    ])
  })

  test("npm run iam-policy: the configuration's clusters, table prefix and account in the resources", () => {
    const r = print({ AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'prod', AUDITOR_ENABLED: 'true', DYNAMODB_NAMESPACE_PREFIX: 'p_' }, [
      '--account',
      '111122223333',
    ])
    const policy = JSON.parse(r.stdout)
    const sid = (s: string) => policy.Statement.find((x: { Sid: string }) => x.Sid === s)
    assert.deepEqual(sid('RunbookBastionRole').Resource, [
      'arn:aws:iam::111122223333:role/prod-bastion',
      'arn:aws:iam::111122223333:instance-profile/prod-bastion',
      'arn:aws:iam::111122223333:role/prod-auditor-bastion',
      'arn:aws:iam::111122223333:instance-profile/prod-auditor-bastion',
    ])
    assert.deepEqual(sid('RunbookScalarDlTablesRead').Resource, [
      'arn:aws:dynamodb:*:111122223333:table/p_*',
      'arn:aws:dynamodb:*:111122223333:table/p_*/backup/*',
    ])
    // Changes and deletions only on the tables tagged as the deployment's; tagging only with its tag.
    assert.deepEqual(sid('RunbookScalarDlTablesWrite').Condition, {
      StringEquals: { 'aws:ResourceTag/scalardl-runbook/cluster': ['prod', 'prod-auditor'] },
    })
    assert.deepEqual(sid('RunbookScalarDlTablesClaim').Condition.StringEquals, {
      'aws:RequestTag/scalardl-runbook/cluster': ['prod', 'prod-auditor'],
    })
    // Parameters: AWS's public ones and the deployment's own, no other.
    assert.equal(sid('EksctlPublicParameters').Resource, 'arn:aws:ssm:*::parameter/aws/*')
    assert.ok(!sid('EksctlEks').Action.some((a: string) => a.startsWith('ssm:')))
    // The bastion's role cannot edit itself.
    assert.equal(sid('RunbookBastionNoSelfEdit').Effect, 'Deny')
    assert.ok(sid('RunbookBastionNoSelfEdit').Action.includes('iam:PutRolePolicy'))
    assert.equal(sid('RunbookLockTable').Resource, 'arn:aws:dynamodb:*:111122223333:table/scalardl-runbook-locks')
    // 99 --delete-lock-table: whose locks are in it, then the table; that table only.
    assert.ok(['dynamodb:Scan', 'dynamodb:DeleteTable'].every((a) => sid('RunbookLockTable').Action.includes(a)))
    // 99 --delete-data: the tables' auto scaling, exactly what it calls; alarms deleted only by the tables' names.
    assert.deepEqual(sid('RunbookTablesAutoScaling').Action, [
      'application-autoscaling:DescribeScalableTargets',
      'application-autoscaling:DeregisterScalableTarget',
      'cloudwatch:DescribeAlarms',
    ])
    assert.deepEqual(sid('RunbookTablesAutoScalingAlarms').Action, ['cloudwatch:DeleteAlarms'])
    assert.equal(sid('RunbookTablesAutoScalingAlarms').Resource, 'arn:aws:cloudwatch:*:111122223333:alarm:TargetTracking-table/p_*')
  })

  test("--database: the database credentials get ScalarDB's DynamoDB calls on Scalar DL's namespaces only", () => {
    const r = print({ AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'prod', DYNAMODB_NAMESPACE_PREFIX: 'p_' }, ['--database'])
    const policy = JSON.parse(r.stdout)
    const tables = policy.Statement.find((x: { Sid: string }) => x.Sid === 'ScalarDbTables')
    assert.ok(tables.Action.includes('dynamodb:CreateTable') && tables.Action.includes('dynamodb:Query'))
    assert.ok(!tables.Action.includes('dynamodb:DeleteTable'), 'the credentials cannot delete tables')
    assert.ok(tables.Resource.includes('arn:aws:dynamodb:*:*:table/p_scalar.*'))
    assert.ok(tables.Resource.every((t: string) => /table\/p_(scalar|coordinator|scalardb|auditor)\.\*/.test(t)))
  })

  test('--explain: every statement with why it is there and which steps need it', () => {
    const r = print({ AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'prod' }, ['--explain'])
    assert.equal(r.status, 0, r.stderr)
    const policy = JSON.parse(print({ AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'prod' }).stdout)
    for (const st of policy.Statement) {
      assert.match(r.stdout, new RegExp(`^${st.Sid} \\(${st.Effect}; steps: [^?]`, 'm'), st.Sid)
      assert.ok(!r.stdout.includes('not explained'), 'every statement explained')
    }
  })

  test('without a valid configuration: the policy for any cluster, and why on stderr; a bad --account exits 2', () => {
    const r = print({})
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, /configuration has \d+ problems? .*: printing the policy for any cluster name/)
    assert.deepEqual(JSON.parse(r.stdout).Statement.find((x: { Sid: string }) => x.Sid === 'RunbookBastionRole').Resource, [
      'arn:aws:iam::*:role/*-bastion',
      'arn:aws:iam::*:instance-profile/*-bastion',
    ])
    assert.equal(print({}, ['--account', 'abc']).status, 2)
  })
})
