// Conformance: the real kubectl from PATH against the simulator, for every command the runbook
// and the guide use.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { alive, eventually, startSim, type Sim } from '../helpers/sim.ts'
import { tempDir } from '../helpers/run-step.ts'

let sim: Sim
let pids: number[] = []
before(() => {
  sim = startSim(['--no-moto', '--pod-start-ms', '100', '--job-duration-ms', '400', '--lb-delay-ms', '300', '--fail-jobs', '^doomed'])
  pids = sim.pids()
  const c = sim.cli('cluster', 'create', 'ledger', '--nodes', '3', '--label', 'agentpool=scalardlpool')
  assert.equal(c.code, 0, c.stderr)
  // An untainted system node, as 03-eks makes: the schema Job has no toleration.
  const system = sim.cli('nodes', 'add', 'ledger', '--count', '1', '--label', 'role=system')
  assert.equal(system.code, 0, system.stderr)
})
after(() => {
  sim.down()
  for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} left running`)
})

const ok = async (args: string[], input?: string) => {
  const r = await sim.kubectl(args, { input })
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const json = async (args: string[]) => JSON.parse(await ok([...args, '-o', 'json']))

const MANIFEST = (ns: string) => `apiVersion: v1
kind: ServiceAccount
metadata: {name: agent, namespace: ${ns}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ${ns}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      serviceAccountName: agent
      tolerations: [{operator: Exists}]
      containers:
      - {name: agent, image: "busybox:1.36", env: [{name: A, value: "1"}, {name: B, value: "2"}]}
      - {name: sidecar, image: "busybox:1.36"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations: [{key: kubernetes.io/app, operator: Equal, value: scalardlpool, effect: NoSchedule}]
      containers: [{name: web, image: "nginx:1.27", ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
  annotations: {service.beta.kubernetes.io/aws-load-balancer-type: nlb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: envoy, port: 50051, targetPort: 8080}]
`

describe('kubectl conformance against the simulator', () => {
  test('up again on the same state dir is harmless: same processes, same environment', async () => {
    const envBefore = fs.readFileSync(path.join(sim.dir, 'env'), 'utf8')
    const again = sim.cli('up', '--no-moto')
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(sim.pids(), pids)
    assert.equal(fs.readFileSync(path.join(sim.dir, 'env'), 'utf8'), envBefore)
    assert.equal((await json(['get', 'nodes'])).items.length, 4, 'the clusters are still there')
  })

  test('version reports the server minor the dispatcher picks kubectl by', async () => {
    const v = JSON.parse(await ok(['version', '-o', 'json']))
    assert.equal(v.serverVersion.minor, '32')
    assert.match(v.serverVersion.gitVersion, /^v1\.32\./)
  })

  test('get nodes with a label selector; nodes look like EKS nodes', async () => {
    const nodes = (await json(['get', 'nodes', '-l', 'agentpool=scalardlpool'])).items
    assert.equal(nodes.length, 3)
    for (const n of nodes) {
      assert.match(n.metadata.name, /^ip-10-1-\d+-\d+\.ap-northeast-1\.compute\.internal$/)
      assert.equal(n.metadata.labels['kubernetes.io/hostname'], n.metadata.name)
    }
    assert.deepEqual(new Set(nodes.map((n: any) => n.metadata.labels['topology.kubernetes.io/zone'])).size, 3)
    assert.equal((await json(['get', 'nodes', '-l', 'agentpool=other'])).items.length, 0)
  })

  test('taint the pool nodes, twice: one taint each, exit 0 both times', async () => {
    for (let i = 0; i < 2; i++)
      await ok(['taint', 'nodes', '-l', 'agentpool=scalardlpool', 'kubernetes.io/app=scalardlpool:NoSchedule', '--overwrite'])
    const pool = (await json(['get', 'nodes', '-l', 'agentpool=scalardlpool'])).items
    assert.equal(pool.length, 3, 'the loop below checks every pool node, not none')
    for (const n of pool) assert.deepEqual(n.spec.taints, [{ effect: 'NoSchedule', key: 'kubernetes.io/app', value: 'scalardlpool' }])
  })

  test('create secret docker-registry (protobuf body) and generic --from-file; a second create is AlreadyExists', async () => {
    await ok(['create', 'namespace', 'secrets'])
    await ok([
      'create',
      'secret',
      'docker-registry',
      'reg-docker-secrets',
      '-n',
      'secrets',
      '--docker-server=ghcr.io',
      '--docker-username=octo',
      '--docker-password=pat-value',
    ])
    const again = await sim.kubectl([
      'create',
      'secret',
      'docker-registry',
      'reg-docker-secrets',
      '-n',
      'secrets',
      '--docker-server=ghcr.io',
      '--docker-username=octo',
      '--docker-password=pat-value',
    ])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already exists/)
    const reg = await json(['get', 'secret', 'reg-docker-secrets', '-n', 'secrets'])
    assert.equal(reg.type, 'kubernetes.io/dockerconfigjson')
    const cfg = JSON.parse(Buffer.from(reg.data['.dockerconfigjson'], 'base64').toString())
    assert.equal(cfg.auths['ghcr.io'].username, 'octo')
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'key.pem'), 'PEM-CONTENT\n')
    await ok(['create', 'secret', 'generic', 'ledger-keys', '-n', 'secrets', `--from-file=private-key=${path.join(dir, 'key.pem')}`])
    const keys = await json(['get', 'secret', 'ledger-keys', '-n', 'secrets'])
    assert.equal(Buffer.from(keys.data['private-key'], 'base64').toString(), 'PEM-CONTENT\n')
  })

  test('create --dry-run=client -o yaml | apply -f -, twice: created, then configured, same data', async () => {
    await ok(['create', 'namespace', 'idiom'])
    const yaml = await ok([
      'create',
      'secret',
      'generic',
      'auditor-keys',
      '-n',
      'idiom',
      '--from-literal=certificate=CERT',
      '--dry-run=client',
      '-o',
      'yaml',
    ])
    assert.match(await ok(['apply', '-f', '-'], yaml), /secret\/auditor-keys created/)
    assert.match(await ok(['apply', '-f', '-'], yaml), /secret\/auditor-keys (configured|unchanged)/)
    const s = await json(['get', 'secret', 'auditor-keys', '-n', 'idiom'])
    assert.equal(Buffer.from(s.data.certificate, 'base64').toString(), 'CERT')
    assert.ok(s.metadata.creationTimestamp, 'server-owned metadata survives the creationTimestamp: null patch')
  })

  test('apply a multi-document manifest, then again unchanged; a changed manifest patches strategically', async () => {
    await ok(['create', 'namespace', 'multi'])
    const first = await ok(['apply', '-f', '-'], MANIFEST('multi'))
    for (const o of ['serviceaccount/agent', 'daemonset.apps/agent', 'deployment.apps/web', 'service/web'])
      assert.match(first, new RegExp(`${o} created`))
    const second = await ok(['apply', '-f', '-'], MANIFEST('multi'))
    assert.equal((second.match(/unchanged/g) ?? []).length, 4, second)
    const changed = MANIFEST('multi')
      .replace('{name: B, value: "2"}', '{name: B, value: "22"}')
      .replace('      - {name: sidecar, image: "busybox:1.36"}\n', '')
      .replace('image: "busybox:1.36", env', 'image: "busybox:1.37", env')
    assert.match(await ok(['apply', '-f', '-'], changed), /daemonset.apps\/agent configured/)
    const ds = await json(['get', 'ds', 'agent', '-n', 'multi'])
    const containers = ds.spec.template.spec.containers
    assert.deepEqual(
      containers.map((c: any) => c.name),
      ['agent'],
    )
    assert.equal(containers[0].image, 'busybox:1.37')
    assert.deepEqual(containers[0].env, [
      { name: 'A', value: '1' },
      { name: 'B', value: '22' },
    ])
    assert.equal(ds.metadata.generation, 2)
  })

  test('apply --server-side creates, then removes a field the manager no longer applies', async () => {
    await ok(['create', 'namespace', 'ssa'])
    const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ssa}\ndata: {${data}}\n`
    assert.match(await ok(['apply', '--server-side', '-f', '-'], cm('a: "1", b: "2"')), /configmap\/settings serverside-applied/)
    await ok(['apply', '--server-side', '-f', '-'], cm('a: "1"'))
    assert.deepEqual((await json(['get', 'cm', 'settings', '-n', 'ssa'])).data, { a: '1' })
  })

  test('wait --for=condition=complete on a Job; a failing Job meets condition=failed', async () => {
    await ok(['create', 'namespace', 'jobs'])
    const job = (name: string) =>
      `apiVersion: batch/v1\nkind: Job\nmetadata: {name: ${name}, namespace: jobs}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: "busybox:1.36"}]\n`
    await ok(['apply', '-f', '-'], job('load-schema-schema-loading'))
    assert.match(
      await ok(['wait', '--for=condition=complete', 'job/load-schema-schema-loading', '-n', 'jobs', '--timeout=20s']),
      /condition met/,
    )
    const pods = (await json(['get', 'pods', '-n', 'jobs', '-l', 'job-name=load-schema-schema-loading'])).items
    assert.equal(pods[0].status.phase, 'Succeeded')
    assert.match(await ok(['get', 'pods', '-n', 'jobs']), /Completed/)
    await ok(['apply', '-f', '-'], job('doomed-schema'))
    assert.match(await ok(['wait', '--for=condition=failed', 'job/doomed-schema', '-n', 'jobs', '--timeout=20s']), /condition met/)
    const timeout = await sim.kubectl(['wait', '--for=condition=complete', 'job/doomed-schema', '-n', 'jobs', '--timeout=2s'])
    assert.equal(timeout.code, 1)
    assert.match(timeout.stderr, /timed out waiting for the condition/)
  })

  test('rollout status, LoadBalancer hostname, get pods,services -o wide, and a deleted pod is replaced', async () => {
    assert.match(await ok(['rollout', 'status', 'deployment/web', '-n', 'multi', '--timeout=20s']), /successfully rolled out/)
    const host = await eventually(
      async () => (await ok(['get', 'svc', 'web', '-n', 'multi', '-o', 'jsonpath={.status.loadBalancer.ingress[0].hostname}'])).trim(),
      'the load balancer hostname',
    )
    assert.match(host, /^a[0-9a-f]{32}-[0-9a-f]{16}\.elb\.ap-northeast-1\.amazonaws\.com$/)
    const wide = await ok(['get', 'pods,services', '-o', 'wide', '-n', 'multi'])
    assert.match(wide, /NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/)
    assert.match(
      wide,
      /service\/web\s+LoadBalancer\s+10\.100\.\d+\.\d+\s+a[0-9a-f]+-[0-9a-f]+\.elb\.ap-northeast-1\.amazonaws\.com\s+50051:\d+\/TCP/,
    )
    assert.match(wide, /pod\/web-\w+-\w+\s+1\/1\s+Running/)
    const ep = await json(['get', 'endpoints', 'web', '-n', 'multi'])
    assert.equal(ep.subsets[0].addresses.length, 2)
    assert.equal(ep.subsets[0].ports[0].port, 8080)
    const victim = (await json(['get', 'pods', '-n', 'multi', '-l', 'app=web'])).items[0].metadata.name
    await ok(['delete', 'pod', victim, '-n', 'multi'])
    await eventually(async () => {
      const items = (await json(['get', 'pods', '-n', 'multi', '-l', 'app=web'])).items
      return items.length === 2 && items.every((p: any) => p.metadata.name !== victim && p.status.phase === 'Running')
    }, 'a replacement pod')
  })

  test('delete --ignore-not-found, present and absent: exit 0', async () => {
    await ok(['delete', 'secret', 'ledger-keys', '-n', 'secrets', '--ignore-not-found'])
    assert.equal(await ok(['delete', 'secret', 'ledger-keys', '-n', 'secrets', '--ignore-not-found']), '')
    const missing = await sim.kubectl(['get', 'secret', 'ledger-keys', '-n', 'secrets'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /NotFound/)
  })

  test('a second cluster has its own context and objects', async () => {
    const c = sim.cli('cluster', 'create', 'auditor', '--nodes', '2')
    assert.equal(c.code, 0, c.stderr)
    assert.equal((await json(['get', 'nodes'])).items.length, 2, 'the new context is current')
    const r = await sim.kubectl(['get', 'nodes', '-o', 'json'], { context: 'ledger' })
    assert.equal(JSON.parse(r.stdout).items.length, 4)
    const added = sim.cli('nodes', 'add', 'auditor', '--count', '1', '--label', 'agentpool=scalardlpool')
    assert.equal(added.code, 0, added.stderr)
    const nodes = (await json(['get', 'nodes', '-l', 'agentpool=scalardlpool'])).items
    assert.equal(nodes.length, 1)
    assert.equal(nodes[0].spec.taints, undefined, 'nodes added by scaling come untainted')
    await ok(['config', 'use-context', 'ledger'])
  })
})
