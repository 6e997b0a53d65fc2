// 07-verify against the simulator: a healthy deployment passes every check, and each fault
// makes exactly the relevant check fail with a useful detail.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { CloudWatchLogsClient, DescribeLogStreamsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { DeleteTableCommand, DynamoDBClient, UpdateTableCommand } from '@aws-sdk/client-dynamodb'
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2'
import YAML from 'yaml'
import { podIdentityAddons } from '../../lib/monitoring/tasks.ts'
import { stopSim, runIn, startSim, type Sim } from '../helpers/sim.ts'
import { collect, runStep, spawnStep, tempDir } from '../helpers/run-step.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let env: NodeJS.ProcessEnv
let kubeconfig: string
const CLUSTER = 'vfy'
const k = (args: string[]) => sim.kubectl(['--kubeconfig', kubeconfig, ...args])
const tick = () => assert.equal(sim.cli('cloudwatch', 'tick', CLUSTER).code, 0)

async function verify(args: string[] = [], extra: Record<string, string> = {}) {
  const r = await runStep('runbooks/07-verify.ts', ['--json', ...args], { ...env, ...extra })
  const by = Object.fromEntries((r.json ?? []).map((c: any) => [c.name, c]))
  return { ...r, by, failed: (r.json ?? []).filter((c: any) => c.status !== 'pass').map((c: any) => c.name) }
}

before(async () => {
  sim = startSim(['--pod-start-ms', '50', '--job-duration-ms', '100', '--lb-delay-ms', '100', '--cloudwatch-interval-ms', '0'])
  const state = tempDir('rb-vfy-')
  env = {
    ...sim.env,
    NODE_NO_WARNINGS: '1',
    CI: 'true',
    CLUSTER_NAME: CLUSTER,
    RUNBOOK_STATE_DIR: state,
    BASTION_ENABLED: 'false',
    GITHUB_USERNAME: 'octo',
    GITHUB_TOKEN: ['ghp', 'verifyTestToken0000000000000000000'].join('_'),
    SCALARDL_DB_USERNAME: 'AKIAVERIFY0000000000',
    SCALARDL_DB_PASSWORD: 'verify-secret',
    LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
  }
  kubeconfig = path.join(state, CLUSTER, 'kubeconfig')
  for (const [s, args] of [
    ['runbooks/01-vpc.ts', []],
    ['runbooks/03-eks.ts', []],
    ['runbooks/04-scalardl.ts', ['--generate-ledger-key']],
  ] as const) {
    const r = await runStep(s, [...args], env)
    assert.equal(r.code, 0, `${s}: ${r.stderr}`)
  }
})
after(() => {
  stopSim(sim)
})

