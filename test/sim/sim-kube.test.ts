// Unit tests of the simulator's pieces: selectors, patches, protobuf decoding, watch replay.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Cluster } from '../../sim/kube/cluster.ts'
import { DEFAULT_KNOBS } from '../../sim/kube/controllers.ts'
import { jsonPatch, mergePatch, serverSideApply, strategicMerge } from '../../sim/kube/patch.ts'
import { decodeProtobuf, pbMap, pbString, pbUnknown, pbVarint } from '../../sim/kube/protobuf.ts'
import { fieldsMatch, labelsMatch, selectorMatches } from '../../sim/kube/selectors.ts'
import { tolerates } from '../../sim/kube/scheduler.ts'

describe('selectors', () => {
  const labels = { app: 'ledger', tier: 'db', version: '3' }
  test('label selector operators', () => {
    assert.ok(labelsMatch('app=ledger', labels))
    assert.ok(labelsMatch('app==ledger,tier=db', labels))
    assert.ok(!labelsMatch('app!=ledger', labels))
    assert.ok(labelsMatch('app in (envoy, ledger)', labels))
    assert.ok(!labelsMatch('app notin (ledger)', labels))
    assert.ok(labelsMatch('tier', labels))
    assert.ok(labelsMatch('!missing', labels))
    assert.ok(!labelsMatch('missing', labels))
    assert.ok(labelsMatch('version>2', labels) && !labelsMatch('version<3', labels))
    assert.ok(labelsMatch('', labels))
    assert.throws(() => labelsMatch('a b c', labels))
  })
  test('matchLabels and matchExpressions', () => {
    assert.ok(
      selectorMatches({ matchLabels: { app: 'ledger' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] }, labels),
    )
    assert.ok(!selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels))
    assert.ok(!selectorMatches(undefined, labels))
  })
  test('field selectors on dotted paths', () => {
    const o = { metadata: { name: 'x', namespace: 'default' }, status: { phase: 'Running' } }
    assert.ok(fieldsMatch('metadata.name=x,status.phase!=Pending', o))
    assert.ok(!fieldsMatch('metadata.namespace==kube-system', o))
  })
  test('tolerations', () => {
    const taint = { key: 'kubernetes.io/app', value: 'scalardlpool', effect: 'NoSchedule' }
    assert.ok(tolerates([{ key: 'kubernetes.io/app', operator: 'Equal', value: 'scalardlpool', effect: 'NoSchedule' }], taint))
    assert.ok(tolerates([{ operator: 'Exists' }], taint))
    assert.ok(tolerates([{ key: 'kubernetes.io/app', operator: 'Exists' }], taint))
    assert.ok(!tolerates([{ key: 'kubernetes.io/app', operator: 'Equal', value: 'other' }], taint))
    assert.ok(!tolerates([{ key: 'kubernetes.io/app', operator: 'Exists', effect: 'NoExecute' }], taint))
    assert.ok(!tolerates(undefined, taint))
  })
})

