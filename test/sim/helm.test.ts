// Contract tests of the helm stand-in and the simulated Scalar charts: flags, exit codes, JSON
// shapes, error messages; what the charts make in the fake API, and the schema loader's tables
// in moto, read back with the real kubectl and the real AWS SDK.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import YAML from 'yaml'
import { DescribeContinuousBackupsCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { stopSim, eventually, runIn, startSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
let ddb: DynamoDBClient

const helm = (args: string[]) => runIn(sim, 'helm', args)
const kubectl = async (args: string[], input?: string) => {
  const r = await sim.kubectl(args, { input })
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const values = (name: string, yaml: string) => {
  const file = path.join(sim.dir, name)
  fs.writeFileSync(file, yaml)
  return file
}
const TOLERATE = `tolerations: [{key: kubernetes.io/app, operator: Equal, value: scalardlpool, effect: NoSchedule}]
  nodeSelector: {agentpool: scalardlpool}`

before(async () => {
  sim = startSim(['--pod-start-ms', '100', '--job-duration-ms', '200', '--lb-delay-ms', '200'])
  const c = sim.cli(
    'cluster',
    'create',
    'ledger',
    '--nodes',
    '3',
    '--label',
    'agentpool=scalardlpool',
    '--taint',
    'kubernetes.io/app=scalardlpool:NoSchedule',
  )
  assert.equal(c.code, 0, c.stderr)
  ddb = new DynamoDBClient(awsConfig(sim.env, 'ap-northeast-1'))
})
after(() => {
  stopSim(sim)
  ddb.destroy()
})

describe('helm stand-in', () => {
  test('version, repo add (idempotent; another URL under the same name refused), search', async () => {
    assert.match((await helm(['version', '--short'])).stdout, /^v3\.\d+\.\d+\+g[0-9a-f]{7}\n$/)
    assert.equal((await helm(['version', '--template', '{{.Version}}'])).stdout.trim(), 'v3.16.4')
    const add = await helm(['repo', 'add', 'scalar-labs', 'https://scalar-labs.github.io/helm-charts'])
    assert.equal(add.stdout, '"scalar-labs" has been added to your repositories\n')
    const again = await helm(['repo', 'add', 'scalar-labs', 'https://scalar-labs.github.io/helm-charts'])
    assert.equal(again.code, 0)
    assert.match(again.stdout, /already exists with the same configuration, skipping/)
    const other = await helm([
      'repo',
      'add',
      'scalar-labs',
      'https://scalar-labs.github.io/helm-charts/'.replace('scalar-labs.github.io', 'example.invalid'),
    ])
    assert.equal(other.code, 1)
    const update = await helm(['repo', 'update'])
    assert.match(update.stdout, /Successfully got an update from the "scalar-labs" chart repository/)
    const found = JSON.parse((await helm(['search', 'repo', 'scalar-labs', '-l', '-o', 'json'])).stdout)
    assert.ok(found.some((c: any) => c.name === 'scalar-labs/scalardl' && c.version === '4.12.0' && c.app_version === '3.13.0'))
    assert.ok(found.some((c: any) => c.name === 'scalar-labs/scalardl-audit'))
    assert.ok(found.filter((c: any) => c.name === 'scalar-labs/schema-loading').length > 1)
  })

  test('an older helm (SIM_HELM_VERSION): reports its version and refuses the flags it lacks', () => {
    const old = (args: string[]) => spawnSync('helm', args, { env: { ...sim.env, SIM_HELM_VERSION: 'v3.12.3' }, encoding: 'utf8' })
    assert.match(old(['version', '--short']).stdout, /^v3\.12\.3\+g/)
    const r = old(['uninstall', 'nothing', '--ignore-not-found'])
    assert.equal(r.status, 1)
    assert.equal(r.stderr, 'Error: unknown flag: --ignore-not-found\n')
    assert.match(old(['uninstall', 'nothing']).stderr, /Error: uninstall: Release not loaded: nothing: release: not found/)
  })

  test('bad input: unknown repo, unknown version, wrong value types, missing namespace', async () => {
    const repo = await helm(['upgrade', '--install', 'x', 'nope/scalardl'])
    assert.match(repo.stderr, /Error: repo nope not found/)
    const version = await helm(['upgrade', '--install', 'x', 'scalar-labs/scalardl', '--version', '9.9.9'])
    assert.match(version.stderr, /chart "scalardl" matching 9\.9\.9 not found in scalar-labs index/)
    const types = await helm(['upgrade', '--install', 'x', 'scalar-labs/scalardl', '--set', 'ledger.replicaCount=three'])
    assert.equal(types.code, 1)
    assert.match(
      types.stderr,
      /values don't meet the specifications of the schema\(s\) in the following chart\(s\):\nscalardl:\n- ledger\.replicaCount: Invalid type\. Expected: integer, given: string/,
    )
    const ns = await helm(['upgrade', '--install', 'x', 'scalar-labs/scalardl', '-n', 'absent'])
    assert.match(ns.stderr, /namespaces "absent" not found/)
    assert.deepEqual(JSON.parse((await helm(['ls', '-a', '-o', 'json'])).stdout), [])
  })

  test('schema-loading: the Job has no toleration, so it waits on an all-tainted cluster; on an untainted node it loads the tables into DynamoDB', async () => {
    // Credentials as Scalar's docs pass them: a Secret whose keys are variables, given by secretName
    // (envFrom), named in the properties in the dockerize syntax the loader's entrypoint renders.
    await kubectl(
      ['apply', '-f', '-'],
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db-creds' },
        stringData: {
          SCALAR_DB_USERNAME: 'AKIAHELMTEST00000000',
          SCALAR_DB_PASSWORD: 'helm-test-secret',
          'db-username': 'AKIAHELMTEST00000000',
          'db-password': 'helm-test-secret',
        },
      }),
    )
    const file = values(
      'schema.yaml',
      `schemaLoading:\n  schemaType: ledger\n  existingSecret: db-creds\n  secretName: db-creds\n  databaseProperties: |\n    scalar.db.storage=dynamo\n    scalar.db.contact_points=ap-northeast-1\n    scalar.db.username={{ default .Env.SCALAR_DB_USERNAME "" }}\n    scalar.db.password={{ default .Env.SCALAR_DB_PASSWORD "" }}\n    scalar.db.dynamo.namespace.prefix=prod_\n`,
    )
    const stuck = await helm([
      'upgrade',
      '--install',
      'load-schema',
      'scalar-labs/schema-loading',
      '--version',
      '2.14.0',
      '-f',
      file,
      '--wait',
      '--wait-for-jobs',
      '--timeout',
      '2s',
    ])
    assert.equal(stuck.code, 1)
    assert.match(stuck.stderr, /Error: INSTALLATION FAILED: context deadline exceeded/)
    assert.equal(JSON.parse((await helm(['ls', '-a', '-o', 'json'])).stdout)[0].status, 'failed')
    const pod = JSON.parse(await kubectl(['get', 'pods', '-l', 'job-name=load-schema-schema-loading', '-o', 'json'])).items[0]
    assert.match(pod.status.conditions[0].message, /untolerated taint \{kubernetes\.io\/app: scalardlpool\}/)
    assert.equal(sim.cli('nodes', 'add', 'ledger', '--count', '1', '--label', 'role=system').code, 0)
    const done = await helm([
      'upgrade',
      '--install',
      'load-schema',
      'scalar-labs/schema-loading',
      '--version',
      '2.14.0',
      '-f',
      file,
      '--wait',
      '--wait-for-jobs',
      '--timeout',
      '20s',
    ])
    assert.equal(done.code, 0, done.stderr)
    const tables = (await ddb.send(new ListTablesCommand({}))).TableNames!
    for (const t of [
      'scalar.asset',
      'scalar.asset_metadata',
      'scalar.certificate',
      'scalar.contract',
      'scalar.contract_class',
      'scalar.function',
      'scalar.tx_state',
      'coordinator.state',
      'scalardb.metadata',
    ])
      assert.ok(tables.includes(`prod_${t}`), `prod_${t} exists`)
    const pitr = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'prod_scalar.asset' }))
    assert.equal(pitr.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus, 'ENABLED')
    const ls = JSON.parse((await helm(['ls', '-a', '-o', 'json'])).stdout)
    assert.deepEqual(Object.keys(ls[0]).sort(), ['app_version', 'chart', 'name', 'namespace', 'revision', 'status', 'updated'])
    assert.deepEqual([ls[0].name, ls[0].revision, ls[0].status, ls[0].chart], ['load-schema', '2', 'deployed', 'schema-loading-2.14.0'])
    assert.match(ls[0].updated, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC$/)
    // The same values again: nothing to change on the Job. Other values: Kubernetes refuses to change a Job.
    assert.equal(
      (await helm(['upgrade', '--install', 'load-schema', 'scalar-labs/schema-loading', '--version', '2.14.0', '-f', file])).code,
      0,
    )
    const changed = await helm([
      'upgrade',
      '--install',
      'load-schema',
      'scalar-labs/schema-loading',
      '--version',
      '2.14.0',
      '-f',
      file,
      '--set',
      'schemaLoading.commandArgs[0]=--no-backup',
    ])
    assert.equal(changed.code, 1)
    assert.match(changed.stderr, /UPGRADE FAILED: cannot patch "load-schema-schema-loading" with kind Job: .*field is immutable/)
  })

  test('scalardl with proof enabled and no ledger-keys: Ledger pods stuck in ContainerCreating; with the secret: Running; envoy gets a hostname', async () => {
    const file = values(
      'ledger.yaml',
      `envoy:
  service:
    type: LoadBalancer
    annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}
  ${TOLERATE}
ledger:
  imagePullSecrets: [{name: reg-docker-secrets}]
  ${TOLERATE}
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app.kubernetes.io/app: ledger}}
        topologyKey: kubernetes.io/hostname
  scalarLedgerConfiguration:
    dbStorage: dynamo
    dbContactPoints: ap-northeast-1
    dbUsername: AKIAHELMTEST00000000
    dbPassword: helm-test-secret
    ledgerProofEnabled: true
`,
    )
    const noPull = await helm([
      'upgrade',
      '--install',
      'my-release-scalardl',
      'scalar-labs/scalardl',
      '--version',
      '4.12.0',
      '-f',
      file,
      '--wait',
      '--timeout',
      '2s',
    ])
    assert.equal(noPull.code, 1)
    const ledgerPods = async () =>
      JSON.parse(await kubectl(['get', 'pods', '-l', 'app.kubernetes.io/app=ledger', '-o', 'json'])).items as any[]
    await eventually(
      async () => (await ledgerPods()).every((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff') && true,
      'ImagePullBackOff without reg-docker-secrets',
    )
    await kubectl([
      'create',
      'secret',
      'docker-registry',
      'reg-docker-secrets',
      '--docker-server=ghcr.io',
      '--docker-username=u',
      '--docker-password=p',
    ])
    await eventually(
      async () =>
        (await ledgerPods()).every((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating') && true,
      'ContainerCreating without ledger-keys',
    )
    const events = await kubectl(['get', 'events'])
    assert.match(events, /secret "ledger-keys" not found/)
    await kubectl(['create', 'secret', 'generic', 'ledger-keys', '--from-literal=private-key=PEM'])
    const ok = await helm([
      'upgrade',
      '--install',
      'my-release-scalardl',
      'scalar-labs/scalardl',
      '--version',
      '4.12.0',
      '-f',
      file,
      '--wait',
      '--timeout',
      '30s',
      '-o',
      'json',
    ])
    assert.equal(ok.code, 0, ok.stderr)
    const rel = JSON.parse(ok.stdout)
    assert.deepEqual([rel.name, rel.version, rel.info.status, rel.chart.metadata.version], ['my-release-scalardl', 2, 'deployed', '4.12.0'])
    const pods = await ledgerPods()
    assert.equal(pods.length, 3)
    assert.equal(new Set(pods.map((p) => p.spec.nodeName)).size, 3)
    const names = (await kubectl(['get', 'deploy,svc', '-o', 'name'])).trim().split('\n')
    for (const n of [
      'deployment.apps/my-release-scalardl-ledger',
      'deployment.apps/my-release-scalardl-envoy',
      'service/my-release-scalardl-envoy',
      'service/my-release-scalardl-envoy-metrics',
      'service/my-release-scalardl-headless',
      'service/my-release-scalardl-metrics',
    ])
      assert.ok(names.includes(n), n)
    const svc = JSON.parse(await kubectl(['get', 'svc', 'my-release-scalardl-envoy', '-o', 'json']))
    assert.deepEqual(
      svc.spec.ports.map((p: any) => [p.name, p.port]),
      [
        ['envoy', 50051],
        ['envoy-priv', 50052],
      ],
    )
    assert.match(svc.status.loadBalancer.ingress[0].hostname, /\.elb\.ap-northeast-1\.amazonaws\.com$/)
    const headless = JSON.parse(await kubectl(['get', 'svc', 'my-release-scalardl-headless', '-o', 'json']))
    assert.equal(headless.spec.clusterIP, 'None')
    const props = JSON.parse(await kubectl(['get', 'cm', 'my-release-scalardl-ledger-properties', '-o', 'json'])).data[
      'ledger.properties.tmpl'
    ]
    // The chart's default properties: a dockerize template over the HELM_* variables it sets.
    assert.match(props, /^scalar\.dl\.ledger\.proof\.enabled=\{\{ default \.Env\.HELM_SCALAR_DL_LEDGER_PROOF_ENABLED "" \}\}$/m)
    const env = pods[0].spec.containers[0].env
    assert.deepEqual(
      env.find((e: any) => e.name === 'HELM_SCALAR_DL_LEDGER_PROOF_PRIVATE_KEY_PATH'),
      { name: 'HELM_SCALAR_DL_LEDGER_PROOF_PRIVATE_KEY_PATH', value: '/keys/private-key' },
    )
    const status = JSON.parse((await helm(['status', 'my-release-scalardl', '-o', 'json'])).stdout)
    assert.equal(status.info.status, 'deployed')
    assert.equal(status.version, 2)
    assert.deepEqual(
      JSON.parse((await helm(['get', 'values', 'my-release-scalardl', '-o', 'json'])).stdout).ledger.scalarLedgerConfiguration
        .ledgerProofEnabled,
      true,
    )
    // The failed first revision stays failed; helm supersedes only deployed ones.
    const history = JSON.parse(await kubectl(['get', 'secrets', '-l', 'owner=helm,name=my-release-scalardl', '-o', 'json'])).items
    assert.deepEqual(history.map((s: any) => [s.metadata.name, s.type, s.metadata.labels.status]).sort(), [
      ['sh.helm.release.v1.my-release-scalardl.v1', 'helm.sh/release.v1', 'failed'],
      ['sh.helm.release.v1.my-release-scalardl.v2', 'helm.sh/release.v1', 'deployed'],
    ])
  })

  test('scalardl-audit: names, Auditor ports, and auditor-keys required', async () => {
    const file = values(
      'auditor.yaml',
      `envoy:\n  service: {type: LoadBalancer}\n  ${TOLERATE}\nauditor:\n  replicaCount: 1\n  ${TOLERATE}\n  scalarAuditorConfiguration: {dbStorage: dynamo, dbContactPoints: ap-northeast-1, auditorLedgerHost: ledger.example}\n`,
    )
    assert.equal(
      (await helm(['upgrade', '--install', 'my-release-scalar-audit', 'scalar-labs/scalardl-audit', '--version', '2.12.0', '-f', file]))
        .code,
      0,
    )
    const pod = await eventually(
      async () => JSON.parse(await kubectl(['get', 'pods', '-l', 'app.kubernetes.io/app=auditor', '-o', 'json'])).items[0],
      'an auditor pod',
    )
    assert.match(pod.metadata.name, /^my-release-scalar-audit-scalardl-audit-auditor-/)
    await eventually(
      async () =>
        JSON.parse(await kubectl(['get', 'pods', '-l', 'app.kubernetes.io/app=auditor', '-o', 'json'])).items[0].status
          .containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating',
      'ContainerCreating without auditor-keys',
    )
    const svc = JSON.parse(await kubectl(['get', 'svc', 'my-release-scalar-audit-scalardl-audit-envoy', '-o', 'json']))
    assert.deepEqual(
      svc.spec.ports.map((p: any) => p.port),
      [40051, 40052],
    )
    const headless = JSON.parse(await kubectl(['get', 'svc', 'my-release-scalar-audit-scalardl-audit-headless', '-o', 'json']))
    // The chart ranges over auditor.service.ports: Go visits map keys in sorted order.
    assert.deepEqual(
      headless.spec.ports.map((p: any) => [p.name, p.port]),
      [
        ['scalardl-auditor', 40051],
        ['scalardl-auditor-admin', 40053],
        ['scalardl-auditor-priv', 40052],
      ],
    )
  })

  test('a helm killed mid-upgrade leaves the release pending-upgrade: upgrade refuses, history shows it, rollback settles it', async () => {
    const file = path.join(sim.dir, 'auditor.yaml')
    // Without auditor-keys the Pods never become ready, so --wait keeps the revision pending.
    const child = spawn(
      'helm',
      [
        'upgrade',
        'my-release-scalar-audit',
        'scalar-labs/scalardl-audit',
        '--version',
        '2.12.0',
        '-f',
        file,
        '--set',
        'auditor.replicaCount=2',
        '--wait',
        '--timeout',
        '5m',
      ],
      { env: sim.env, stdio: 'ignore' },
    )
    const closed = new Promise((r) => child.on('close', r))
    const revisions = async () =>
      JSON.parse((await helm(['history', 'my-release-scalar-audit', '-o', 'json'])).stdout) as {
        revision: number
        status: string
        description: string
      }[]
    await eventually(async () => (await revisions()).at(-1)?.status === 'pending-upgrade', 'revision 2 pending-upgrade')
    child.kill('SIGKILL')
    await closed
    const blocked = await helm(['upgrade', 'my-release-scalar-audit', 'scalar-labs/scalardl-audit', '--version', '2.12.0', '-f', file])
    assert.equal(blocked.code, 1)
    assert.match(blocked.stderr, /UPGRADE FAILED: another operation \(install\/upgrade\/rollback\) is in progress/)
    const back = await helm(['rollback', 'my-release-scalar-audit', '1'])
    assert.equal(back.code, 0, back.stderr)
    assert.equal(back.stdout, 'Rollback was a success! Happy Helming!\n')
    assert.deepEqual(
      (await revisions()).map((r) => [r.revision, r.status]),
      [
        [1, 'superseded'],
        [2, 'superseded'],
        [3, 'deployed'],
      ],
    )
    assert.equal((await revisions()).at(-1)!.description, 'Rollback to 1')
    assert.equal(JSON.parse((await helm(['get', 'values', 'my-release-scalar-audit', '-o', 'json'])).stdout).auditor.replicaCount, 1)
    assert.equal(
      JSON.parse(await kubectl(['get', 'deploy', 'my-release-scalar-audit-scalardl-audit-auditor', '-o', 'json'])).spec.replicas,
      1,
    )
    const missing = await helm(['history', 'nope', '-o', 'json'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /release: not found/)
  })

  test('uninstall removes the objects and the history; a missing release is an error unless --ignore-not-found', async () => {
    assert.match((await helm(['uninstall', 'my-release-scalar-audit'])).stdout, /release "my-release-scalar-audit" uninstalled/)
    assert.equal((await sim.kubectl(['get', 'deploy', 'my-release-scalar-audit-scalardl-audit-auditor'])).code, 1)
    assert.equal(
      JSON.parse(await kubectl(['get', 'secrets', '-l', 'owner=helm,name=my-release-scalar-audit', '-o', 'json'])).items.length,
      0,
    )
    const again = await helm(['uninstall', 'my-release-scalar-audit'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /Error: uninstall: Release not loaded: my-release-scalar-audit: release: not found/)
    assert.equal((await helm(['uninstall', 'my-release-scalar-audit', '--ignore-not-found'])).code, 0)
    const missing = await helm(['status', 'nope', '-o', 'json'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /release: not found/)
  })
})