describe('07-verify against the simulator', () => {
  test('from a machine where 03 never ran (a new bastion, an on-call laptop in the VPC): 07 writes the kubeconfig from DescribeCluster and checks', async () => {
    const fresh = tempDir('rb-vfy-oncall-')
    const r = await verify(['--only', 'pods,nodes,releases'], { RUNBOOK_STATE_DIR: fresh })
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.failed, [])
    const file = path.join(fresh, CLUSTER, 'kubeconfig')
    assert.equal(fs.statSync(file).mode & 0o777, 0o600)
    const exec = YAML.parse(fs.readFileSync(file, 'utf8')).users[0].user.exec
    assert.deepEqual(exec.args.slice(0, 2), ['eks', 'get-token'])
    assert.deepEqual(exec.env, [{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }])
    // No cluster by that name: it cannot run, and says which.
    const none = await verify([], { RUNBOOK_STATE_DIR: tempDir('rb-vfy-none-'), CLUSTER_NAME: 'no-such' })
    assert.equal(none.code, 2)
    assert.match(none.stderr, /no EKS cluster no-such in ap-northeast-1/)
  })

  test('--settle asks the CloudWatch checks again while they fail, up to its bound, saying for what; other checks are not waited for', async () => {
    const started = Date.now()
    const r = await verify(['--only', 'logs,nodes', '--settle', '4'])
    assert.equal(r.code, 1, 'no monitoring yet: logs still fails at the bound')
    assert.ok(Date.now() - started < 20_000)
    assert.match(r.stderr, /… waiting for logs to settle \(\d+ s of at most 4 s; last seen: /)
    assert.deepEqual(r.failed, ['logs'])
    assert.equal((await verify(['--settle', 'soon'])).code, 2)
  })

  test('Fluent Bit that does not tolerate the taint: only the logs check fails, naming the tainted nodes; 06 fixes it', async () => {
    const file = path.join(sim.dir, 'addon.yaml')
    fs.writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'eksctl.io/v1alpha5',
        kind: 'ClusterConfig',
        metadata: { name: CLUSTER, region: 'ap-northeast-1' },
        // Installed by hand with its agents' role (Pod Identity) but without the toleration.
        addons: podIdentityAddons(JSON.stringify({ tolerations: [] })),
      }),
    )
    assert.equal((await runIn(sim, 'eksctl', ['create', 'addon', '-f', file])).code, 0)
    assert.equal(
      (await runIn(sim, 'eksctl', ['utils', 'update-cluster-logging', '--cluster', CLUSTER, '--enable-types', 'all', '--approve'])).code,
      0,
    )
    await new Promise((r) => setTimeout(r, 300))
    tick()
    const r = await verify()
    assert.equal(r.code, 1, r.stderr)
    assert.deepEqual(r.failed, ['logs'])
    const pool = JSON.parse((await k(['get', 'nodes', '-l', 'agentpool=scalardlpool', '-o', 'json'])).stdout).items.map(
      (n: any) => n.metadata.name,
    )
    for (const n of pool) assert.ok(r.by.logs.detail.includes(n), `names ${n}: ${r.by.logs.detail}`)
    assert.match(r.by.logs.hint, /06-monitoring/)
    const fix = await runStep('runbooks/06-monitoring.ts', [], env)
    assert.equal(fix.code, 0, fix.stderr)
    // Fluent Bit now reaches the pool nodes: the Ledgers' start-up lines are shipped, dated 30
    // minutes back (an idle Ledger writes nothing after them), then a round now (Envoy's probes).
    assert.equal(sim.cli('cloudwatch', 'tick', CLUSTER, '--minutes-ago', '30').code, 0)
    tick()
    const ok = await verify()
    assert.equal(ok.code, 0, JSON.stringify(ok.json, null, 1))
  })

  test("healthy: every check passes, with the contract's JSON, --only and --report", async () => {
    const report = path.join(tempDir(), 'incident.md')
    const r = await verify(['--report', report])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      r.json.map((c: any) => c.name),
      ['tables', 'pods', 'nodes', 'envoy', 'health', 'logs', 'metrics', 'releases'],
    )
    for (const c of r.json) {
      assert.deepEqual(Object.keys(c).sort(), ['detail', 'durationMs', 'hint', 'name', 'status'])
      assert.equal(c.status, 'pass', `${c.name}: ${c.detail}`)
    }
    assert.match(
      fs.readFileSync(report, 'utf8'),
      /^# Scalar DL verification: vfy \(ap-northeast-1\)\n[\s\S]*all 8 checks passed[\s\S]*\| envoy \| pass \|/,
    )
    // On the steps' engine: a journal record of the run, each check as a task.
    const journal = fs
      .readFileSync(path.join(env.RUNBOOK_STATE_DIR!, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const record = journal.filter((e) => e.step === '07-verify').pop()
    assert.equal(record.status, 'ok')
    assert.deepEqual(
      record.tasks.map((t: { title: string; status: string }) => [t.title, t.status]),
      r.json.map((c: any) => [c.name, 'ok']),
    )
    assert.ok(record.awsCalls.total > 0)
    assert.match(r.stderr, /✓ ok\s+health\s+grpc\.health\.v1\.Health\/Check through /)
    // Idle: the Ledgers' application logs are older than the freshness window, and the logs check
    // passes on Envoy's probe lines (it proves the pipeline, not traffic).
    const cwl = new CloudWatchLogsClient(awsConfig(env, 'ap-northeast-1'))
    const group = `/aws/containerinsights/${CLUSTER}/application`
    const ledgerStreams = ((await cwl.send(new DescribeLogStreamsCommand({ logGroupName: group }))).logStreams ?? [])
      .map((x) => x.logStreamName!)
      .filter((n) => n.includes('my-release-scalardl-ledger-'))
    assert.ok(ledgerStreams.length >= 3, 'a stream per Ledger container')
    const events = async (startTime: number) =>
      (await cwl.send(new FilterLogEventsCommand({ logGroupName: group, logStreamNames: ledgerStreams, startTime }))).events ?? []
    assert.equal((await events(Date.now() - 10 * 60_000)).length, 0, 'no Ledger event in the last 10 minutes')
    assert.ok((await events(Date.now() - 60 * 60_000)).some((e) => /started with TLS = false, listening on 50051/.test(e.message!)))
    assert.equal(r.by.logs.status, 'pass')
    cwl.destroy()
    const only = await verify(['--only', 'pods,nodes'])
    assert.deepEqual(
      only.json.map((c: any) => c.name),
      ['pods', 'nodes'],
    )
    const bad = await runStep('runbooks/07-verify.ts', ['--only', 'pods,nope'], env)
    assert.equal(bad.code, 2)
    // Each check also runs alone.
    const alone = await runStep('checks/envoy.ts', ['--json'], env)
    assert.equal(alone.code, 0, alone.stderr)
    assert.deepEqual(
      alone.json.map((c: any) => [c.name, c.status]),
      [['envoy', 'pass']],
    )
  })

  test('ledger-keys missing: only the pods check fails, naming the Pods in ContainerCreating', async () => {
    assert.equal((await k(['delete', 'secret', 'ledger-keys'])).code, 0)
    assert.equal((await k(['delete', 'pod', '-l', 'app.kubernetes.io/app=ledger'])).code, 0)
    await new Promise((r) => setTimeout(r, 300))
    const r = await verify()
    // No Ledger is Ready, so the front door has nothing behind it either.
    assert.deepEqual(r.failed, ['pods', 'health'])
    assert.match(r.by.pods.detail, /my-release-scalardl-ledger-\w+-\w+ on ip-[\d-]+\.ap-northeast-1\.compute\.internal: ContainerCreating/)
    assert.match(r.by.health.detail, /:50051 UNAVAILABLE: no healthy upstream in \d+ ms, :50052 UNAVAILABLE: no healthy upstream/)
    assert.equal((await runStep('runbooks/04-scalardl.ts', [], env)).code, 0)
    tick()
    assert.equal((await verify()).code, 0)
  })

  test('load balancer pending: the envoy check fails, and the health check has no front door to ask', async () => {
    // The status alone changed: EKS's controller does not sync again for that (needsUpdate), so it stays pending.
    const before = JSON.parse((await k(['get', 'svc', 'my-release-scalardl-envoy', '-o', 'json'])).stdout).status
    assert.equal(
      (
        await k([
          'patch',
          'svc',
          'my-release-scalardl-envoy',
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"status":{"loadBalancer":{"ingress":null}}}',
        ])
      ).code,
      0,
    )
    const r = await verify()
    assert.deepEqual(r.failed, ['envoy', 'health'])
    assert.match(r.by.envoy.detail, /EXTERNAL-IP <pending>/)
    assert.match(r.by.health.detail, /has no EXTERNAL-IP yet: there is no front door to ask/)
    assert.equal(
      (
        await k([
          'patch',
          'svc',
          'my-release-scalardl-envoy',
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({ status: before }),
        ])
      ).code,
      0,
    )
  })

  test('--watch: the checklist again every SECONDS, printing what changed, through a failure and its recovery; Ctrl-C ends it with the last exit code', async (t) => {
    const child = spawnStep('runbooks/07-verify.ts', ['--only', 'envoy', '--watch', '1'], env)
    const done = collect(child)
    // A failed assertion must not leave the watch running (the suite would wait on it).
    t.after(() => void (child.exitCode === null && child.kill('SIGKILL')))
    let seen = ''
    child.stderr!.on('data', (d) => (seen += d))
    const until = async (re: RegExp, what: string) => {
      const deadline = Date.now() + 30_000
      while (!re.test(seen)) {
        assert.ok(Date.now() < deadline, `timed out waiting for ${what}:\n${seen}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const status = (body: unknown) =>
      k(['patch', 'svc', 'my-release-scalardl-envoy', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: body })])
    await until(/watching: the checklist again every 1 s/, 'the first round')
    await until(/round \d+: no change \(1 of 1 passing\)/, 'a round without change')
    const before = JSON.parse((await k(['get', 'svc', 'my-release-scalardl-envoy', '-o', 'json'])).stdout).status
    try {
      assert.equal((await status({ loadBalancer: { ingress: null } })).code, 0)
      await until(/round \d+: envoy pass -> fail .*EXTERNAL-IP <pending>/, 'the failure')
    } finally {
      assert.equal((await status(before)).code, 0)
    }
    await until(/round \d+: envoy fail -> pass/, 'the recovery')
    child.kill('SIGINT')
    const r = await done
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /watch ended: the last round had 1 of 1 checks passing/)
  })

  test("the Ledger's headless Service selects nothing: every object looks fine and only the health check fails; repaired, it passes", async () => {
    const headless = 'my-release-scalardl-headless'
    const before = JSON.parse((await k(['get', 'svc', headless, '-o', 'json'])).stdout).spec.selector
    const patch = (selector: unknown) => k(['patch', 'svc', headless, '--type=merge', '-p', JSON.stringify({ spec: { selector } })])
    assert.equal((await patch({ ...before, 'app.kubernetes.io/app': 'nothing' })).code, 0)
    const r = await verify(['--only', 'tables,pods,nodes,envoy,health,releases'])
    assert.equal(r.code, 1)
    assert.deepEqual(r.failed, ['health'])
    assert.match(
      r.by.health.detail,
      /through a[0-9a-f]{31}-[0-9a-f]+\.elb\.ap-northeast-1\.amazonaws\.com: :50051 UNAVAILABLE: no healthy upstream/,
    )
    assert.match(r.by.health.hint, /kubectl get endpoints/)
    assert.equal((await patch(before)).code, 0)
    const again = await verify(['--only', 'health'])
    assert.deepEqual(again.failed, [])
    assert.match(again.by.health.detail, /:50051 SERVING in \d+ ms, :50052 SERVING in \d+ ms$/)
    // Off AWS (no instance metadata answers), the internal load balancer cannot be reached: said,
    // and not a failure. (On the bastion, in its VPC, it is asked: the operator-path test's closing
    // 07 runs there.)
    const laptop = await verify(['--only', 'health'], {
      AWS_EC2_METADATA_DISABLED: 'false',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9',
    })
    assert.deepEqual(laptop.failed, [])
    assert.match(
      laptop.by.health.detail,
      /^not asked from here: the load balancer is internal \(in vpc-\w+\) and this machine is not in AWS; ask from the bastion: npm run bastion -- run 07-verify$/,
    )
  })

  test('the envoy admits its VPC only; a NodePort opened to 0.0.0.0/0 by hand: only the envoy check fails, naming the rule', async () => {
    const ok = await verify(['--only', 'envoy'])
    assert.deepEqual(ok.failed, [])
    assert.match(ok.by.envoy.detail, /NLB a[0-9a-f]{31} active, targets (\d+)\/\1 and \1\/\1 healthy\), admits 10\.\d+\.0\.0\/16$/)
    const svc = JSON.parse((await k(['get', 'svc', 'my-release-scalardl-envoy', '-o', 'json'])).stdout)
    const port = svc.spec.ports[0].nodePort
    const ec2 = new EC2Client(awsConfig(env, 'ap-northeast-1'))
    const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:aws:eks:cluster-name', Values: [CLUSTER] }] })))
      .SecurityGroups![0]!
    const rule = {
      GroupId: sg.GroupId,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 30000, ToPort: 32767, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'someone' }] }],
    }
    await ec2.send(new AuthorizeSecurityGroupIngressCommand(rule))
    const r = await verify(['--only', 'envoy,pods'])
    assert.deepEqual(r.failed, ['envoy'])
    assert.match(r.by.envoy.detail, new RegExp(`NodePort ${port} open to 0\\.0\\.0\\.0/0 in ${sg.GroupId} \\(${sg.GroupName}, someone\\)`))
    await ec2.send(new RevokeSecurityGroupIngressCommand(rule))
    ec2.destroy()
  })

  test('no Envoy Pod to hear from: the logs check fails instead of passing on nothing', async () => {
    const r = await verify(['--only', 'logs'], { SCALARDL_RELEASE: 'absent-release' })
    assert.deepEqual(r.failed, ['logs'])
    assert.match(r.by.logs.detail, /no running Envoy Pod of release absent-release/)
  })

  test('a table deleted: only the tables check fails, naming it', async () => {
    const ddb = new DynamoDBClient(awsConfig(env, 'ap-northeast-1'))
    // 04 turned deletion protection on: a mistaken delete fails, and the table stays.
    await assert.rejects(ddb.send(new DeleteTableCommand({ TableName: 'scalar.tx_state' })), /DeletionProtectionEnabled/)
    const protectedTables = await verify(['--only', 'tables'])
    assert.deepEqual(protectedTables.failed, [])
    assert.match(protectedTables.by.tables.detail, /point-in-time recovery and deletion protection on/)
    await ddb.send(new UpdateTableCommand({ TableName: 'scalar.tx_state', DeletionProtectionEnabled: false }))
    assert.match((await verify(['--only', 'tables'])).by.tables.detail, /deletion protection is off on scalar\.tx_state/)
    await ddb.send(new DeleteTableCommand({ TableName: 'scalar.tx_state' }))
    ddb.destroy()
    const r = await verify(['--only', 'tables,pods,nodes,releases'])
    assert.deepEqual(r.failed, ['tables'])
    assert.match(r.by.tables.detail, /missing scalar\.tx_state/)
  })

  test('a node added by scaling: only the nodes check fails, naming it untainted', async () => {
    const added = sim.cli('nodes', 'add', CLUSTER, '--count', '1', '--label', 'agentpool=scalardlpool')
    assert.equal(added.code, 0)
    const name = added.stdout.trim()
    const r = await verify(['--only', 'pods,nodes,envoy,releases'])
    assert.deepEqual(r.failed, ['nodes'])
    assert.equal(r.by.nodes.detail, `untainted: ${name}`)
    assert.match(r.by.nodes.hint, /rerun 03-eks/)
  })

  test('AWS unreachable: exit 2 with the reason', async () => {
    const r = await runStep('runbooks/07-verify.ts', ['--json'], { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /cannot run: AWS is not reachable/)
    assert.equal(r.json[0].status, 'error')
  })
})
