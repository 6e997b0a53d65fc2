// EC2's idempotency tokens as AWS keeps them (the simulator's AWS layer answers a used token with
// its first answer, for good, as EC2 does for at least 24 hours): a retried create makes nothing
// twice, and a replacement of a resource that is gone is a new resource, not the old one replayed.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  DeleteNatGatewayCommand,
  DescribeInstancesCommand,
  DescribeNatGatewaysCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2'
import { runStep, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let ec2: EC2Client

before(() => {
  sim = startSim(['--pod-start-ms', '30'])
  ec2 = new EC2Client(awsConfig(sim.env, 'ap-northeast-1'))
})
after(() => {
  ec2.destroy()
  stopSim(sim)
})

const env = () => ({
  ...sim.env,
  NODE_NO_WARNINGS: '1',
  CI: 'true',
  CLUSTER_NAME: 'idem',
  VPC_CIDR: '10.70.0.0/16',
  RUNBOOK_STATE_DIR: state,
})
const state = tempDir('rb-idem-')
const byTag = (role: string) => [
  { Name: 'tag:scalardl-runbook/cluster', Values: ['idem'] },
  { Name: 'tag:scalardl-runbook/role', Values: [role] },
]
const instances = async () =>
  ((await ec2.send(new DescribeInstancesCommand({ Filters: byTag('bastion') }))).Reservations ?? []).flatMap((r) => r.Instances ?? [])

describe('idempotency tokens that outlive their resource', () => {
  test('the simulated EC2 answers a used ClientToken with the first instance, even once it is terminated', async () => {
    const run = () =>
      ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, ClientToken: 'same-token-every-time' }))
    const first = (await run()).Instances![0]!.InstanceId
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [first!] }))
    assert.equal((await run()).Instances![0]!.InstanceId, first, 'replayed, not a new instance')
  })

  test('a bastion or a NAT gateway deleted by hand: the rerun makes a new one instead of getting the old one back', async () => {
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env())).code, 0)
    const [old] = (await instances()).filter((i) => i.State?.Name === 'running')
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [old!.InstanceId!] }))
    const nats = async () => (await ec2.send(new DescribeNatGatewaysCommand({ Filter: byTag('nat-gateway') }))).NatGateways ?? []
    const [oldNat] = (await nats()).filter((n) => n.State === 'available')
    await ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: oldNat!.NatGatewayId! }))
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], env())
    assert.equal(r.code, 0, r.stderr)
    const running = (await instances()).filter((i) => i.State?.Name === 'running')
    assert.equal(running.length, 1)
    assert.notEqual(running[0]!.InstanceId, old!.InstanceId)
    const live = (await nats()).filter((n) => n.State === 'available' || n.State === 'pending')
    assert.equal(live.length, 1)
    assert.notEqual(live[0]!.NatGatewayId, oldNat!.NatGatewayId)
    assert.equal((await runStep('runbooks/01-vpc.ts', ['--json'], env())).json.status, 'ok', 'then nothing to do')
  })

  test("a bastion terminated and launched again with other parameters within the token's life: a new token, not IdempotentParameterMismatch", async () => {
    const [old] = (await instances()).filter((i) => i.State?.Name === 'running')
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [old!.InstanceId!] }))
    // Another instance type (as a newer AMI would): the request differs, so its token does.
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], { ...env(), BASTION_INSTANCE_TYPE: 't3.medium' })
    assert.equal(r.code, 0, r.stderr)
    const running = (await instances()).filter((i) => i.State?.Name === 'running')
    assert.equal(running.length, 1)
    assert.equal(running[0]!.InstanceType, 't3.medium')
  })
})