describe('patches', () => {
  const ds = {
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'tuner',
              image: 'busybox:1.36',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'sidecar', image: 'busybox:1.36' },
          ],
          tolerations: [{ operator: 'Exists' }],
        },
      },
    },
  }
  test('strategic merge: keyed lists merge, $patch delete removes, $setElementOrder orders, atomic lists replace', () => {
    const patch = {
      spec: {
        template: {
          spec: {
            $setElementOrder: undefined,
            '$setElementOrder/containers': [{ name: 'tuner' }],
            containers: [
              {
                '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }],
                env: [{ name: 'B', value: '22' }],
                image: 'busybox:1.37',
                name: 'tuner',
              },
              { $patch: 'delete', name: 'sidecar' },
            ],
            tolerations: [{ key: 'x', operator: 'Exists' }],
          },
        },
      },
    }
    delete (patch.spec.template.spec as any).$setElementOrder
    const out = strategicMerge(ds, patch)
    assert.deepEqual(out.spec.template.spec.containers, [
      {
        name: 'tuner',
        image: 'busybox:1.37',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '22' },
        ],
      },
    ])
    assert.deepEqual(out.spec.template.spec.tolerations, [{ key: 'x', operator: 'Exists' }])
    assert.equal(ds.spec.template.spec.containers.length, 2, 'the input is not modified')
  })
  test('strategic merge: null deletes, $retainKeys, $deleteFromPrimitiveList, set lists, ports by key', () => {
    assert.deepEqual(strategicMerge({ a: 1, b: 2 }, { a: null }), { b: 2 })
    assert.deepEqual(
      strategicMerge(
        { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
        { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
      ),
      { strategy: { type: 'Recreate' } },
    )
    assert.deepEqual(strategicMerge({ finalizers: ['a', 'b'] }, { '$deleteFromPrimitiveList/finalizers': ['a'] }), { finalizers: ['b'] })
    assert.deepEqual(strategicMerge({ finalizers: ['a'] }, { finalizers: ['b'] }), { finalizers: ['a', 'b'] })
    assert.deepEqual(
      strategicMerge(
        {
          ports: [
            { port: 80, name: 'a' },
            { port: 443, name: 'b' },
          ],
        },
        { ports: [{ port: 443, name: 'tls' }] },
      ),
      {
        ports: [
          { port: 80, name: 'a' },
          { port: 443, name: 'tls' },
        ],
      },
    )
    assert.deepEqual(strategicMerge({ m: { a: 1 } }, { m: { $patch: 'replace', b: 2 } }), { m: { b: 2 } })
  })
  test('JSON merge patch and JSON patch', () => {
    assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), { a: { c: 2, d: 3 }, l: [3] })
    const doc = { spec: { taints: [{ key: 'a' }], replicas: 1 } }
    assert.deepEqual(
      jsonPatch(doc, [
        { op: 'replace', path: '/spec/replicas', value: 3 },
        { op: 'add', path: '/spec/taints/-', value: { key: 'b' } },
        { op: 'remove', path: '/spec/taints/0' },
      ]),
      { spec: { taints: [{ key: 'b' }], replicas: 3 } },
    )
    assert.throws(() => jsonPatch(doc, [{ op: 'test', path: '/spec/replicas', value: 2 }]), /test failed/)
    assert.throws(() => jsonPatch(doc, [{ op: 'replace', path: '/spec/missing', value: 2 }]))
  })
  test('server-side apply removes what the manager stopped applying, keeps what others set', () => {
    const live = {
      data: { a: '1', b: '2', other: 'x' },
      spec: {
        containers: [
          { name: 'c1', image: 'i' },
          { name: 'c2', image: 'j' },
        ],
      },
    }
    const previous = {
      data: { a: '1', b: '2' },
      spec: {
        containers: [
          { name: 'c1', image: 'i' },
          { name: 'c2', image: 'j' },
        ],
      },
    }
    const now = { data: { a: '10' }, spec: { containers: [{ name: 'c1', image: 'i2' }] } }
    assert.deepEqual(serverSideApply(live, now, previous), {
      data: { a: '10', other: 'x' },
      spec: { containers: [{ name: 'c1', image: 'i2' }] },
    })
  })
})

describe('protobuf request bodies', () => {
  test('a Secret as kubectl create secret sends it', () => {
    const meta = Buffer.concat([pbString(1, 'reg-docker-secrets'), pbString(3, 'default'), pbMap(11, { app: 'scalardl' })])
    const secret = Buffer.concat([
      pbString(1, meta),
      pbMap(2, { '.dockerconfigjson': Buffer.from('{"auths":{}}') }),
      pbString(3, 'kubernetes.io/dockerconfigjson'),
    ])
    const o: any = decodeProtobuf(pbUnknown('v1', 'Secret', secret))
    assert.deepEqual(o, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'reg-docker-secrets', namespace: 'default', labels: { app: 'scalardl' } },
      data: { '.dockerconfigjson': Buffer.from('{"auths":{}}').toString('base64') },
      type: 'kubernetes.io/dockerconfigjson',
    })
  })
  test('ConfigMap, Namespace, ServiceAccount; unknown kinds are refused', () => {
    assert.deepEqual(decodeProtobuf(pbUnknown('v1', 'ConfigMap', Buffer.concat([pbString(1, pbString(1, 'cm')), pbMap(2, { k: 'v' })]))), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm' },
      data: { k: 'v' },
    })
    assert.deepEqual(decodeProtobuf(pbUnknown('v1', 'Namespace', pbString(1, pbString(1, 'ns')))), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'ns' },
    })
    const sa: any = decodeProtobuf(
      pbUnknown('v1', 'ServiceAccount', Buffer.concat([pbString(1, pbString(1, 'sa')), pbString(3, pbString(1, 'reg')), pbVarint(4, 0)])),
    )
    assert.deepEqual(sa.imagePullSecrets, [{ name: 'reg' }])
    assert.equal(sa.automountServiceAccountToken, false)
    assert.throws(() => decodeProtobuf(pbUnknown('apps/v1', 'Deployment', Buffer.alloc(0))), /not supported/)
  })
})

