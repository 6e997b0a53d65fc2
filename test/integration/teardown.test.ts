// 99-teardown against the simulator: confirmation, the guide's order, only tagged resources,
// tables and log groups kept unless asked (with backups), resumable after kills, and a second
// teardown that changes nothing.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DynamoDBClient, ListBackupsCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { CreateVpcCommand, DescribeInstancesCommand, DescribeVpcsCommand, EC2Client, RunInstancesCommand, CreateSubnetCommand } from '@aws-sdk/client-ec2'
import { EKSClient, ListClustersCommand } from '@aws-sdk/client-eks'
import { inventory } from '../helpers/inventory.ts'
import { collect, runStep, spawnStep, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'

let sim: Sim
const cfg = () => ({ region: 'ap-northeast-1', endpoint: sim.env.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } })

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
  for (const [s, args] of [['01-vpc', []], ['02-database', []], ['03-eks', []], ['04-scalardl', ['--generate-ledger-key']], ['06-monitoring', []]] as const) {
    const r = await runStep(`runbooks/${s}.ts`, [...args], env)
    assert.equal(r.code, 0, `${s}: ${r.stderr}`)
  }
}

const tagged = async (env: NodeJS.ProcessEnv) => Object.values(await inventory(env, env.CLUSTER_NAME!)).reduce((a, b) => a + b, 0)
const tables = async (prefix: string) => {
  const ddb = new DynamoDBClient(cfg())
  const names = (await ddb.send(new ListTablesCommand({}))).TableNames!.filter((t) => t.startsWith(prefix))
  ddb.destroy()
  return names
}

before(() => {
  sim = startSim(['--pod-start-ms', '30', '--job-duration-ms', '50', '--lb-delay-ms', '50', '--cloudwatch-interval-ms', '0'])
})
after(() => stopSim(sim))

describe('99-teardown against the simulator', () => {
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

  test('after a full deployment: only tagged resources go, tables and logs are kept, untagged ones survive; a second teardown changes nothing', async () => {
    const env = envFor('td-full', '10.41.0.0/16')
    await deploy(env)
    const ec2 = new EC2Client(cfg())
    const foreignVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.99.0.0/16' }))).Vpc!.VpcId!
    const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: foreignVpc, CidrBlock: '10.99.0.0/24' }))).Subnet!.SubnetId!
    const foreignInstance = (await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, SubnetId: subnet }))).Instances![0]!.InstanceId!
    const r = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-full'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await tagged(env), 0, JSON.stringify(await inventory(env, 'td-full')))
    const eks = new EKSClient(cfg())
    assert.ok(!(await eks.send(new ListClustersCommand({}))).clusters!.includes('td-full'))
    eks.destroy()
    assert.ok(!JSON.parse(sim.cli('status').stdout).clusters.some((c: any) => c.name === 'td-full'), 'no cluster left in the simulator')
    assert.ok((await tables('td-full_')).length >= 9, 'the tables are kept by default')
    assert.match(r.json.tasks.find((t: any) => /DynamoDB tables/.test(t.title)).detail, /^kept \d+ table/)
    assert.equal((await ec2.send(new DescribeVpcsCommand({ VpcIds: [foreignVpc] }))).Vpcs!.length, 1, 'the untagged VPC survives')
    const inst = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [foreignInstance] }))).Reservations![0]!.Instances![0]!
    assert.equal(inst.State?.Name, 'running', 'the untagged instance survives')
    ec2.destroy()
    const again = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-full'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.status, 'ok')

    const data = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-full', '--delete-data', '--delete-logs'], env)
    assert.equal(data.code, 0, data.stderr)
    assert.deepEqual(await tables('td-full_'), [])
    const ddb = new DynamoDBClient(cfg())
    const backups = (await ddb.send(new ListBackupsCommand({}))).BackupSummaries!.filter((b) => b.TableName?.startsWith('td-full_'))
    ddb.destroy()
    assert.ok(backups.length >= 9, 'every table was backed up first')
    assert.match(data.json.tasks.find((t: any) => /DynamoDB tables/.test(t.title)).detail, /backups: arn:aws:dynamodb:/)
  })

  test('killed at random points and rerun: completes, nothing tagged left', async () => {
    const env = envFor('td-kill', '10.42.0.0/16')
    await deploy(env)
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
    assert.equal((await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', 'td-kill'], env)).json.status, 'ok')
  })
})
