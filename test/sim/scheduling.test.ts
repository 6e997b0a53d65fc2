// Scheduling as the guide depends on it: the taint, the label, one Ledger per node, DaemonSets
// and tolerations, missing pull secrets and key secrets.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { stopSim, eventually, startSim, type Sim } from '../helpers/sim.ts'

let sim: Sim
before(async () => {
  sim = startSim(['--no-moto', '--pod-start-ms', '100'])
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
  assert.equal(sim.cli('nodes', 'add', 'ledger', '--count', '2', '--label', 'role=system').code, 0)
})
after(() => {
  stopSim(sim)
})

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await sim.kubectl(args, { input })
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const pods = async (ns: string, selector: string) =>
  JSON.parse(await kubectl(['get', 'pods', '-n', ns, '-l', selector, '-o', 'json'])).items as any[]

const TOLERATION = '[{key: kubernetes.io/app, operator: Equal, value: scalardlpool, effect: NoSchedule}]'
function ledgerDeployment(ns: string, o: { replicas: number; toleration?: boolean; pullSecret?: string; keySecret?: string }): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ledger, namespace: ${ns}}
spec:
  replicas: ${o.replicas}
  selector: {matchLabels: {app.kubernetes.io/app: ledger}}
  template:
    metadata: {labels: {app.kubernetes.io/name: scalardl, app.kubernetes.io/app: ledger}}
    spec:
      nodeSelector: {agentpool: scalardlpool}
${o.toleration === false ? '' : `      tolerations: ${TOLERATION}\n`}      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app.kubernetes.io/app: ledger}}
            topologyKey: kubernetes.io/hostname
