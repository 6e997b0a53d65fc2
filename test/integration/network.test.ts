// 01-vpc and 02-database end to end against the simulator (moto behind its AWS layer, which runs
// the bastion's user data and SSM commands on a simulated host): exact resources, idempotent
// reruns with zero mutating calls, dry-run that creates nothing, drift repaired.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  DeleteTagsCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import { GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm'
import { renderBootstrap, type Bootstrap } from '../../lib/bastion/bootstrap.ts'
import { operatorPolicy } from '../../lib/iam/operator-policy.ts'
import { ec2For, expectedInventory, inventory } from '../helpers/inventory.ts'
import { baseEnv, runStep, tempDir } from '../helpers/run-step.ts'
import { awsConfig } from '../helpers/aws.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'

let sim: Sim
before(() => {
  sim = startSim(['--cloudwatch-interval-ms', '0'])
})
after(() => {
  if (sim) stopSim(sim)
})

function envFor(cluster: string, extra: Record<string, string> = {}) {
  return baseEnv({ ...sim.env, CLUSTER_NAME: cluster, RUNBOOK_STATE_DIR: tempDir('rb-state-'), ...extra })
}

function lastJournal(env: NodeJS.ProcessEnv): any {
  const lines = fs.readFileSync(path.join(env.RUNBOOK_STATE_DIR!, 'journal.jsonl'), 'utf8').trim().split('\n')
  return JSON.parse(lines.at(-1)!)
}

