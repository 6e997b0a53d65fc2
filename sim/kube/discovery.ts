// Discovery (aggregated v2 and legacy) and the minimal OpenAPI v3 kubectl apply validates with.
import { createHash } from 'node:crypto'
import { groups, RESOURCES, type ResourceType } from './resources.ts'

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']
export const AGGREGATED_CT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'

function aggregatedResource(t: ResourceType) {
  return {
    resource: t.resource,
    responseKind: { group: t.group, version: t.version, kind: t.kind },
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: VERBS,
    ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length ? { categories: t.categories } : {}),
    subresources: t.subresources.map((s) => ({
      subresource: s,
      responseKind:
        s === 'scale'
          ? { group: 'autoscaling', version: 'v1', kind: 'Scale' }
          : s === 'log'
            ? { group: '', version: 'v1', kind: 'Pod' }
            : { group: t.group, version: t.version, kind: t.kind },
      verbs: s === 'log' ? ['get'] : ['get', 'patch', 'update'],
    })),
  }
}

export function aggregatedDiscovery(core: boolean) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups()
      .filter((g) => (g.group === '') === core)
      .map((g) => ({
        metadata: { name: g.group, creationTimestamp: null },
        versions: [{ version: g.version, resources: g.types.map(aggregatedResource), freshness: 'Current' }],
      })),
  }
}

export function legacyApiVersions(host: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] }
}

export function legacyGroupList() {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups()
      .filter((g) => g.group)
      .map((g) => ({
        name: g.group,
        versions: [{ groupVersion: `${g.group}/${g.version}`, version: g.version }],
        preferredVersion: { groupVersion: `${g.group}/${g.version}`, version: g.version },
      })),
  }
}

export function legacyResourceList(group: string, version: string) {
  const types = RESOURCES.filter((t) => t.group === group && t.version === version)
  if (!types.length) return undefined
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.flatMap((t) => [
      {
        name: t.resource,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: VERBS,
        ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
        ...(t.categories.length ? { categories: t.categories } : {}),
      },
      ...t.subresources.map((s) => ({
        name: `${t.resource}/${s}`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      })),
    ]),
  }
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`
}

function openapiDoc(group: string, version: string) {
  const paths: Record<string, unknown> = {}
  for (const t of RESOURCES.filter((x) => x.group === group && x.version === version)) {
    const base = `/${gvPath(group, version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`
    paths[base] = {
      patch: {
        'x-kubernetes-group-version-kind': { group: t.group, version: t.version, kind: t.kind },
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } }],
        // No strategic-merge-patch content type here: kubectl then uses its compiled-in types
        // to build strategic patches instead of needing full schemas (see the reference, G5).
        requestBody: {
          content: {
            'application/json-patch+json': { schema: {} },
            'application/merge-patch+json': { schema: {} },
            'application/apply-patch+yaml': { schema: {} },
          },
        },
        responses: { '200': { description: 'OK' } },
      },
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas: {} } }
}

const docs = new Map(groups().map((g) => [gvPath(g.group, g.version), openapiDoc(g.group, g.version)]))
const hashes = new Map(
  [...docs].map(([p, d]) => [p, createHash('sha512').update(JSON.stringify(d)).digest('hex').slice(0, 32).toUpperCase()]),
)

export function openapiRoot() {
  return { paths: Object.fromEntries([...docs.keys()].map((p) => [p, { serverRelativeURL: `/openapi/v3/${p}?hash=${hashes.get(p)}` }])) }
}

export function openapiFor(path: string) {
  return docs.get(path)
}
