// 03-eks against the simulator: the cluster and node groups in moto, the taint on every pool
// node, idempotent reruns that invoke no eksctl create, scaling, and the refusals.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DescribeClusterCommand, DescribeNodegroupCommand, EKSClient, ListClustersCommand } from '@aws-sdk/client-eks'
import { Ajv } from 'ajv'
import YAML from 'yaml'
import { stopSim, startSim, type Sim } from '../helpers/sim.ts'
import { CloudFormationClient, DeleteStackCommand } from '@aws-sdk/client-cloudformation'
import { ROOT, runStep, tempDir } from '../helpers/run-step.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let eks: EKSClient

function envFor(cluster: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...sim.env,
    NODE_NO_WARNINGS: '1',
    CI: 'true',
    CLUSTER_NAME: cluster,
    RUNBOOK_STATE_DIR: tempDir('rb-eks-'),
    SIM_ARGV_LOG: path.join(tempDir('argv-'), 'argv.log'),
    BASTION_ENABLED: 'false',
    ...extra,
  }
}
const argv = (env: NodeJS.ProcessEnv) =>
  fs.existsSync(env.SIM_ARGV_LOG!) ? fs.readFileSync(env.SIM_ARGV_LOG!, 'utf8').trim().split('\n') : []
async function nodes(env: NodeJS.ProcessEnv, selector: string): Promise<any[]> {
  const kubeconfig = path.join(env.RUNBOOK_STATE_DIR!, env.CLUSTER_NAME!, 'kubeconfig')
  const r = await sim.kubectl(['--kubeconfig', kubeconfig, 'get', 'nodes', '-l', selector, '-o', 'json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout).items
}
const isTainted = (n: any) =>
  (n.spec.taints ?? []).some((t: any) => t.key === 'kubernetes.io/app' && t.value === 'scalardlpool' && t.effect === 'NoSchedule')

before(() => {
  sim = startSim(['--pod-start-ms', '50', '--cloudwatch-interval-ms', '0'])
  eks = new EKSClient(awsConfig(sim.env, 'ap-northeast-1'))
})
after(() => {
  stopSim(sim)
  eks.destroy()
})

describe('03-eks against the simulator', () => {
  test('fresh: cluster and node groups in moto, every pool node tainted, system nodes not; a rerun changes nothing and creates nothing', async () => {
    const env = envFor('eks-fresh')
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const dry = await runStep('runbooks/03-eks.ts', ['--dry-run', '--json'], env)
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal(dry.json.status, 'planned')
    assert.deepEqual(
      (await eks.send(new ListClustersCommand({}))).clusters?.filter((c) => c === 'eks-fresh'),
      [],
    )
    assert.ok(!argv(env).some((a) => / create /.test(` ${a} `)), 'dry-run invoked no eksctl create')
    assert.match(dry.stderr, /\| managedNodeGroups:/, 'dry-run shows the ClusterConfig')
    assert.doesNotMatch(dry.stderr, /&a1/, 'no YAML anchors')

    const r = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'changed')
    const c = (await eks.send(new DescribeClusterCommand({ name: 'eks-fresh' }))).cluster!
    assert.equal(c.status, 'ACTIVE')
    assert.equal(c.version, '1.35')
    assert.equal(c.resourcesVpcConfig?.endpointPrivateAccess, true)
    assert.equal(c.resourcesVpcConfig?.endpointPublicAccess, false)
    assert.equal(c.resourcesVpcConfig?.subnetIds?.length, 6)
    const pool = (await eks.send(new DescribeNodegroupCommand({ clusterName: 'eks-fresh', nodegroupName: 'scalardlpool' }))).nodegroup!
    assert.equal(pool.labels?.agentpool, 'scalardlpool')
    assert.deepEqual(pool.scalingConfig, { minSize: 3, maxSize: 6, desiredSize: 3 })
    assert.deepEqual(pool.taints ?? [], [], 'no taint on the node group: EKS refuses kubernetes.io/ keys')
    const system = (await eks.send(new DescribeNodegroupCommand({ clusterName: 'eks-fresh', nodegroupName: 'system' }))).nodegroup!
    assert.equal(system.scalingConfig?.desiredSize, 2)
    const poolNodes = await nodes(env, 'agentpool=scalardlpool')
    assert.equal(poolNodes.length, 3)
    assert.ok(poolNodes.every(isTainted))
    const systemNodes = await nodes(env, 'role=system')
    assert.equal(systemNodes.length, 2)
    assert.ok(!systemNodes.some((n) => n.spec.taints?.length))
    const kubeconfig = path.join(env.RUNBOOK_STATE_DIR!, 'eks-fresh', 'kubeconfig')
    assert.equal(fs.statSync(kubeconfig).mode & 0o777, 0o600)
    assert.equal(argv(env).filter((a) => a.startsWith('eksctl create cluster')).length, 1)

    const before = argv(env).length
    const again = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.status, 'ok')
    assert.equal(again.json.summary.changed, 0)
    const calls = argv(env).slice(before)
    assert.ok(
      calls.every((a) => / (get|version)\b/.test(a)),
      `a rerun only reads: ${calls.join('; ')}`,
    )
  })

  test("the rendered ClusterConfig follows eksctl's schema and has no kubernetes.io/ label or taint", async (t) => {
    const schemaFile = path.join(ROOT, '..', 'shared', 'reference', 'eksctl-schema.json')
    const env = envFor('eks-schema', { ENDPOINT_PUBLIC_ACCESS: 'true', ENDPOINT_PUBLIC_CIDRS: '203.0.113.0/24' })
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const r = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    const doc = YAML.parse(fs.readFileSync(path.join(env.RUNBOOK_STATE_DIR!, 'eks-schema', 'eksctl-cluster.yaml'), 'utf8'))
    assert.deepEqual(doc.vpc.publicAccessCIDRs, ['203.0.113.0/24'])
    for (const ng of doc.managedNodeGroups) {
      assert.ok(!Object.keys(ng.labels ?? {}).some((k) => /kubernetes\.io|k8s\.io/.test(k)))
      assert.equal(ng.taints, undefined)
      assert.equal(ng.privateNetworking, true)
      assert.equal(ng.volumeEncrypted, true)
      assert.equal(ng.disableIMDSv1, true)
    }
    // No node group's Pods can reach the instance metadata service (hop limit 1): not the Scalar
    // DL nodes', and not the system nodes' (CoreDNS, the schema-loading Job), which need no AWS role.
    assert.deepEqual(
      doc.managedNodeGroups.map((ng: { name: string; disablePodIMDS?: boolean }) => [ng.name, ng.disablePodIMDS ?? false]),
      [
        ['scalardlpool', true],
        ['system', true],
      ],
    )
    if (!fs.existsSync(schemaFile)) {
      t.skip(`eksctl's schema is not at ${schemaFile}; the config was checked by the eksctl stand-in's strict parser only`)
      return
    }
    const ajv = new Ajv({ strict: false, allErrors: true })
    const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')))
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2))
  })

  test('NODE_COUNT raised: the node group scales and only the new node gets tainted', async () => {
    const env = envFor('eks-scale')
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    assert.equal((await runStep('runbooks/03-eks.ts', [], env)).code, 0)
    const old = new Set((await nodes(env, 'agentpool=scalardlpool')).map((n) => n.metadata.name))
    const r = await runStep('runbooks/03-eks.ts', ['--json'], { ...env, NODE_COUNT: '4' })
    assert.equal(r.code, 0, r.stderr)
    const pool = (await eks.send(new DescribeNodegroupCommand({ clusterName: 'eks-scale', nodegroupName: 'scalardlpool' }))).nodegroup!
    assert.deepEqual(pool.scalingConfig, { minSize: 4, maxSize: 8, desiredSize: 4 })
    const all = await nodes(env, 'agentpool=scalardlpool')
    assert.equal(all.length, 4)
    assert.ok(all.every(isTainted))
    const fresh = all.map((n) => n.metadata.name).filter((n) => !old.has(n))
    const taintTask = r.json.tasks.find((t: any) => /^Every Scalar DL node tainted/.test(t.title))
    assert.equal(taintTask.status, 'changed')
    assert.equal(taintTask.detail, `tainted ${fresh.join(', ')}`)
  })

  test('a node group whose creation failed (capacity): the cause shown; the rerun sees eksctl skip its stack, deletes it and says what to do; then it is created', async () => {
    const env = envFor('eks-cap')
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const capacity = { SIM_EKSCTL_FAIL_NODEGROUPS: '^system$' }
    const first = await runStep('runbooks/03-eks.ts', ['--json'], { ...env, ...capacity })
    assert.equal(first.code, 1)
    assert.match(first.stderr, /InsufficientInstanceCapacity/, 'the cause from eksctl\'s stdout, not only "failed to create cluster"')
    // The stack stays (ROLLBACK_COMPLETE): eksctl create nodegroup skips the group and exits 0.
    const second = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(second.code, 1, second.stderr)
    const t = second.json.tasks.find((x: any) => /^System node group/.test(x.title))
    assert.equal(t.status, 'failed')
    assert.match(t.detail, /EKS has no such group: its CloudFormation stack eksctl-eks-cap-nodegroup-system was left by a failed creation/)
    await assert.rejects(eks.send(new DescribeNodegroupCommand({ clusterName: 'eks-cap', nodegroupName: 'system' })), /ResourceNotFound/)
    const third = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(third.code, 0, third.stderr)
    assert.equal(
      (await eks.send(new DescribeNodegroupCommand({ clusterName: 'eks-cap', nodegroupName: 'system' }))).nodegroup?.status,
      'ACTIVE',
    )
  })

  test('a cluster stack that failed and rolled back (ROLLBACK_COMPLETE): the rerun reports its cause and the fix at once instead of waiting; once deleted, 03 makes the cluster', async () => {
    const env = envFor('eks-rollback')
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const first = await runStep('runbooks/03-eks.ts', ['--json'], { ...env, SIM_EKSCTL_FAIL_CLUSTERS: '^eks-rollback$' })
    assert.equal(first.code, 1)
    assert.match(first.stderr, /ControlPlane: CREATE_FAILED/)
    // eksctl alone would now answer AlreadyExistsException, which reads like a run still going on.
    const started = Date.now()
    const second = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(second.code, 1, second.stderr)
    assert.ok(Date.now() - started < 30_000, 'no wait for a cluster that will never come')
    const t = second.json.tasks.find((x: any) => x.title === 'EKS cluster')
    assert.match(
      t.detail,
      /stack eksctl-eks-rollback-cluster is ROLLBACK_COMPLETE from an earlier attempt: ControlPlane \(AWS::EKS::Cluster\): Resource handler returned message/,
    )
    assert.match(second.stderr, /aws cloudformation delete-stack --stack-name eksctl-eks-rollback-cluster --region ap-northeast-1/)
    assert.equal(argv(env).filter((a) => a.startsWith('eksctl create cluster')).length, 1, 'the rerun did not ask eksctl again')
    const cfn = new CloudFormationClient(awsConfig(sim.env, 'ap-northeast-1'))
    await cfn.send(new DeleteStackCommand({ StackName: 'eksctl-eks-rollback-cluster' }))
    cfn.destroy()
    const third = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(third.code, 0, third.stderr)
    assert.equal((await eks.send(new DescribeClusterCommand({ name: 'eks-rollback' }))).cluster?.status, 'ACTIVE')
  })

  test('SYSTEM_NODE_COUNT=0 is refused (exit 2) unless --allow-no-system-nodes', async () => {
    const env = envFor('eks-nosys', { SYSTEM_NODE_COUNT: '0' })
    const refused = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(refused.code, 2)
    assert.equal(refused.json.problems[0].key, 'SYSTEM_NODE_COUNT')
    assert.match(refused.stderr, /schema-loading Job .* CoreDNS/)
    assert.deepEqual(argv(env), [], 'nothing was invoked')
    assert.equal((await runStep('runbooks/01-vpc.ts', [], env)).code, 0)
    const allowed = await runStep('runbooks/03-eks.ts', ['--allow-no-system-nodes', '--json'], env)
    assert.equal(allowed.code, 0, allowed.stderr)
    await assert.rejects(eks.send(new DescribeNodegroupCommand({ clusterName: 'eks-nosys', nodegroupName: 'system' })), /ResourceNotFound/)
  })

  test('before 01-vpc: fails saying to run 01-vpc first, invoking nothing', async () => {
    const env = envFor('eks-novpc')
    const r = await runStep('runbooks/03-eks.ts', ['--json'], env)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /run 01-vpc first/)
    assert.ok(!argv(env).some((a) => a.includes('create')))
  })
})
