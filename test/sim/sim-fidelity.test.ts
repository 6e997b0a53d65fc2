// The simulated charts and containers behave as the real ones (scalar-labs/helm-charts at
// scalardl-4.12.0 / scalardl-audit-2.12.0 / schema-loading-2.14.0, ScalarDL v3.13.0, Kubernetes'
// Deployment controller and kubelet), driven through the helm stand-in and the real kubectl: the
// mistakes the runbook once made fail here as they would on EKS.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import YAML from 'yaml'
import { eventually, runIn, startSim, stopSim, type Sim } from '../helpers/sim.ts'

let sim: Sim
const KEY = 'AKIAFIDELITYTEST0000'
const SECRET = 'fidelity-test-secret'
const helm = (args: string[]) => runIn(sim, 'helm', args)
const kubectl = async (args: string[], input?: string) => {
  const r = await sim.kubectl(args, { input })
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const apply = (o: object) => kubectl(['apply', '-f', '-'], YAML.stringify(o))
const json = async (args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json']))
const file = (name: string, values: object) => {
  const f = path.join(sim.dir, name)
  fs.writeFileSync(f, YAML.stringify(values))
  return f
}
const POOL = {
  nodeSelector: { agentpool: 'scalardlpool' },
  tolerations: [{ key: 'kubernetes.io/app', operator: 'Equal', value: 'scalardlpool', effect: 'NoSchedule' }],
}
const oneePerNode = (app: string) => ({
  podAntiAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: { 'app.kubernetes.io/app': app } }, topologyKey: 'kubernetes.io/hostname' },
    ],
  },
})
const podsOf = async (app: string) => (await json(['get', 'pods', '-l', `app.kubernetes.io/app=${app}`])).items as any[]
const waiting = (p: any) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason

before(async () => {
  sim = startSim(['--pod-start-ms', '100', '--job-duration-ms', '200', '--lb-delay-ms', '200'])
  const c = sim.cli(
    'cluster',
    'create',
    'fid',
    '--nodes',
    '3',
    '--label',
    'agentpool=scalardlpool',
    '--taint',
    'kubernetes.io/app=scalardlpool:NoSchedule',
  )
  assert.equal(c.code, 0, c.stderr)
  assert.equal(sim.cli('nodes', 'add', 'fid', '--count', '1', '--label', 'role=system').code, 0)
  assert.equal((await helm(['repo', 'add', 'scalar-labs', 'https://scalar-labs.github.io/helm-charts'])).code, 0)
  // The documented layout: keys for existingSecret and for envFrom (secretName).
  await apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds' },
    stringData: { 'db-username': KEY, 'db-password': SECRET, SCALAR_DB_USERNAME: KEY, SCALAR_DB_PASSWORD: SECRET },
  })
  await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ledger-keys' }, stringData: { 'private-key': 'PEM' } })
})
after(() => stopSim(sim))

