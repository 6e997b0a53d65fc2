// 06-monitoring against the simulator: control-plane logging, the add-on's tolerations, the
// agents on every node (tainted ones included), retention, an idempotent rerun, and repair of
// an add-on configured by hand without the toleration.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CloudWatchLogsClient, DescribeLogGroupsCommand, DescribeLogStreamsCommand } from '@aws-sdk/client-cloudwatch-logs'
import {
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  DescribePodIdentityAssociationCommand,
  EKSClient,
  ListPodIdentityAssociationsCommand,
} from '@aws-sdk/client-eks'
import { GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam'
import YAML from 'yaml'
import { stopSim, runIn, startSim, type Sim } from '../helpers/sim.ts'
import { runStep, tempDir } from '../helpers/run-step.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let env: NodeJS.ProcessEnv
let kubeconfig: string
const cfg = () => awsConfig(sim.env, 'ap-northeast-1')
const ds = async (name: string) =>
  JSON.parse((await sim.kubectl(['--kubeconfig', kubeconfig, 'get', 'ds', name, '-n', 'amazon-cloudwatch', '-o', 'json'])).stdout)

before(async () => {
  sim = startSim(['--pod-start-ms', '50', '--cloudwatch-interval-ms', '0'])
  const state = tempDir('rb-mon-')
  env = { ...sim.env, NODE_NO_WARNINGS: '1', CI: 'true', CLUSTER_NAME: 'mon', RUNBOOK_STATE_DIR: state, BASTION_ENABLED: 'false' }
  kubeconfig = path.join(state, 'mon', 'kubeconfig')
  for (const s of ['runbooks/01-vpc.ts', 'runbooks/03-eks.ts']) assert.equal((await runStep(s, [], env)).code, 0)
})
after(() => {
  stopSim(sim)
})

describe('06-monitoring against the simulator', () => {
  test('an add-on installed by hand without the toleration leaves the pool nodes unmonitored; 06 fixes it and names what it waited for', async () => {
    const file = path.join(sim.dir, 'addon.yaml')
    fs.writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'eksctl.io/v1alpha5',
        kind: 'ClusterConfig',
        metadata: { name: 'mon', region: 'ap-northeast-1' },
        addons: [{ name: 'amazon-cloudwatch-observability', configurationValues: JSON.stringify({ tolerations: [] }) }],
      }),
    )
    assert.equal((await runIn(sim, 'eksctl', ['create', 'addon', '-f', file])).code, 0)
    const dry = await runStep('runbooks/06-monitoring.ts', ['--dry-run', '--json'], env)
    assert.equal(dry.code, 0, dry.stderr)
    const agents = dry.json.tasks.find((t: any) => /every node/.test(t.title))
    assert.match(
      agents.detail,
      /fluent-bit on ip-[\d-]+\.ap-northeast-1\.compute\.internal: taint kubernetes\.io\/app=scalardlpool:NoSchedule not tolerated/,
    )
    const r = await runStep('runbooks/06-monitoring.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'changed')
    for (const name of ['cloudwatch-agent', 'fluent-bit']) {
      const d = await ds(name)
      assert.ok(d.spec.template.spec.tolerations.some((t: any) => t.key === 'kubernetes.io/app' && t.value === 'scalardlpool'))
      assert.equal(d.status.numberReady, 5, `${name} on all 5 nodes`)
    }
    // As the real add-on labels them: Fluent Bit by k8s-app, the agent by its operator; 06 found
    // both through their DaemonSets' selectors.
    assert.deepEqual((await ds('fluent-bit')).spec.selector.matchLabels, { 'k8s-app': 'fluent-bit' })
    assert.equal((await ds('cloudwatch-agent')).metadata.ownerReferences[0].kind, 'AmazonCloudWatchAgent')
    assert.equal((await ds('cloudwatch-agent')).spec.selector.matchLabels['app.kubernetes.io/component'], 'amazon-cloudwatch-agent')
    assert.match(r.json.tasks.find((t: any) => /every node/.test(t.title)).detail, /both agents on all 5 nodes/)
    // EKS reports the add-on DEGRADED with an issue: eksctl prints it after the JSON; 06 says so.
    assert.equal(sim.cli('addon', 'degrade', 'mon').code, 0)
    const degraded = await runStep('runbooks/06-monitoring.ts', ['--json'], env)
    assert.equal(degraded.code, 0, degraded.stderr)
    assert.match(
      degraded.json.tasks.find((t: any) => /^Container Insights/.test(t.title)).detail,
      /DEGRADED \(issues: \{Code:InsufficientNumberOfReplicas/,
    )
    assert.equal(sim.cli('addon', 'heal', 'mon').code, 0)
  })

  test("the agents' role comes through EKS Pod Identity, not the node role; an association removed by hand leaves CloudWatch without data, and 06 restores it", async () => {
    const eks = new EKSClient(cfg())
    const iam = new IAMClient(cfg())
    const associations = async () =>
      (
        await eks.send(
          new ListPodIdentityAssociationsCommand({
            clusterName: 'mon',
            namespace: 'amazon-cloudwatch',
            serviceAccount: 'cloudwatch-agent',
          }),
        )
      ).associations ?? []
    const [found] = await associations()
    assert.ok(found, 'an association for amazon-cloudwatch/cloudwatch-agent')
    const { association } = await eks.send(
      new DescribePodIdentityAssociationCommand({ clusterName: 'mon', associationId: found.associationId }),
    )
    const roleName = association!.roleArn!.split('/').pop()!
    const trust = decodeURIComponent((await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!.AssumeRolePolicyDocument!)
    assert.match(trust, /pods\.eks\.amazonaws\.com/)
    assert.match(trust, /sts:TagSession/)
    const attached = async (role: string) =>
      ((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role }))).AttachedPolicies ?? []).map((x) => x.PolicyName)
    assert.deepEqual(await attached(roleName), ['CloudWatchAgentServerPolicy'])
    for (const group of ['scalardlpool', 'system']) {
      const ng = (await eks.send(new DescribeNodegroupCommand({ clusterName: 'mon', nodegroupName: group }))).nodegroup!
      assert.ok(
        !(await attached(ng.nodeRole!.split('/').pop()!)).includes('CloudWatchAgentServerPolicy'),
        `${group}'s node role cannot write to CloudWatch`,
      )
    }
    const logs = new CloudWatchLogsClient(cfg())
    const appStreams = async () =>
      (
        await logs
          .send(new DescribeLogStreamsCommand({ logGroupName: '/aws/containerinsights/mon/application' }))
          .catch(() => ({ logStreams: [] }))
      ).logStreams?.length ?? 0

    // By hand: the association removed (eksctl needs an explicit [] for that).
    const file = path.join(sim.dir, 'no-pod-identity.yaml')
    fs.writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'eksctl.io/v1alpha5',
        kind: 'ClusterConfig',
        metadata: { name: 'mon', region: 'ap-northeast-1' },
        addons: [{ name: 'amazon-cloudwatch-observability', podIdentityAssociations: [] }],
      }),
    )
    const removed = await runIn(sim, 'eksctl', ['update', 'addon', '-f', file])
    assert.equal(removed.code, 0, removed.stderr)
    assert.deepEqual(await associations(), [])
    await assert.rejects(iam.send(new GetRoleCommand({ RoleName: roleName })), /NoSuchEntity/, 'its role went with it')
    assert.equal(sim.cli('cloudwatch', 'tick', 'mon').code, 0)
    assert.equal(await appStreams(), 0, 'agents without credentials send nothing')
    // 07 says why: the agents lost their role (not only that nothing arrives).
    const lost = await runStep('runbooks/07-verify.ts', ['--only', 'logs', '--json'], env)
    assert.equal(lost.code, 1, lost.stderr)
    assert.match(
      lost.json[0].detail,
      /no EKS Pod Identity association for amazon-cloudwatch\/cloudwatch-agent: the CloudWatch agents and Fluent Bit have no role/,
    )
    assert.match(lost.json[0].hint, /list-pod-identity-associations/)

    const dry = await runStep('runbooks/06-monitoring.ts', ['--dry-run', '--json'], env)
    assert.match(
      dry.json.tasks.find((t: any) => /^Container Insights/.test(t.title)).detail,
      /eksctl update addon amazon-cloudwatch-observability: Pod Identity association for amazon-cloudwatch\/cloudwatch-agent \(none\)/,
    )
    const r = await runStep('runbooks/06-monitoring.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.tasks.find((t: any) => /^Container Insights/.test(t.title)).status, 'changed')
    assert.equal((await associations()).length, 1)
    assert.equal(sim.cli('cloudwatch', 'tick', 'mon').code, 0)
    assert.ok((await appStreams()) > 0, "with its role back, Fluent Bit ships the containers' logs")
  })

  test('control-plane logging and log retention are set in AWS', async () => {
    const eks = new EKSClient(cfg())
    const c = (await eks.send(new DescribeClusterCommand({ name: 'mon' }))).cluster!
    eks.destroy()
    assert.deepEqual(c.logging?.clusterLogging?.find((l) => l.enabled)?.types, [
      'api',
      'audit',
      'authenticator',
      'controllerManager',
      'scheduler',
    ])
    const logs = new CloudWatchLogsClient(cfg())
    const groups = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/containerinsights/mon/' }))).logGroups!
    const eksGroup = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/eks/mon/' }))).logGroups!
    logs.destroy()
    assert.deepEqual(
      groups.map((g) => [g.logGroupName, g.retentionInDays]).sort(),
      ['application', 'dataplane', 'host', 'performance'].map((g) => [`/aws/containerinsights/mon/${g}`, 30]),
    )
    assert.equal(eksGroup[0]?.retentionInDays, 30)
  })

  test('a rerun changes nothing; changed settings are applied', async () => {
    const again = await runStep('runbooks/06-monitoring.ts', ['--json'], env)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.status, 'ok')
    const changed = await runStep('runbooks/06-monitoring.ts', ['--json'], {
      ...env,
      CONTROL_PLANE_LOG_TYPES: 'api,audit',
      LOG_RETENTION_DAYS: '14',
    })
    assert.equal(changed.code, 0, changed.stderr)
    assert.deepEqual(
      changed.json.tasks.filter((t: any) => t.status === 'changed').map((t: any) => t.title.split(' (')[0]),
      ['EKS control-plane logging', 'Log groups with retention'],
    )
  })

  test('bad monitoring settings exit 2', async () => {
    const r = await runStep('runbooks/06-monitoring.ts', ['--json'], {
      ...env,
      CONTROL_PLANE_LOG_TYPES: 'api,kubelet',
      LOG_RETENTION_DAYS: '8',
      CONTAINER_INSIGHTS: 'daemonset',
    })
    assert.equal(r.code, 2)
    assert.deepEqual(r.json.problems.map((p: any) => p.key).sort(), ['CONTAINER_INSIGHTS', 'CONTROL_PLANE_LOG_TYPES', 'LOG_RETENTION_DAYS'])
  })
})
