// The resource table: one row per kind drives discovery, OpenAPI, URL parsing and tables.

export interface ResourceType {
  group: string // "" for core
  version: string
  resource: string // plural
  kind: string
  singular: string
  namespaced: boolean
  shortNames: string[]
  categories: string[]
  subresources: string[]
}

const r = (
  group: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[] = [],
  subresources: string[] = [],
  all = true,
): ResourceType => ({
  group,
  version: 'v1',
  resource,
  kind,
  singular: kind.toLowerCase(),
  namespaced,
  shortNames,
  categories: all ? ['all'] : [],
  subresources,
})

export const RESOURCES: ResourceType[] = [
  r('', 'namespaces', 'Namespace', false, ['ns'], ['status'], false),
  r('', 'nodes', 'Node', false, ['no'], ['status'], false),
  r('', 'pods', 'Pod', true, ['po'], ['status', 'log'], true),
  r('', 'services', 'Service', true, ['svc'], ['status'], true),
  r('', 'endpoints', 'Endpoints', true, ['ep'], [], false),
  r('', 'secrets', 'Secret', true, [], [], false),
  r('', 'configmaps', 'ConfigMap', true, ['cm'], [], false),
  r('', 'serviceaccounts', 'ServiceAccount', true, ['sa'], [], false),
  r('', 'events', 'Event', true, ['ev'], [], false),
  r('apps', 'deployments', 'Deployment', true, ['deploy'], ['status', 'scale'], true),
  r('apps', 'replicasets', 'ReplicaSet', true, ['rs'], ['status', 'scale'], true),
  r('apps', 'daemonsets', 'DaemonSet', true, ['ds'], ['status'], true),
  r('batch', 'jobs', 'Job', true, [], ['status'], true),
  r('policy', 'poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb'], ['status'], false),
]

export function groupVersion(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version
}

export function byResource(group: string, resource: string): ResourceType | undefined {
  return RESOURCES.find((t) => t.group === group && t.resource === resource)
}

export function groups(): { group: string; version: string; types: ResourceType[] }[] {
  const out = new Map<string, { group: string; version: string; types: ResourceType[] }>()
  for (const t of RESOURCES) {
    const key = groupVersion(t)
    if (!out.has(key)) out.set(key, { group: t.group, version: t.version, types: [] })
    out.get(key)!.types.push(t)
  }
  return [...out.values()]
}
