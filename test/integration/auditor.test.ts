// 05-auditor against the simulator: refusals before any change (overlapping ranges, a Ledger
// without ledger-keys), kills during the peering, a full run and a rerun that changes nothing,
// 07-verify green on both clusters, and a teardown that leaves only the kept tables and logs and
// the client VPC it never owned.
import assert from 'node:assert/strict'
import { ApplicationAutoScalingClient, DescribeScalableTargetsCommand } from '@aws-sdk/client-application-auto-scaling'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DynamoDBClient, ListBackupsCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import {
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateTransitGatewayCommand,
  ReplaceRouteCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2'
import { EKSClient, ListClustersCommand } from '@aws-sdk/client-eks'
import { inventory } from '../helpers/inventory.ts'
import { collect, runStep, spawnStep, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { sampleLicence } from '../../sim/licence.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let ec2: EC2Client
const cfg = () => awsConfig(sim.env, 'ap-northeast-1')
const state = tempDir('rb-aud-')
const licence = sampleLicence(state)
const LEDGER = 'aud'
const AUDITOR = 'aud-auditor'

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...sim.env,
    NODE_NO_WARNINGS: '1',
    CI: 'true',
    CLUSTER_NAME: LEDGER,
    VPC_CIDR: '10.60.0.0/16',
    AUDITOR_ENABLED: 'true',
    AUDITOR_VPC_CIDR: '10.61.0.0/16',
    RUNBOOK_STATE_DIR: path.join(state, 'runbook'),
    GITHUB_USERNAME: 'octo',
    GITHUB_TOKEN: ['ghp', 'auditorTestToken000000000000000000'].join('_'),
    SCALARDL_DB_USERNAME: 'AKIAAUDITORTEST00000',
    SCALARDL_DB_PASSWORD: 'auditor-test-secret',
    LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
    LEDGER_CERTIFICATE_FILE: path.join(state, 'ledger-cert.pem'),
    AUDITOR_PRIVATE_KEY_FILE: path.join(state, 'auditor-key.pem'),
    AUDITOR_CERTIFICATE_FILE: path.join(state, 'auditor-cert.pem'),
    ...licence,
    DYNAMODB_NAMESPACE_PREFIX: 'aud_',
    ...extra,
  }
}

const tagged = async (cluster: string) => Object.values(await inventory(env(), cluster)).reduce((a, b) => a + b, 0)
const tables = async () => {
  const ddb = new DynamoDBClient(cfg())
  const names = (await ddb.send(new ListTablesCommand({}))).TableNames!.filter((t) => t.startsWith('aud_'))
  ddb.destroy()
  return names
}
const livePeerings = async () =>
  ((await ec2.send(new DescribeVpcPeeringConnectionsCommand({}))).VpcPeeringConnections ?? []).filter(
    (p) => !['deleted', 'rejected', 'failed', 'expired'].includes(p.Status?.Code ?? ''),
  )

let clientVpc = ''
/** The pod-template-hash of the Ledger's Pods before Auditor mode. */
let plainLedger = new Set<string>()
async function ledgerPods(): Promise<any[]> {
  const r = await sim.kubectl([
    '--kubeconfig',
    path.join(state, 'runbook', LEDGER, 'kubeconfig'),
    'get',
    'pods',
    '-l',
    'app.kubernetes.io/app=ledger',
    '-o',
    'json',
  ])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout).items
}
let clientRouteTables: string[] = []

before(async () => {
  sim = startSim(['--pod-start-ms', '30', '--job-duration-ms', '50', '--lb-delay-ms', '50', '--cloudwatch-interval-ms', '0'])
  ec2 = new EC2Client(cfg())
  // An application VPC the runbook does not own, with two route tables of its own.
  clientVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.62.0.0/16' }))).Vpc!.VpcId!
  clientRouteTables = await Promise.all(
    [1, 2].map(async () => (await ec2.send(new CreateRouteTableCommand({ VpcId: clientVpc }))).RouteTable!.RouteTableId!),
  )
  for (const [s, args] of [
    ['01-vpc', []],
    ['02-database', []],
    ['03-eks', []],
    ['04-scalardl', ['--generate-ledger-key']],
  ] as const) {
    // The Ledger first without the Auditor: its switch to Auditor mode is then a rollout.
    const r = await runStep(`runbooks/${s}.ts`, [...args], env(s === '04-scalardl' ? { AUDITOR_ENABLED: 'false' } : {}))
    assert.equal(r.code, 0, `${s}: ${r.stderr}`)
  }
  plainLedger = new Set((await ledgerPods()).map((p) => p.metadata.labels['pod-template-hash']))
  assert.equal(plainLedger.size, 1)
})
after(() => {
  ec2?.destroy()
  stopSim(sim)
})