describe('watch replay', () => {
  let cluster: Cluster
  before(async () => {
    cluster = new Cluster({ name: 'unit', region: 'ap-northeast-1', serverMinor: 32, watchMaxSeconds: 0, knobs: { ...DEFAULT_KNOBS } })
    await cluster.listen()
  })
  after(() => cluster.close())

  async function request(method: string, path: string, body?: unknown, ct = 'application/json') {
    const res = await fetch(cluster.url + path, {
      method,
      headers: { 'Content-Type': ct, Accept: 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    })
    return { status: res.status, body: await res.json() }
  }

  async function watchLines(path: string, count: number): Promise<any[]> {
    const ac = new AbortController()
    const res = await fetch(cluster.url + path, { signal: ac.signal })
    const reader = res.body!.getReader()
    let buf = ''
    const lines: any[] = []
    while (lines.length < count) {
      const { value, done } = await reader.read()
      if (done) break
      buf += Buffer.from(value).toString()
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)))
        buf = buf.slice(i + 1)
      }
    }
    ac.abort()
    return lines
  }

  test('a watch from a resourceVersion replays later events, filtered by selector, with their new resourceVersions', async () => {
    const created = await request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'a', labels: { w: '1' } },
      data: { v: '1' },
    })
    assert.equal(created.status, 201)
    const rv = Number(created.body.metadata.resourceVersion)
    await request('PATCH', '/api/v1/namespaces/default/configmaps/a', { data: { v: '2' } }, 'application/merge-patch+json')
    await request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'b' }, data: {} })
    await request('PATCH', '/api/v1/namespaces/default/configmaps/a', { metadata: { labels: { w: null } } }, 'application/merge-patch+json')
    const events = await watchLines(`/api/v1/namespaces/default/configmaps?watch=true&labelSelector=w%3D1&resourceVersion=${rv}`, 2)
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.name, e.object.data?.v]),
      [
        ['MODIFIED', 'a', '2'],
        ['DELETED', 'a', '2'],
      ],
    )
    assert.ok(Number(events[0].object.metadata.resourceVersion) > rv)
  })

  test('without a resourceVersion a watch starts with the current objects as ADDED', async () => {
    const events = await watchLines('/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name%3Db', 1)
    assert.equal(events[0].type, 'ADDED')
    assert.equal(events[0].object.metadata.name, 'b')
  })

  test('a no-op update keeps the resourceVersion; a conflicting one is refused', async () => {
    const cm = (await request('GET', '/api/v1/namespaces/default/configmaps/b')).body
    const same = await request('PUT', '/api/v1/namespaces/default/configmaps/b', cm)
    assert.equal(same.body.metadata.resourceVersion, cm.metadata.resourceVersion)
    await request('PUT', '/api/v1/namespaces/default/configmaps/b', { ...cm, data: { x: '1' } })
    const stale = await request('PUT', '/api/v1/namespaces/default/configmaps/b', { ...cm, data: { x: '2' } })
    assert.equal(stale.status, 409)
    assert.equal(stale.body.reason, 'Conflict')
  })

  test('errors are Status objects: NotFound, AlreadyExists, a missing namespace', async () => {
    const missing = await request('GET', '/api/v1/namespaces/default/secrets/none')
    assert.deepEqual([missing.status, missing.body.kind, missing.body.reason], [404, 'Status', 'NotFound'])
    const dup = await request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'b' } })
    assert.equal(dup.body.reason, 'AlreadyExists')
    const nons = await request('POST', '/api/v1/namespaces/nowhere/configmaps', { metadata: { name: 'c' } })
    assert.equal(nons.status, 404)
    assert.match(nons.body.message, /namespaces "nowhere" not found/)
  })
})

describe('API faults', () => {
  test('with --api-faults an invocation of kubectl meets at most one fault; other clients none', async () => {
    const knobs = { ...DEFAULT_KNOBS, apiFaultRate: 1 }
    const cluster = new Cluster({ name: 'faults', region: 'ap-northeast-1', serverMinor: 32, watchMaxSeconds: 0, knobs })
    await cluster.listen()
    try {
      const get = async (headers: Record<string, string>) => {
        try {
          return (await fetch(`${cluster.url}/api/v1/namespaces`, { headers })).status
        } catch {
          return 'reset'
        }
      }
      const kubectl = (session: string) => ({ 'User-Agent': 'kubectl/v1.32.4 (linux/amd64)', 'Kubectl-Session': session })
      for (const session of ['s1', 's2', 's3']) {
        const answers = []
        for (let i = 0; i < 40; i++) answers.push(await get(kubectl(session)))
        const faults = answers.filter((a) => a !== 200)
        assert.equal(faults.length, 1, `session ${session}: ${answers.join(' ')}`)
        assert.ok([503, 500, 'reset'].includes(faults[0] as number | string))
      }
      assert.equal(await get({ 'User-Agent': 'kubectl/v1.32.4 (linux/amd64)' }), 200, 'no session header, no fault')
      assert.equal(await get({ 'User-Agent': 'Helm/3.17.3', 'Kubectl-Session': 'h' }), 200, 'not kubectl, no fault')
      knobs.apiFaultRate = 0
      assert.equal(await get(kubectl('s4')), 200)
    } finally {
      await cluster.close()
    }
  })
})