describe('01-vpc and 02-database against moto', () => {
  test("a fresh run creates exactly the guide's resources; a rerun changes nothing and makes no mutating call", async () => {
    const env = envFor('fresh')
    const vpc = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    assert.equal(vpc.code, 0, vpc.stderr)
    assert.equal(vpc.json.status, 'changed')
    const db = await runStep('runbooks/02-database.ts', ['--json'], env)
    assert.equal(db.code, 0, db.stderr)
    assert.deepEqual(await inventory(env, 'fresh'), expectedInventory(1))

    // The guide's details, read back from moto.
    const ec2 = ec2For(env)
    const vpcs = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:scalardl-runbook/cluster', Values: ['fresh'] }] }))
    assert.equal(vpcs.Vpcs![0]!.CidrBlock, '10.1.0.0/16')
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:scalardl-runbook/cluster', Values: ['fresh'] }] })))
      .Subnets!
    assert.equal(new Set(subnets.map((s) => s.AvailabilityZone)).size, 3)
    for (const s of subnets) {
      const prefix = Number(s.CidrBlock!.split('/')[1])
      assert.ok(prefix <= 24, `${s.CidrBlock} is smaller than /24`)
      const role = s.Tags!.find((t) => t.Key === 'scalardl-runbook/role')!.Value
      const elb = role === 'public-subnet' ? 'kubernetes.io/role/elb' : 'kubernetes.io/role/internal-elb'
      assert.equal(s.Tags!.find((t) => t.Key === elb)?.Value, '1', `${s.SubnetId} lacks ${elb}`)
      assert.ok(s.Tags!.some((t) => t.Key === 'Name'))
    }
    const inst = (await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:scalardl-runbook/cluster', Values: ['fresh'] }] })))
      .Reservations![0]!.Instances![0]!
    assert.equal(inst.MetadataOptions?.HttpTokens, 'required')
    assert.ok(inst.PublicIpAddress, 'the bastion has a public IP')
    assert.ok(inst.IamInstanceProfile?.Arn?.endsWith('/fresh-bastion'))
    const sgs = (
      await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:scalardl-runbook/cluster', Values: ['fresh'] }] }))
    ).SecurityGroups!
    const bastionSg = sgs.find((g) => g.GroupName === 'fresh-bastion')!
    const cp = sgs.find((g) => g.GroupName === 'fresh-control-plane')!
    assert.deepEqual(bastionSg.IpPermissions, [], 'no SSH without BASTION_SSH_CIDR')
    const https = cp.IpPermissions!.find((p) => p.FromPort === 443)!
    assert.equal(https.UserIdGroupPairs![0]!.GroupId, bastionSg.GroupId)
    ec2.destroy()
    const props = fs.readFileSync(path.join(env.RUNBOOK_STATE_DIR!, 'fresh', 'database.properties'), 'utf8')
    assert.match(props, /^scalar\.db\.storage=dynamo$/m)
    assert.equal(fs.statSync(path.join(env.RUNBOOK_STATE_DIR!, 'fresh', 'database.properties')).mode & 0o777, 0o600)

    for (const step of ['runbooks/01-vpc.ts', 'runbooks/02-database.ts']) {
      const again = await runStep(step, ['--json'], env)
      assert.equal(again.code, 0, again.stderr)
      assert.equal(again.json.status, 'ok')
      assert.equal(again.json.summary.changed, 0)
      assert.match(again.stderr, /RECAP \S+: ok=\d+ changed=0 planned=0 failed=0 skipped=0/)
      const calls = lastJournal(env).awsCalls
      assert.equal(calls.mutating, 0, `a rerun made mutating calls: ${JSON.stringify(calls.operations)}`)
      assert.ok(calls.total > 0)
    }
    assert.deepEqual(await inventory(env, 'fresh'), expectedInventory(1))
    // The secret access key never reaches the output, the journal or the rendered files.
    const journal = fs.readFileSync(path.join(env.RUNBOOK_STATE_DIR!, 'journal.jsonl'), 'utf8')
    for (const text of [vpc.stdout, vpc.stderr, db.stdout, db.stderr, journal, props]) assert.ok(!text.includes(env.AWS_SECRET_ACCESS_KEY!))
  })

  test("the --json result has exactly the contract's shape", async () => {
    const env = envFor('shape')
    const r = await runStep('runbooks/01-vpc.ts', ['--json', '--dry-run'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(Object.keys(r.json).sort(), ['durationMs', 'status', 'step', 'summary', 'tasks'])
    assert.equal(r.json.step, '01-vpc')
    assert.deepEqual(Object.keys(r.json.summary).sort(), ['changed', 'failed', 'ok', 'planned', 'skipped'])
    for (const t of r.json.tasks) assert.deepEqual(Object.keys(t).sort(), ['detail', 'status', 'title'])
    assert.equal(typeof r.json.durationMs, 'number')
    assert.doesNotMatch(r.stdout.trim(), /\n/, 'stdout holds the JSON only')
  })

  test('--dry-run on an empty account plans everything and creates nothing', async () => {
    const env = envFor('dry')
    const vpc = await runStep('runbooks/01-vpc.ts', ['--dry-run', '--json'], env)
    assert.equal(vpc.code, 0, vpc.stderr)
    assert.equal(vpc.json.status, 'planned')
    assert.equal(vpc.json.summary.changed, 0)
    assert.ok(vpc.json.summary.planned >= 10)
    const db = await runStep('runbooks/02-database.ts', ['--dry-run', '--json'], env)
    assert.equal(db.code, 0, db.stderr)
    assert.equal(lastJournal(env).awsCalls.mutating, 0)
    assert.deepEqual(
      Object.values(await inventory(env, 'dry')).reduce((a, b) => a + b, 0),
      0,
    )
    assert.ok(!fs.existsSync(path.join(env.RUNBOOK_STATE_DIR!, 'dry', 'database.properties')), 'dry-run wrote no settings file')
  })

  test('NAT_GATEWAYS=per-az makes one NAT gateway and Elastic IP per AZ, each private subnet routed to its own', async () => {
    const env = envFor('perz', { NAT_GATEWAYS: 'per-az', VPC_CIDR: '10.20.0.0/20', BASTION_ENABLED: 'false' })
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    const db = await runStep('runbooks/02-database.ts', ['--json'], env)
    assert.equal(db.code, 0, db.stderr)
    assert.deepEqual(await inventory(env, 'perz'), expectedInventory(3, false))
    const again = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    assert.equal(again.json.status, 'ok', again.stderr)
  })

  test('zones by zone ID: one EKS refuses and ones without the node instance types are left out, and said so', async () => {
    // moto's us-east-1: us-east-1e is use1-az3 (no EKS control planes there), and trn1.32xlarge is
    // offered only in us-east-1b, 1c and 1f.
    const env = envFor('zones', {
      AWS_REGION: 'us-east-1',
      BASTION_ENABLED: 'false',
      NODE_INSTANCE_TYPE: 'trn1.32xlarge',
      SYSTEM_NODE_INSTANCE_TYPE: 'm5.large',
    })
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    const ec2 = new EC2Client(awsConfig(env, 'us-east-1'))
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:scalardl-runbook/cluster', Values: ['zones'] }] })))
      .Subnets!
    ec2.destroy()
    assert.deepEqual([...new Set(subnets.map((x) => x.AvailabilityZone))].sort(), ['us-east-1b', 'us-east-1c', 'us-east-1f'])
    const azs = r.json.tasks.find((t: any) => /availability zones/.test(t.title))
    assert.match(azs.detail, /us-east-1a \(use1-az6\): trn1\.32xlarge not offered/)
    assert.match(azs.detail, /us-east-1e \(use1-az3\): EKS does not support this zone ID/)
  })

  test('drift is repaired: a lost subnet tag comes back, and only that changes', async () => {
    const env = envFor('drift', { BASTION_ENABLED: 'false' })
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const ec2 = ec2For(env)
    const subnets = (
      await ec2.send(
        new DescribeSubnetsCommand({
          Filters: [
            { Name: 'tag:scalardl-runbook/role', Values: ['public-subnet'] },
            { Name: 'tag:scalardl-runbook/cluster', Values: ['drift'] },
          ],
        }),
      )
    ).Subnets!
    await ec2.send(new DeleteTagsCommand({ Resources: [subnets[0]!.SubnetId!], Tags: [{ Key: 'kubernetes.io/role/elb' }] }))
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    const changed = r.json.tasks.filter((t: any) => t.status === 'changed')
    assert.equal(changed.length, 1)
    assert.match(changed[0].title, /Public subnets/)
    const after = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnets[0]!.SubnetId!] }))).Subnets![0]!
    assert.equal(after.Tags!.find((t) => t.Key === 'kubernetes.io/role/elb')?.Value, '1')
    ec2.destroy()
  })

  test('BASTION_OPERATOR_POLICY=true puts the operator policy on the bastion role; a changed copy is restored; false removes it', async () => {
    const env = envFor('oper', { BASTION_OPERATOR_POLICY: 'true', DYNAMODB_NAMESPACE_PREFIX: 'op_' })
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const iam = new IAMClient(awsConfig(env, 'ap-northeast-1'))
    const inline = async () => {
      try {
        const doc = (await iam.send(new GetRolePolicyCommand({ RoleName: 'oper-bastion', PolicyName: 'scalardl-runbook-operator' })))
          .PolicyDocument!
        return JSON.parse(/^%7B/i.test(doc) ? decodeURIComponent(doc) : doc)
      } catch {
        return undefined
      }
    }
    // The document npm run iam-policy prints for this configuration and account.
    assert.deepEqual(await inline(), operatorPolicy({ account: '123456789012', clusters: ['oper'], tablePrefix: 'op_' }))
    assert.equal((await runStep('runbooks/01-vpc.ts', ['--json'], env)).json.status, 'ok', 'a rerun changes nothing')
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: 'oper-bastion',
        PolicyName: 'scalardl-runbook-operator',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
      }),
    )
    const restored = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    const task = restored.json.tasks.find((t: any) => /Bastion IAM role/.test(t.title))
    assert.equal(task.status, 'changed')
    assert.match(task.detail, /update the inline policy scalardl-runbook-operator/)
    assert.deepEqual(await inline(), operatorPolicy({ account: '123456789012', clusters: ['oper'], tablePrefix: 'op_' }))
    const off = await runStep('runbooks/01-vpc.ts', ['--json'], { ...env, BASTION_OPERATOR_POLICY: 'false' })
    assert.match(off.json.tasks.find((t: any) => /Bastion IAM role/.test(t.title)).detail, /remove the inline policy/)
    assert.equal(await inline(), undefined)
    iam.destroy()
  })

  test('the bastion gets its tools at first boot (user data with pinned checksums, no secret); a changed bootstrap is sent through SSM Run Command, in place', async () => {
    const env = envFor('boot', {
      GITHUB_TOKEN: ['ghp', 'bootstrapsecret0000000000000000000000'].join('_'),
      SCALARDL_DB_PASSWORD: 'db-secret-for-the-bootstrap-test',
    })
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const cfg = awsConfig(env, 'ap-northeast-1')
    const ec2 = new EC2Client(cfg)
    const ssm = new SSMClient(cfg)
    const bastion = async () =>
      (
        await ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: 'tag:scalardl-runbook/cluster', Values: ['boot'] },
              { Name: 'instance-state-name', Values: ['pending', 'running'] },
            ],
          }),
        )
      ).Reservations!.flatMap((r) => r.Instances!)[0]!
    const instance = await bastion()
    const userData = Buffer.from(
      (await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instance.InstanceId, Attribute: 'userData' }))).UserData!.Value!,
      'base64',
    ).toString('utf8')
    const want = renderBootstrap('1.35') as Bootstrap
    assert.equal(userData, want.script)
    assert.match(
      userData,
      /install_tool 'kubectl' '1\.35\.8' 'bin' 'https:\/\/dl\.k8s\.io\/release\/v1\.35\.8\/bin\/linux\/amd64\/kubectl' '[0-9a-f]{64}'/,
    )
    for (const secret of [env.GITHUB_TOKEN!, env.SCALARDL_DB_PASSWORD!]) assert.ok(!userData.includes(secret))
    assert.equal(instance.Tags!.find((t) => t.Key === 'scalardl-runbook/bootstrap')?.Value, want.version)
    // npm run bastion -- shell: Session Manager to this instance (the plugin is not installed here: the command is printed).
    const shell = await runStep('runbooks/bastion.ts', ['shell'], env)
    assert.equal(shell.code, 1)
    assert.equal(shell.stdout.trim(), `aws ssm start-session --target ${instance.InstanceId} --region ap-northeast-1`)
    assert.match(shell.stderr, /the Session Manager plugin is not installed here/)
    const rerun = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    assert.equal(rerun.json.status, 'ok')
    assert.match(
      rerun.json.tasks.find((t: any) => /Bastion tools/.test(t.title)).detail,
      new RegExp(`bootstrap ${want.version} installed \\(its marker on ${instance.InstanceId}\\): node 24\\.15\\.0, kubectl 1\\.35\\.8`),
    )

    // The wanted tools change (here: KUBERNETES_VERSION moves kubectl): the new bootstrap goes through SSM, no new instance.
    const moved = await runStep('runbooks/01-vpc.ts', ['--json'], { ...env, KUBERNETES_VERSION: '1.33' })
    assert.equal(moved.code, 0, moved.stderr)
    const task = moved.json.tasks.find((t: any) => /Bastion tools/.test(t.title))
    assert.equal(task.status, 'changed')
    const next = renderBootstrap('1.33') as Bootstrap
    assert.match(task.detail, new RegExp(`bootstrap ${next.version} ran on ${instance.InstanceId}`))
    // Besides the reads of the bootstrap's marker (comment "scalardl-runbook read: ..."), one command: the bootstrap.
    const commands = ((await ssm.send(new ListCommandsCommand({ InstanceId: instance.InstanceId }))).Commands ?? []).filter(
      (c) => !c.Comment?.startsWith('scalardl-runbook read: '),
    )
    assert.equal(commands.length, 1)
    assert.equal(commands[0]!.DocumentName, 'AWS-RunShellScript')
    assert.deepEqual(commands[0]!.Parameters?.commands, [next.script])
    for (const secret of [env.GITHUB_TOKEN!, env.SCALARDL_DB_PASSWORD!]) assert.ok(!JSON.stringify(commands).includes(secret))
    const after = await bastion()
    assert.equal(after.InstanceId, instance.InstanceId, 'the same instance')
    assert.equal(after.Tags!.find((t) => t.Key === 'scalardl-runbook/bootstrap')?.Value, next.version)
    assert.equal((await runStep('runbooks/01-vpc.ts', ['--json'], { ...env, KUBERNETES_VERSION: '1.33' })).json.status, 'ok')
    ec2.destroy()
    ssm.destroy()
  })

  test('a VPC_CIDR that differs from the existing VPC fails with a conflict and changes nothing', async () => {
    const env = envFor('cidr', { BASTION_ENABLED: 'false' })
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const before = await inventory(env, 'cidr')
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], { ...env, VPC_CIDR: '10.9.0.0/16' })
    assert.equal(r.code, 1)
    const failed = r.json.tasks.find((t: any) => t.status === 'failed')
    assert.match(failed.detail, /10\.1\.0\.0\/16.*10\.9\.0\.0\/16/)
    assert.ok(r.json.tasks.slice(r.json.tasks.indexOf(failed) + 1).every((t: any) => t.status === 'skipped'))
    assert.deepEqual(await inventory(env, 'cidr'), before)
  })

  test("another cluster's resources and untagged ones are never touched", async () => {
    const a = envFor('tenant-a', { BASTION_ENABLED: 'false' })
    assert.equal((await runStep('runbooks/01-vpc.ts', [], a)).code, 0)
    const before = await inventory(a, 'tenant-a')
    const b = envFor('tenant-b', { BASTION_ENABLED: 'false', VPC_CIDR: '10.3.0.0/16' })
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], b)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'changed')
    assert.deepEqual(await inventory(a, 'tenant-a'), before)
    assert.equal((await inventory(b, 'tenant-b')).vpcs, 1)
  })

  test('02-database before 01-vpc fails and says to run 01-vpc first', async () => {
    const env = envFor('nodb')
    const r = await runStep('runbooks/02-database.ts', ['--json'], env)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /run 01-vpc first/)
  })

  test('02-database reports existing Scalar DL tables with the namespace prefix and never touches them', async () => {
    const env = envFor('tables', { BASTION_ENABLED: 'false', DYNAMODB_NAMESPACE_PREFIX: 'prod_' })
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const { DynamoDBClient, CreateTableCommand, ListTablesCommand } = await import('@aws-sdk/client-dynamodb')
    const ddb = new DynamoDBClient(awsConfig(env, env.AWS_REGION))
    for (const name of ['prod_scalar.asset', 'prod_coordinator.state', 'other.table']) {
      await ddb.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      )
    }
    const before = (await ddb.send(new ListTablesCommand({}))).TableNames
    const r = await runStep('runbooks/02-database.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    const task = r.json.tasks.find((t: any) => /Scalar DL tables/.test(t.title))
    assert.match(task.detail, /2 present with prefix "prod_", missing prod_scalar\.asset_metadata/)
    assert.deepEqual((await ddb.send(new ListTablesCommand({}))).TableNames, before)
    ddb.destroy()
  })
})