describe('05-auditor against the simulator', () => {
  test('overlapping ranges: exit 2 naming the pair, before any change', async () => {
    const inside = await runStep('runbooks/05-auditor.ts', ['--json', '--generate-keys'], env({ AUDITOR_VPC_CIDR: '10.60.16.0/20' }))
    assert.equal(inside.code, 2, inside.stderr)
    assert.match(inside.stderr, /VPC_CIDR 10\.60\.0\.0\/16 and AUDITOR_VPC_CIDR 10\.60\.16\.0\/20 overlap/)
    // A client VPC overlapping the Auditor's range: found through AWS, still refused before any change.
    const overlapping = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.61.0.0/16' }))).Vpc!.VpcId!
    const client = await runStep('runbooks/05-auditor.ts', ['--json', '--generate-keys'], env({ CLIENT_VPC_IDS: overlapping }))
    assert.equal(client.code, 2, client.stderr)
    assert.match(
      client.stderr,
      new RegExp(`CLIENT_VPC_IDS: AUDITOR_VPC_CIDR 10\\.61\\.0\\.0/16 and client VPC ${overlapping} 10\\.61\\.0\\.0/16 overlap`),
    )
    const unknown = await runStep('runbooks/05-auditor.ts', ['--generate-keys'], env({ CLIENT_VPC_IDS: 'vpc-0123456789abcdef0' }))
    assert.equal(unknown.code, 2, unknown.stderr)
    assert.match(unknown.stderr, /CLIENT_VPC_IDS: .*does not exist|not found/)
    const both = await runStep('runbooks/05-auditor.ts', ['--prepare', '--prepared', '--generate-keys'], env({}))
    assert.equal(both.code, 2, both.stderr)
    assert.match(both.stderr, /--prepare: and --prepared exclude each other/)
    assert.equal(await tagged(AUDITOR), 0, 'no Auditor resource was made')
    assert.equal((await livePeerings()).length, 0)
    assert.equal(inside.json.problems[0].key, 'AUDITOR_VPC_CIDR')
  })

  test('a Ledger without Asset Proofs or without ledger-keys: 05 refuses with the reason', async () => {
    const off = await runStep('runbooks/05-auditor.ts', ['--generate-keys'], env({ LEDGER_PROOF_ENABLED: 'false' }))
    assert.equal(off.code, 2, off.stderr)
    assert.match(off.stderr, /LEDGER_PROOF_ENABLED: is false but AUDITOR_ENABLED=true: the Auditor needs the Ledger's Asset Proofs/)
    // ScalarDL Auditor is Enterprise: no licence, or a Ledger's, is refused before any change (also with --prepare).
    for (const args of [['--generate-keys'], ['--prepare', '--generate-keys']]) {
      const noLicence = await runStep('runbooks/05-auditor.ts', ['--json', ...args], env({ SCALARDL_AUDITOR_LICENSE_KEY: '' }))
      assert.equal(noLicence.code, 2, noLicence.stderr)
      assert.ok(
        noLicence.json.problems.some((p: any) => p.key === 'SCALARDL_AUDITOR_LICENSE_KEY' && /scalar-licensing\/trial/.test(p.fix)),
        noLicence.stdout,
      )
    }
    const wrong = await runStep(
      'runbooks/05-auditor.ts',
      ['--json'],
      env({ SCALARDL_AUDITOR_LICENSE_KEY: '{"product_name":"ScalarDL Ledger","license_type":"trial","signature":"s3cr3t-sig"}' }),
    )
    assert.equal(wrong.code, 2)
    assert.match(wrong.stdout, /not for ScalarDL Auditor/)
    assert.ok(!wrong.stdout.includes('s3cr3t-sig') && !wrong.stderr.includes('s3cr3t-sig'), 'the key is never echoed')
    // The secret gone from the Ledger's cluster: refused at the prerequisite, nothing of the Auditor made.
    const kubeconfig = path.join(state, 'runbook', LEDGER, 'kubeconfig')
    const del = await sim.kubectl(['--kubeconfig', kubeconfig, 'delete', 'secret', 'ledger-keys', '-n', 'default'])
    assert.equal(del.code, 0, del.stderr)
    const missing = await runStep('runbooks/05-auditor.ts', ['--json', '--generate-keys'], env())
    assert.equal(missing.code, 1, missing.stderr)
    assert.match(missing.stderr, /the Ledger has no ledger-keys secret in namespace default/)
    assert.match(missing.stderr, /run 04-scalardl/)
    assert.equal(await tagged(AUDITOR), 0, 'no Auditor resource was made')
    const again = await runStep('runbooks/04-scalardl.ts', [], env())
    assert.equal(again.code, 0, again.stderr)
  })

  test('--dry-run plans the whole Auditor and changes nothing: no key file, VPC, peering, cluster or release', async () => {
    const fs = await import('node:fs')
    // Every file of the state directory (keys, rendered values, kubeconfigs) as it was.
    const files = () =>
      (fs.readdirSync(state, { recursive: true }) as string[])
        .filter((f) => !f.endsWith('journal.jsonl'))
        .map((f) => `${f}:${fs.statSync(path.join(state, f)).mtimeMs}`)
        .sort()
    const before = files()
    const r = await runStep('runbooks/05-auditor.ts', ['--json', '--dry-run', '--generate-keys'], env({ CLIENT_VPC_IDS: clientVpc }))
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'planned')
    assert.equal(r.json.summary.failed, 0)
    for (const title of [
      /^VPC peering/,
      /^Auditor: EKS cluster$/,
      /^Auditor: Scalar DL Auditor and Envoy release/,
      /^Certificates registered/,
    ])
      assert.ok(
        r.json.tasks.some((t: { title: string; status: string }) => title.test(t.title) && t.status === 'planned'),
        String(title),
      )
    assert.deepEqual(files(), before, 'no file written or changed')
    assert.equal(await tagged(AUDITOR), 0)
    assert.equal((await livePeerings()).length, 0)
    const eks = new EKSClient(cfg())
    assert.deepEqual((await eks.send(new ListClustersCommand({}))).clusters, [LEDGER])
    eks.destroy()
  })

  test('killed during the peering and rerun: one active connection per pair, no duplicate routes; a rerun changes nothing', async () => {
    const e = env({ CLIENT_VPC_IDS: clientVpc })
    // Kill right after the task before the peering reports, at seeded offsets, twice.
    const killed: string[] = []
    for (const delay of [0, 40]) {
      const child = spawnStep('runbooks/05-auditor.ts', ['--generate-keys'], e)
      const done = collect(child)
      let timer: NodeJS.Timeout | undefined
      child.stderr!.on('data', (d: Buffer) => {
        if (!timer && /Gateway VPC endpoint for DynamoDB|VPC peering: Ledger<->Auditor/.test(String(d)))
          timer = setTimeout(() => child.kill('SIGKILL'), delay)
      })
      const r = await done
      clearTimeout(timer)
      killed.push(`${delay}ms: ${r.signal ?? `exit ${r.code}`}`)
    }
    const full = await runStep('runbooks/05-auditor.ts', ['--json', '--generate-keys'], e)
    assert.equal(full.code, 0, `${killed.join(', ')}\n${full.stderr}`)
    // Each certificate Job reaches its own cluster's envoy by its Service name, the other's by its load balancer.
    const ledgerKc = path.join(state, 'runbook', LEDGER, 'kubeconfig')
    const jobs = JSON.parse(
      (await sim.kubectl(['--kubeconfig', ledgerKc, 'get', 'jobs', '-l', 'scalardl-runbook/register-cert=ledger', '-o', 'json'])).stdout,
    ).items
    const props = jobs[0].spec.template.spec.containers[0].env.find((e: any) => e.name === 'CLIENT_PROPERTIES').value
    assert.match(props, /^scalar\.dl\.client\.server\.host=my-release-scalardl-envoy\.default\.svc\.cluster\.local$/m)
    assert.match(props, /^scalar\.dl\.client\.auditor\.host=\S+\.elb\.ap-northeast-1\.amazonaws\.com$/m)
    // Auditor mode changed the Ledger's properties: every Ledger Pod rolled to the new template.
    const ledger = await ledgerPods()
    const hashes = new Set(ledger.map((p) => p.metadata.labels['pod-template-hash']))
    assert.equal(ledger.length, 3)
    assert.equal(hashes.size, 1, 'one template')
    assert.ok(![...hashes].some((h) => plainLedger.has(h)), 'not the template from before Auditor mode')
    const rerun = await runStep('runbooks/05-auditor.ts', ['--json'], e)
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.equal(rerun.json.summary.changed, 0, rerun.stderr)
    assert.equal(rerun.json.status, 'ok')

    // Exactly the guide's three connections, all active, one per pair of VPCs.
    const vpcs = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:scalardl-runbook/role', Values: ['vpc'] }] }))).Vpcs!
    const ledgerVpc = vpcs.find((v) => v.Tags?.some((t) => t.Value === LEDGER))!
    const auditorVpc = vpcs.find((v) => v.Tags?.some((t) => t.Value === AUDITOR))!
    const peerings = await livePeerings()
    assert.equal(peerings.length, 3, JSON.stringify(peerings.map((p) => [p.VpcPeeringConnectionId, p.Status?.Code])))
    assert.ok(peerings.every((p) => p.Status?.Code === 'active'))
    const pairs = peerings.map((p) => [p.RequesterVpcInfo!.VpcId, p.AccepterVpcInfo!.VpcId].sort().join(' ')).sort()
    assert.deepEqual(
      pairs,
      [
        [ledgerVpc.VpcId, auditorVpc.VpcId],
        [ledgerVpc.VpcId, clientVpc],
        [auditorVpc.VpcId, clientVpc],
      ]
        .map((x) => x.sort().join(' '))
        .sort(),
    )

    // Every route table on every side routes once to each peer, through an active connection.
    const active = new Set(peerings.map((p) => p.VpcPeeringConnectionId))
    const peersOf: Record<string, string[]> = {
      [ledgerVpc.VpcId!]: ['10.61.0.0/16', '10.62.0.0/16'],
      [auditorVpc.VpcId!]: ['10.60.0.0/16', '10.62.0.0/16'],
      [clientVpc]: ['10.60.0.0/16', '10.61.0.0/16'],
    }
    for (const [vpcId, cidrs] of Object.entries(peersOf)) {
      const tables = (
        await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))
      ).RouteTables!.filter((t) => !t.Associations?.some((a) => a.Main) || vpcId === clientVpc)
      const expected = vpcId === clientVpc ? clientRouteTables : tables.map((t) => t.RouteTableId)
      for (const t of tables.filter((x) => expected.includes(x.RouteTableId))) {
        for (const cidr of cidrs) {
          const routes = (t.Routes ?? []).filter((r) => r.DestinationCidrBlock === cidr)
          assert.equal(routes.length, 1, `${t.RouteTableId} in ${vpcId}: ${routes.length} routes to ${cidr}`)
          assert.ok(
            active.has(routes[0]!.VpcPeeringConnectionId),
            `${t.RouteTableId}: route to ${cidr} through ${routes[0]!.VpcPeeringConnectionId}`,
          )
        }
      }
    }

    // Monitoring on both clusters, one CloudWatch feed tick each, then 07-verify: every check
    // green, the Auditor's and the peering's included.
    const mon = await runStep('runbooks/06-monitoring.ts', ['--json'], e)
    assert.equal(mon.code, 0, mon.stderr)
    assert.ok(
      mon.json.tasks.some(
        (t: { title: string; status: string }) => t.title.startsWith('Auditor: Container Insights') && t.status === 'changed',
      ),
      mon.stderr,
    )
    for (const c of [LEDGER, AUDITOR]) assert.equal(sim.cli('cloudwatch', 'tick', c).code, 0)
    const verify = await runStep('runbooks/07-verify.ts', ['--json'], e)
    assert.equal(verify.code, 0, verify.stderr)
    const names = verify.json.map((c: { name: string }) => c.name)
    for (const n of ['auditor', 'peering', 'pods', 'envoy', 'tables']) assert.ok(names.includes(n), n)
    assert.ok(
      verify.json.every((c: { status: string }) => c.status === 'pass'),
      verify.stderr,
    )
    assert.match(verify.json.find((c: { name: string }) => c.name === 'peering').detail, /3 connection\(s\) active/)

    // Someone routes the Ledger's range in a client table through their transit gateway: 07 says
    // the client is cut off, and 05 stops naming the route instead of overwriting it.
    const tgw = (await ec2.send(new CreateTransitGatewayCommand({}))).TransitGateway!.TransitGatewayId!
    const table = clientRouteTables[0]!
    const ours = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [table] }))).RouteTables![0]!.Routes!.find(
      (r) => r.DestinationCidrBlock === '10.60.0.0/16',
    )!.VpcPeeringConnectionId!
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: table, DestinationCidrBlock: '10.60.0.0/16', TransitGatewayId: tgw }))
    const cut = await runStep('runbooks/07-verify.ts', ['--json', '--only', 'peering'], e)
    assert.equal(cut.code, 1)
    assert.match(
      cut.json[0].detail,
      new RegExp(`${table} has no route to 10\\.60\\.0\\.0/16 through pcx-[0-9a-f]+ \\(it routes it to ${tgw}, not the runbook's\\)`),
    )
    const refused = await runStep('runbooks/05-auditor.ts', ['--json'], e)
    assert.equal(refused.code, 1, refused.stderr)
    const routesTask = refused.json.tasks.find((t: { title: string }) => /^Routes to each peer/.test(t.title))
    assert.equal(routesTask.status, 'failed')
    assert.match(
      routesTask.detail,
      new RegExp(`route table ${table} already routes 10\\.60\\.0\\.0/16 to ${tgw}: a route this runbook did not make`),
    )
    const after = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [table] }))).RouteTables![0]!.Routes!.find(
      (r) => r.DestinationCidrBlock === '10.60.0.0/16',
    )!
    assert.equal(after.TransitGatewayId, tgw, 'their route is untouched')
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: table, DestinationCidrBlock: '10.60.0.0/16', VpcPeeringConnectionId: ours }))
  })

  test('teardown removes both sides and the peering, keeps the client VPC, untagged resources, the tables and the logs; --delete-data backs up first', async () => {
    const e = env({ CLIENT_VPC_IDS: clientVpc })
    // Resources the runbook did not make: they must survive.
    const foreignVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.99.0.0/16' }))).Vpc!.VpcId!
    const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: foreignVpc, CidrBlock: '10.99.0.0/24' }))).Subnet!.SubnetId!
    const foreignInstance = (
      await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, SubnetId: subnet }))
    ).Instances![0]!.InstanceId!
    const r = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', LEDGER], e)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await tagged(LEDGER), 0, JSON.stringify(await inventory(e, LEDGER)))
    assert.equal(await tagged(AUDITOR), 0, JSON.stringify(await inventory(e, AUDITOR)))
    assert.equal((await livePeerings()).length, 0)
    const eks = new EKSClient(cfg())
    assert.deepEqual((await eks.send(new ListClustersCommand({}))).clusters, [])
    eks.destroy()
    assert.deepEqual(JSON.parse(sim.cli('status').stdout).clusters, [], 'no cluster left in the fake API server')
    const client = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: clientRouteTables }))).RouteTables!
    assert.equal(client.length, 2, 'the client VPC route tables survive')
    assert.ok(
      client.every((t) => !(t.Routes ?? []).some((x) => x.VpcPeeringConnectionId)),
      'no route to a deleted peering is left in the client VPC',
    )
    assert.match(r.json.tasks.find((t: { title: string }) => /DynamoDB tables/.test(t.title)).detail, /^kept \d+ table/)
    assert.ok((await tables()).length >= 15, 'the Ledger and Auditor tables are kept by default')
    assert.equal((await ec2.send(new DescribeVpcsCommand({ VpcIds: [foreignVpc] }))).Vpcs!.length, 1, 'the untagged VPC survives')
    assert.equal(
      (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [foreignInstance] }))).Reservations![0]!.Instances![0]!.State?.Name,
      'running',
      'the untagged instance survives',
    )
    const second = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', LEDGER], e)
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.json.status, 'ok')
    assert.equal(second.json.summary.changed, 0)

    const data = await runStep('runbooks/99-teardown.ts', ['--json', '--yes', '--confirm', LEDGER, '--delete-data', '--delete-logs'], e)
    assert.equal(data.code, 0, data.stderr)
    assert.deepEqual(await tables(), [])
    const ddb = new DynamoDBClient(cfg())
    const backups = (await ddb.send(new ListBackupsCommand({}))).BackupSummaries!.filter((b) => b.TableName?.startsWith('aud_'))
    ddb.destroy()
    assert.ok(backups.length >= 15, `every table was backed up first (${backups.length})`)
    assert.match(data.json.tasks.find((t: { title: string }) => /DynamoDB tables/.test(t.title)).detail, /backups: arn:aws:dynamodb:/)
    // The Ledger's and the Auditor's tables had auto scaling from their schema loaders; none is left.
    assert.match(
      data.json.tasks.find((t: { title: string }) => /^Auto scaling of the runbook's tables/.test(t.title)).detail,
      /^deregistered \d+/,
    )
    const aas = new ApplicationAutoScalingClient(cfg())
    const left = ((await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'dynamodb' }))).ScalableTargets ?? []).filter(
      (t) => t.ResourceId!.startsWith('table/aud_'),
    )
    aas.destroy()
    assert.deepEqual(left, [])
  })
})
