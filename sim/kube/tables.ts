// meta.k8s.io/v1 Table responses, so `kubectl get` prints the real columns (-o wide: priority 1).
import type { Obj } from './store.ts'
import type { ResourceType } from './resources.ts'

type Cell = string | number
interface Column {
  name: string
  type?: string
  priority?: number
  cell: (o: Obj) => Cell
}

function age(ts: string | undefined): string {
  if (!ts) return '<unknown>'
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000))
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`
  if (m < 180) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`
  if (h < 48) return `${h}h`
  const d = Math.floor(h / 24)
  return d < 8 && h % 24 ? `${d}d${h % 24}h` : `${d}d`
}

const AGE: Column = { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) }
const containers = (o: Obj) => (o.spec?.template?.spec?.containers ?? []) as { name: string; image: string }[]
const selector = (o: Obj) =>
  Object.entries(o.spec?.selector?.matchLabels ?? o.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '<none>'
const wideWorkload: Column[] = [
  {
    name: 'Containers',
    priority: 1,
    cell: (o) =>
      containers(o)
        .map((c) => c.name)
        .join(','),
  },
  {
    name: 'Images',
    priority: 1,
    cell: (o) =>
      containers(o)
        .map((c) => c.image)
        .join(','),
  },
  { name: 'Selector', priority: 1, cell: selector },
]

function podStatus(o: Obj): string {
  if (o.metadata.deletionTimestamp) return 'Terminating'
  for (const c of o.status?.containerStatuses ?? []) {
    if (c.state?.waiting?.reason) return c.state.waiting.reason
    if (c.state?.terminated?.reason) return c.state.terminated.reason
  }
  return o.status?.reason ?? o.status?.phase ?? 'Pending'
}

function ports(o: Obj): string {
  const ps = (o.spec?.ports ?? []) as { port: number; nodePort?: number; protocol?: string }[]
  return ps.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>'
}

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    {
      name: 'Ready',
      cell: (o) =>
        `${(o.status?.containerStatuses ?? []).filter((c: { ready: boolean }) => c.ready).length}/${(o.spec?.containers ?? []).length}`,
    },
    { name: 'Status', cell: podStatus },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) =>
        String((o.status?.containerStatuses ?? []).reduce((n: number, c: { restartCount?: number }) => n + (c.restartCount ?? 0), 0)),
    },
    AGE,
    { name: 'IP', priority: 1, cell: (o) => o.status?.podIP ?? '<none>' },
    { name: 'Node', priority: 1, cell: (o) => o.spec?.nodeName ?? '<none>' },
    { name: 'Nominated Node', priority: 1, cell: () => '<none>' },
    { name: 'Readiness Gates', priority: 1, cell: () => '<none>' },
  ],
  Service: [
    { name: 'Type', cell: (o) => o.spec?.type ?? 'ClusterIP' },
    { name: 'Cluster-IP', cell: (o) => o.spec?.clusterIP ?? '<none>' },
    {
      name: 'External-IP',
      cell: (o) => {
        const ing = (o.status?.loadBalancer?.ingress ?? []) as { hostname?: string; ip?: string }[]
        if (ing.length) return ing.map((i) => i.hostname ?? i.ip).join(',')
        return o.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>'
      },
    },
    { name: 'Port(s)', cell: ports },
    AGE,
    {
      name: 'Selector',
      priority: 1,
      cell: (o) =>
        Object.entries(o.spec?.selector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '<none>',
    },
  ],
  Node: [
    {
      name: 'Status',
      cell: (o) =>
        ((o.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady') +
        (o.spec?.unschedulable ? ',SchedulingDisabled' : ''),
    },
    { name: 'Roles', cell: () => '<none>' },
    AGE,
    { name: 'Version', cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
    {
      name: 'Internal-IP',
      priority: 1,
      cell: (o) => (o.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')?.address ?? '<none>',
    },
    { name: 'External-IP', priority: 1, cell: () => '<none>' },
    { name: 'OS-Image', priority: 1, cell: (o) => o.status?.nodeInfo?.osImage ?? '' },
    { name: 'Kernel-Version', priority: 1, cell: (o) => o.status?.nodeInfo?.kernelVersion ?? '' },
    { name: 'Container-Runtime', priority: 1, cell: (o) => o.status?.nodeInfo?.containerRuntimeVersion ?? '' },
  ],
  Deployment: [
    { name: 'Ready', cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}` },
    { name: 'Up-to-date', cell: (o) => o.status?.updatedReplicas ?? 0 },
    { name: 'Available', cell: (o) => o.status?.availableReplicas ?? 0 },
    AGE,
    ...wideWorkload,
  ],
  ReplicaSet: [
    { name: 'Desired', cell: (o) => o.spec?.replicas ?? 1 },
    { name: 'Current', cell: (o) => o.status?.replicas ?? 0 },
    { name: 'Ready', cell: (o) => o.status?.readyReplicas ?? 0 },
    AGE,
    ...wideWorkload,
  ],
  DaemonSet: [
    { name: 'Desired', cell: (o) => o.status?.desiredNumberScheduled ?? 0 },
    { name: 'Current', cell: (o) => o.status?.currentNumberScheduled ?? 0 },
    { name: 'Ready', cell: (o) => o.status?.numberReady ?? 0 },
    { name: 'Up-to-date', cell: (o) => o.status?.updatedNumberScheduled ?? 0 },
    { name: 'Available', cell: (o) => o.status?.numberAvailable ?? 0 },
    {
      name: 'Node Selector',
      cell: (o) =>
        Object.entries(o.spec?.template?.spec?.nodeSelector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '<none>',
    },
    AGE,
    ...wideWorkload,
  ],
  Job: [
    {
      name: 'Status',
      cell: (o) =>
        (
          (o.status?.conditions ?? []).find(
            (c: { type: string; status: string }) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
          )?.type ?? 'Running'
        ).replace('Complete', 'Complete'),
    },
    { name: 'Completions', cell: (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}` },
    {
      name: 'Duration',
      cell: (o) =>
        o.status?.startTime
          ? age(o.status.startTime).replace(/.*/, (x) =>
              o.status?.completionTime
                ? `${Math.max(0, Math.round((Date.parse(o.status.completionTime) - Date.parse(o.status.startTime)) / 1000))}s`
                : x,
            )
          : '',
    },
    AGE,
    ...wideWorkload,
  ],
  Secret: [{ name: 'Type', cell: (o) => o.type ?? 'Opaque' }, { name: 'Data', cell: (o) => Object.keys(o.data ?? {}).length }, AGE],
  ConfigMap: [{ name: 'Data', cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length }, AGE],
  Namespace: [{ name: 'Status', cell: (o) => o.status?.phase ?? 'Active' }, AGE],
  ServiceAccount: [{ name: 'Secrets', cell: (o) => (o.secrets ?? []).length }, AGE],
  Endpoints: [
    {
      name: 'Endpoints',
      cell: (o) => {
        const eps = ((o.subsets ?? []) as { addresses?: { ip: string }[]; ports?: { port: number }[] }[]).flatMap((s) =>
          (s.addresses ?? []).flatMap((a) => (s.ports ?? [{ port: 0 }]).map((p) => `${a.ip}:${p.port}`)),
        )
        return eps.length ? eps.slice(0, 3).join(',') + (eps.length > 3 ? ` + ${eps.length - 3} more...` : '') : '<none>'
      },
    },
    AGE,
  ],
  Event: [
    { name: 'Type', cell: (o) => o.type ?? 'Normal' },
    { name: 'Reason', cell: (o) => o.reason ?? '' },
    { name: 'Object', cell: (o) => `${(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}` },
    { name: 'Message', cell: (o) => o.message ?? '' },
  ],
}

export const TABLE_CT = 'application/json;as=Table;v=v1;g=meta.k8s.io'

export function toTable(t: ResourceType, objects: Obj[], resourceVersion: string) {
  const cols: Column[] = [{ name: 'Name', cell: (o) => o.metadata.name }, ...(COLUMNS[t.kind] ?? [AGE])]
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: cols.map((c) => ({
      name: c.name,
      type: c.type ?? (typeof c.cell === 'function' ? 'string' : 'string'),
      format: c.name === 'Name' ? 'name' : '',
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(o)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  }
}