describe('simulated Scalar DL as the real charts and images', () => {
  test('credentials: `${env:X}` of a variable the chart never sets stays literal and DynamoDB refuses it; through secretName it resolves', async () => {
    const props = (user: string) =>
      `scalar.db.storage=dynamo\nscalar.db.contact_points=ap-northeast-1\nscalar.db.username=${user}\nscalar.db.password=\${env:SCALAR_DB_PASSWORD}\nscalar.db.dynamo.namespace.prefix=fid_\n`
    // existingSecret alone gives HELM_SCALAR_DB_*, not SCALAR_DB_*: the schema Job fails (backoffLimit 0).
    const bad = file('schema-bad.yaml', {
      schemaLoading: { existingSecret: 'creds', databaseProperties: props('${env:SCALAR_DB_USERNAME}') },
    })
    assert.equal(
      (await helm(['upgrade', '--install', 'schema-bad', 'scalar-labs/schema-loading', '--version', '2.14.0', '-f', bad])).code,
      0,
    )
    const job = await eventually(async () => {
      const j = await json(['get', 'job', 'schema-bad-schema-loading'])
      return j.status?.conditions?.some((c: any) => c.type === 'Failed' && c.status === 'True') && j
    }, 'the schema Job to fail')
    assert.equal(job.spec.backoffLimit, 0)
    const log = await kubectl(['logs', 'job/schema-bad-schema-loading'])
    assert.match(log, /UnrecognizedClientException/)
    assert.match(log, /\$\{env:SCALAR_DB_USERNAME\}/, 'the log shows the unresolved text')
    // With secretName the variables exist: the same properties load the schema.
    const good = file('schema-good.yaml', {
      schemaLoading: { existingSecret: 'creds', secretName: 'creds', databaseProperties: props('${env:SCALAR_DB_USERNAME}') },
    })
    assert.equal(
      (
        await helm([
          'upgrade',
          '--install',
          'schema-good',
          'scalar-labs/schema-loading',
          '--version',
          '2.14.0',
          '-f',
          good,
          '--wait',
          '--wait-for-jobs',
          '--timeout',
          '20s',
        ])
      ).code,
      0,
    )
    const env = (await json(['get', 'job', 'schema-good-schema-loading'])).spec.template.spec.containers[0]
    assert.deepEqual(
      env.env.map((e: any) => e.name),
      ['HELM_SCALAR_DB_USERNAME', 'HELM_SCALAR_DB_PASSWORD', 'SCHEMA_TYPE'],
    )
    assert.deepEqual(env.envFrom, [{ secretRef: { name: 'creds' } }])
  })

  test("the charts' default rolling update never finishes on a full pool; no surge with one unavailable rolls every Pod", async () => {
    const ledger = (strategy?: object, extra = '') => ({
      envoy: { enabled: false },
      ledger: {
        ...POOL,
        affinity: oneePerNode('ledger'),
        existingSecret: 'creds',
        secretName: 'creds',
        ...(strategy ? { strategy } : {}),
        scalarLedgerConfiguration: { ledgerProofEnabled: true },
        ledgerProperties: `scalar.db.storage=dynamo\nscalar.db.contact_points=ap-northeast-1\nscalar.db.username=\${env:SCALAR_DB_USERNAME}\nscalar.db.password=\${env:SCALAR_DB_PASSWORD}\nscalar.dl.ledger.proof.enabled=true\nscalar.dl.ledger.proof.private_key_path=/keys/private-key\n${extra}`,
      },
    })
    const install = await helm([
      'upgrade',
      '--install',
      'roll',
      'scalar-labs/scalardl',
      '--version',
      '4.12.0',
      '-f',
      file('roll.yaml', ledger()),
      '--wait',
      '--timeout',
      '20s',
    ])
    assert.equal(install.code, 0, install.stderr)
    const first = new Set((await podsOf('ledger')).map((p) => p.metadata.labels['pod-template-hash']))
    assert.equal(first.size, 1)
    // A properties change changes checksum/config, so the Pods roll; 25 %/25 % of 3 is a surge of 1 and none unavailable.
    assert.equal(
      (
        await helm([
          'upgrade',
          'roll',
          'scalar-labs/scalardl',
          '--version',
          '4.12.0',
          '-f',
          file('roll2.yaml', ledger(undefined, 'scalar.dl.ledger.nonce_txid.enabled=true\n')),
        ])
      ).code,
      0,
    )
    const d = await eventually(async () => {
      const x = await json(['get', 'deployment', 'roll-scalardl-ledger'])
      return x.status.updatedReplicas === 1 && x
    }, 'one surge Pod')
    await new Promise((r) => setTimeout(r, 500))
    const stuck = await json(['get', 'deployment', 'roll-scalardl-ledger'])
    assert.deepEqual(
      [stuck.status.updatedReplicas, stuck.status.availableReplicas, stuck.status.replicas],
      [1, 3, 4],
      'the rollout stays stuck',
    )
    const pending = (await podsOf('ledger')).find((p) => !first.has(p.metadata.labels['pod-template-hash']))
    assert.match(pending.status.conditions[0].message, /didn't match pod anti-affinity rules/)
    assert.equal(d.metadata.generation, stuck.status.observedGeneration)
    // Past progressDeadlineSeconds the controller says so, and kubectl rollout status fails.
    await kubectl(['patch', 'deployment', 'roll-scalardl-ledger', '--type', 'merge', '-p', '{"spec":{"progressDeadlineSeconds":1}}'])
    await eventually(
      async () =>
        (await json(['get', 'deployment', 'roll-scalardl-ledger'])).status.conditions.some(
          (c: any) => c.reason === 'ProgressDeadlineExceeded',
        ),
      'ProgressDeadlineExceeded',
      15_000,
    )
    const rs = await sim.kubectl(['rollout', 'status', 'deployment/roll-scalardl-ledger', '--timeout=5s'])
    assert.notEqual(rs.code, 0)
    assert.match(rs.stderr, /exceeded its progress deadline/)
    // The strategy the runbook sets: no surge, one replaced at a time; every Pod ends on the new template.
    const fixed = await helm([
      'upgrade',
      'roll',
      'scalar-labs/scalardl',
      '--version',
      '4.12.0',
      '-f',
      file(
        'roll3.yaml',
        ledger(
          { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: '34%' } },
          'scalar.dl.ledger.nonce_txid.enabled=true\n',
        ),
      ),
      '--wait',
      '--timeout',
      '30s',
    ])
    assert.equal(fixed.code, 0, fixed.stderr)
    const after = await podsOf('ledger')
    const hashes = new Set(after.map((p) => p.metadata.labels['pod-template-hash']))
    assert.equal(after.length, 3)
    assert.equal(hashes.size, 1)
    assert.ok(![...hashes].some((h) => first.has(h)), 'every Pod on the new template')
    // An integer where the chart's schema types a string, and a bare number in a string, are refused.
    const typed = await helm([
      'upgrade',
      'roll',
      'scalar-labs/scalardl',
      '--version',
      '4.12.0',
      '-f',
      file('roll4.yaml', ledger({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } })),
    ])
    assert.match(typed.stderr, /ledger\.strategy\.rollingUpdate\.maxSurge: Invalid type\. Expected: string, given: integer/)
    const bare = await helm([
      'upgrade',
      'roll',
      'scalar-labs/scalardl',
      '--version',
      '4.12.0',
      '-f',
      file('roll5.yaml', ledger({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '0', maxUnavailable: '1' } })),
    ])
    assert.match(bare.stderr, /a valid percent string must be a numeric string followed by an ending '%'/)
    await helm(['uninstall', 'roll'])
  })

  test("the Ledger refuses Auditor mode without proofs, and the chart's /keys mount beside an extra one at /keys is refused by the API server", async () => {
    const values = {
      envoy: { enabled: false },
      ledger: {
        replicaCount: 1,
        ...POOL,
        existingSecret: 'creds',
        secretName: 'creds',
        ledgerProperties:
          'scalar.db.storage=dynamo\nscalar.db.contact_points=ap-northeast-1\nscalar.db.username=${env:SCALAR_DB_USERNAME}\nscalar.db.password=${env:SCALAR_DB_PASSWORD}\nscalar.dl.ledger.auditor.enabled=true\n',
      },
    }
    assert.equal(
      (await helm(['upgrade', '--install', 'noproof', 'scalar-labs/scalardl', '--version', '4.12.0', '-f', file('noproof.yaml', values)]))
        .code,
      0,
    )
    const pod = await eventually(
      async () =>
        (await podsOf('ledger')).find(
          (p) => p.metadata.labels['app.kubernetes.io/instance'] === 'noproof' && waiting(p) === 'CrashLoopBackOff',
        ),
      'CrashLoopBackOff',
    )
    assert.equal(pod.status.phase, 'Running')
    assert.equal(pod.status.containerStatuses[0].restartCount, 1)
    assert.match(
      await kubectl(['logs', pod.metadata.name]),
      /DL-LEDGER-414002: scalar\.dl\.ledger\.proof\.enabled must be set to true if Auditor is enabled/,
    )
    await helm(['uninstall', 'noproof'])
    const dup = {
      ...values,
      ledger: {
        ...values.ledger,
        scalarLedgerConfiguration: { ledgerProofEnabled: true },
        extraVolumes: [{ name: 'ledger-keys', secret: { secretName: 'ledger-keys' } }],
        extraVolumeMounts: [{ name: 'ledger-keys', mountPath: '/keys' }],
      },
    }
    const r = await helm(['upgrade', '--install', 'dup', 'scalar-labs/scalardl', '--version', '4.12.0', '-f', file('dup.yaml', dup)])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /spec\.template\.spec\.volumes\[\d\]\.name: Duplicate value: "ledger-keys"/)
    assert.match(r.stderr, /mountPath: Invalid value: "\/keys": must be unique/)
    await helm(['uninstall', 'dup'])
  })

  test('the Auditor (ScalarDL Enterprise) does not start without its licence', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'auditor-keys' },
      stringData: { 'private-key': 'PEM', certificate: 'CERT' },
    })
    const values = {
      envoy: { enabled: false },
      auditor: {
        replicaCount: 1,
        ...POOL,
        existingSecret: 'creds',
        secretName: 'creds',
        auditorProperties:
          'scalar.db.storage=dynamo\nscalar.db.contact_points=ap-northeast-1\nscalar.db.username=${env:SCALAR_DB_USERNAME}\nscalar.db.password=${env:SCALAR_DB_PASSWORD}\nscalar.dl.auditor.private_key_path=/keys/private-key\nscalar.dl.auditor.cert_path=/keys/certificate\n',
      },
    }
    assert.equal(
      (await helm(['upgrade', '--install', 'aud', 'scalar-labs/scalardl-audit', '--version', '2.12.0', '-f', file('aud.yaml', values)]))
        .code,
      0,
    )
    const pod = await eventually(
      async () => (await podsOf('auditor')).find((p) => waiting(p) === 'CrashLoopBackOff'),
      'the Auditor crashing',
    )
    assert.equal(pod.spec.containers[0].name, 'scalardl-audit-auditor')
    assert.match(
      await kubectl(['logs', pod.metadata.name]),
      /DL-COMMON-414004: Please set your license key to scalar\.dl\.licensing\.license_key/,
    )
    await helm(['uninstall', 'aud'])
  })

  test('kubelet: deleting the image pull secret does not stop running containers; a new Pod cannot pull', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'pull' },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': '{"auths":{}}' },
    })
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { imagePullSecrets: [{ name: 'pull' }], containers: [{ name: 'web', image: 'ghcr.io/example/web:1' }] },
        },
      },
    })
    const running = async () =>
      (await json(['get', 'pods', '-l', 'app=web'])).items.filter(
        (p: any) => p.status.phase === 'Running' && p.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'),
      )
    await eventually(async () => (await running()).length === 1, 'web running')
    await kubectl(['delete', 'secret', 'pull'])
    await new Promise((r) => setTimeout(r, 600))
    assert.equal((await running()).length, 1, 'still running')
    await kubectl(['scale', 'deployment', 'web', '--replicas=2'])
    await eventually(
      async () =>
        (await json(['get', 'pods', '-l', 'app=web'])).items.some((p: any) => /ErrImagePull|ImagePullBackOff/.test(waiting(p) ?? '')),
      'the new Pod cannot pull',
    )
    assert.equal((await running()).length, 1)
    await kubectl(['delete', 'deployment', 'web'])
  })

  test('register-cert: a path the client SDK archive does not have fails as sh would', async () => {
    const script =
      'cd /tmp && curl -fsSL -o sdk.zip "https://github.com/scalar-labs/scalardl/releases/download/v${SDK_VERSION}/scalardl-java-client-sdk-${SDK_VERSION}.zip" && jar xf sdk.zip && sh scalardl-java-client-sdk-${SDK_VERSION}/client/bin/register-cert --properties client.properties'
    await apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'rc-old' },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'register-cert',
                image: 'eclipse-temurin:17-jdk-jammy',
                command: ['sh', '-c', script],
                env: [
                  { name: 'SDK_VERSION', value: '3.13.0' },
                  { name: 'CLIENT_PROPERTIES', value: 'scalar.dl.client.cert_holder_id=x\nscalar.dl.client.server.host=h' },
                ],
              },
            ],
          },
        },
      },
    })
    await eventually(
      async () => (await json(['get', 'job', 'rc-old'])).status?.conditions?.some((c: any) => c.type === 'Failed'),
      'the Job to fail',
    )
    assert.match(
      await kubectl(['logs', 'job/rc-old']),
      /cannot open scalardl-java-client-sdk-3\.13\.0\/client\/bin\/register-cert.*the archive has scalardl-java-client-sdk-3\.13\.0\/bin\/register-cert/,
    )
    // The right path, but the cluster's own load balancer as the server: a hairpin through the NLB times out.
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' } },
      spec: { type: 'LoadBalancer', selector: { app: 'none' }, ports: [{ port: 50051 }] },
    })
    const hostname = await eventually(
      async () => (await json(['get', 'svc', 'lb'])).status?.loadBalancer?.ingress?.[0]?.hostname,
      'a load balancer hostname',
    )
    const good = script.replace('/client/bin/', '/bin/')
    await apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'rc-hairpin' },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'register-cert',
                image: 'eclipse-temurin:17-jdk-jammy',
                command: ['sh', '-c', good],
                env: [
                  { name: 'SDK_VERSION', value: '3.13.0' },
                  { name: 'CLIENT_PROPERTIES', value: `scalar.dl.client.cert_holder_id=x\nscalar.dl.client.server.host=${hostname}` },
                ],
              },
            ],
          },
        },
      },
    })
    await eventually(
      async () => (await json(['get', 'job', 'rc-hairpin'])).status?.conditions?.some((c: any) => c.type === 'Failed'),
      'the hairpin Job to fail',
    )
    assert.match(await kubectl(['logs', 'job/rc-hairpin']), /connection timed out: .*hairpin/)
  })
})