${o.pullSecret ? `      imagePullSecrets: [{name: ${o.pullSecret}}]\n` : ''}${o.keySecret ? `      volumes: [{name: keys, secret: {secretName: ${o.keySecret}}}]\n` : ''}      containers: [{name: scalardl-ledger, image: "public.ecr.aws/docker/library/busybox:1.36"}] # an image without start-up checks: this is about placement
`
}

describe('scheduling in the simulator', () => {
  test('3 Ledger replicas with anti-affinity, nodeSelector and toleration run on 3 distinct pool nodes; a 4th stays Pending', async () => {
    await kubectl(['create', 'namespace', 'fit'])
    await kubectl(['apply', '-f', '-'], ledgerDeployment('fit', { replicas: 3 }))
    const running = await eventually(async () => {
      const p = await pods('fit', 'app.kubernetes.io/app=ledger')
      return p.length === 3 && p.every((x) => x.status.phase === 'Running') && p
    }, '3 running ledgers')
    const nodes = new Set(running.map((p) => p.spec.nodeName))
    assert.equal(nodes.size, 3)
    const pool = JSON.parse(await kubectl(['get', 'nodes', '-l', 'agentpool=scalardlpool', '-o', 'json'])).items.map(
      (n: any) => n.metadata.name,
    )
    for (const n of nodes) assert.ok(pool.includes(n), `${n} is a pool node`)

    await kubectl(['scale', 'deployment/ledger', '-n', 'fit', '--replicas=4'])
    const pending = await eventually(
      async () =>
        (await pods('fit', 'app.kubernetes.io/app=ledger')).find((p) =>
          p.status.conditions?.some((c: any) => c.reason === 'Unschedulable'),
        ),
      'an unschedulable 4th pod',
    )
    assert.equal(pending.status.phase, 'Pending')
    assert.match(
      pending.status.conditions[0].message,
      /0\/5 nodes are available: 2 node\(s\) didn't match Pod's node affinity\/selector, 3 node\(s\) didn't match pod anti-affinity rules/,
    )
    const status = JSON.parse(await kubectl(['get', 'deployment', 'ledger', '-n', 'fit', '-o', 'json'])).status
    assert.equal(status.readyReplicas, 3)
    assert.match(await kubectl(['get', 'events', '-n', 'fit']), /FailedScheduling/)
  })

  test('the same Deployment without the toleration stays Pending, naming the taint', async () => {
    await kubectl(['create', 'namespace', 'notol'])
    await kubectl(['apply', '-f', '-'], ledgerDeployment('notol', { replicas: 3, toleration: false }))
    const p = await eventually(async () => {
      const list = await pods('notol', 'app.kubernetes.io/app=ledger')
      return list.length === 3 && list.every((x) => x.status.conditions?.[0]?.reason === 'Unschedulable') && list
    }, 'three unschedulable pods')
    for (const x of p) {
      assert.equal(x.spec.nodeName, undefined)
      assert.match(x.status.conditions[0].message, /3 node\(s\) had untolerated taint \{kubernetes\.io\/app: scalardlpool\}/)
    }
  })

  test('a DaemonSet without the toleration runs on no tainted node; with it, on every node', async () => {
    await kubectl(['create', 'namespace', 'ds'])
    const ds = (name: string, tolerate: boolean) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ${name}, namespace: ds}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${tolerate ? `      tolerations: ${TOLERATION}\n` : ''}      containers: [{name: agent, image: "amazon/cloudwatch-agent:1.300050"}]
`
    await kubectl(['apply', '-f', '-'], ds('fluent-bit', false) + '---\n' + ds('cloudwatch-agent', true))
    const spread = async (name: string) => {
      const s = await eventually(async () => {
        const o = JSON.parse(await kubectl(['get', 'ds', name, '-n', 'ds', '-o', 'json']))
        return o.status.numberReady === o.status.desiredNumberScheduled && o.status.desiredNumberScheduled > 0 && o.status
      }, `${name} ready`)
      const on = new Set((await pods('ds', `app=${name}`)).map((p) => p.spec.nodeName))
      return { status: s, on }
    }
    const pool = JSON.parse(await kubectl(['get', 'nodes', '-l', 'agentpool=scalardlpool', '-o', 'json'])).items.map(
      (n: any) => n.metadata.name,
    )
    const untolerated = await spread('fluent-bit')
    assert.equal(untolerated.status.desiredNumberScheduled, 2)
    for (const n of pool) assert.ok(!untolerated.on.has(n), `fluent-bit landed on tainted ${n}`)
    const tolerated = await spread('cloudwatch-agent')
    assert.equal(tolerated.status.desiredNumberScheduled, 5)
    for (const n of pool) assert.ok(tolerated.on.has(n))
  })

  test('a missing pull secret gives ErrImagePull then ImagePullBackOff; the pod starts once the secret exists', async () => {
    await kubectl(['create', 'namespace', 'pull'])
    await kubectl(['apply', '-f', '-'], ledgerDeployment('pull', { replicas: 1, pullSecret: 'reg-docker-secrets' }))
    await eventually(
      async () =>
        (await pods('pull', 'app.kubernetes.io/app=ledger'))[0]?.status.containerStatuses?.[0]?.state?.waiting?.reason ===
        'ImagePullBackOff',
      'ImagePullBackOff',
    )
    assert.match(await kubectl(['get', 'pods', '-n', 'pull']), /ImagePullBackOff/)
    await kubectl([
      'create',
      'secret',
      'docker-registry',
      'reg-docker-secrets',
      '-n',
      'pull',
      '--docker-server=ghcr.io',
      '--docker-username=u',
      '--docker-password=p',
    ])
    await eventually(
      async () => (await pods('pull', 'app.kubernetes.io/app=ledger'))[0]?.status.phase === 'Running',
      'running after the secret appears',
    )
  })

  test('a missing key secret keeps the pod in ContainerCreating until it exists', async () => {
    await kubectl(['create', 'namespace', 'keys'])
    await kubectl(['apply', '-f', '-'], ledgerDeployment('keys', { replicas: 1, keySecret: 'ledger-keys' }))
    await eventually(
      async () =>
        (await pods('keys', 'app.kubernetes.io/app=ledger'))[0]?.status.containerStatuses?.[0]?.state?.waiting?.reason ===
        'ContainerCreating',
      'ContainerCreating',
    )
    await new Promise((r) => setTimeout(r, 400))
    assert.equal((await pods('keys', 'app.kubernetes.io/app=ledger'))[0].status.phase, 'Pending', 'still not started without its secret')
    assert.match(await kubectl(['get', 'events', '-n', 'keys']), /secret "ledger-keys" not found/)
    await kubectl(['create', 'secret', 'generic', 'ledger-keys', '-n', 'keys', '--from-literal=private-key=x'])
    await eventually(
      async () => (await pods('keys', 'app.kubernetes.io/app=ledger'))[0]?.status.phase === 'Running',
      'running after the key secret appears',
    )
  })
})
