// One cluster's objects in memory: a global resourceVersion, an append-only event log for
// watch replay, and listeners (watchers and controllers) called on every change.
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { ResourceType } from './resources.ts'
import { groupVersion } from './resources.ts'

export type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, any>; spec?: any; status?: any; [k: string]: any }
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface StoreEvent {
  rv: number
  type: EventType
  t: ResourceType
  object: Obj
  old?: Obj
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
  }
}

const MAX_EVENTS = 20000

export const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

export class Store {
  private rv = 1000
  private readonly objects = new Map<string, Obj>()
  readonly events: StoreEvent[] = []
  private readonly listeners = new Set<(e: StoreEvent) => void>()
  /** What each Pod's container printed (`<namespace>/<pod>`), served as its log. */
  readonly logs = new Map<string, string>()

  get resourceVersion(): number {
    return this.rv
  }

  /** The oldest resourceVersion a watch can resume from. */
  get oldestReplayable(): number {
    return this.events[0]?.rv ?? this.rv
  }

  private key(t: ResourceType, ns: string | undefined, name: string): string {
    return `${t.group}/${t.resource}/${t.namespaced ? (ns ?? '') : ''}/${name}`
  }

  list(t: ResourceType, ns?: string): Obj[] {
    const prefix = `${t.group}/${t.resource}/`
    const out: Obj[] = []
    for (const [k, o] of this.objects) if (k.startsWith(prefix) && (!ns || !t.namespaced || o.metadata.namespace === ns)) out.push(o)
    return out.sort((a, b) =>
      `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`),
    )
  }

  get(t: ResourceType, ns: string | undefined, name: string): Obj | undefined {
    return this.objects.get(this.key(t, ns, name))
  }

  mustGet(t: ResourceType, ns: string | undefined, name: string): Obj {
    const o = this.get(t, ns, name)
    if (!o) throw notFound(t, name)
    return o
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(type: EventType, t: ResourceType, object: Obj, old?: Obj): void {
    const e = { rv: this.rv, type, t, object, old }
    this.events.push(e)
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS)
    for (const fn of [...this.listeners]) fn(e)
  }

  create(t: ResourceType, input: Obj): Obj {
    const name = input.metadata?.name
    if (!name) {
      if (input.metadata?.generateName) input.metadata.name = input.metadata.generateName + randomUUID().slice(0, 5)
      else throw new ApiError(422, 'Invalid', `${t.kind} "" is invalid: metadata.name: Required value: name or generateName is required`)
    }
    const ns = t.namespaced ? input.metadata.namespace || 'default' : undefined
    if (t.namespaced && !this.get(NAMESPACE_TYPE, undefined, ns!))
      throw new ApiError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' })
    const key = this.key(t, ns, input.metadata.name)
    if (this.objects.has(key))
      throw new ApiError(409, 'AlreadyExists', `${t.resource} "${input.metadata.name}" already exists`, {
        name: input.metadata.name,
        kind: t.resource,
      })
    this.rv++
    const obj: Obj = structuredClone({ ...input, apiVersion: groupVersion(t), kind: t.kind })
    obj.metadata = {
      ...obj.metadata,
      ...(ns ? { namespace: ns } : {}),
      uid: randomUUID(),
      resourceVersion: String(this.rv),
      creationTimestamp: now(),
    }
    if (obj.spec !== undefined && t.resource !== 'nodes' && t.resource !== 'namespaces') obj.metadata.generation = 1
    delete obj.metadata.managedFields
    this.objects.set(key, obj)
    this.emit('ADDED', t, obj)
    return obj
  }

  /**
   * Replaces an object. Server-owned metadata is kept; an unchanged object is not written (no new
   * resourceVersion); expectedRv gives optimistic concurrency.
   */
  update(t: ResourceType, input: Obj, expectedRv?: string): Obj {
    const ns = t.namespaced ? input.metadata.namespace || 'default' : undefined
    const key = this.key(t, ns, input.metadata.name)
    const old = this.objects.get(key)
    if (!old) throw notFound(t, input.metadata.name)
    if (expectedRv && expectedRv !== old.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.resource} "${input.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      )
    }
    const obj: Obj = structuredClone({ ...input, apiVersion: groupVersion(t), kind: t.kind })
    obj.metadata = {
      ...obj.metadata,
      namespace: old.metadata.namespace,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      resourceVersion: old.metadata.resourceVersion,
      generation: old.metadata.generation,
    }
    if (obj.metadata.namespace === undefined) delete obj.metadata.namespace
    if (obj.metadata.generation === undefined) delete obj.metadata.generation
    for (const k of Object.keys(obj.metadata)) if (obj.metadata[k] === null) delete obj.metadata[k]
    if (isDeepStrictEqual(obj, old)) return old
    if (old.metadata.generation !== undefined && !isDeepStrictEqual(obj.spec, old.spec))
      obj.metadata.generation = old.metadata.generation + 1
    this.rv++
    obj.metadata.resourceVersion = String(this.rv)
    this.objects.set(key, obj)
    this.emit('MODIFIED', t, obj, old)
    return obj
  }

  delete(t: ResourceType, ns: string | undefined, name: string): Obj {
    const key = this.key(t, t.namespaced ? ns || 'default' : undefined, name)
    const old = this.objects.get(key)
    if (!old) throw notFound(t, name)
    this.objects.delete(key)
    this.rv++
    const obj = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } }
    this.emit('DELETED', t, obj, old)
    // Cascade: objects owned by this one go too (background propagation).
    for (const [k, o] of [...this.objects]) {
      if ((o.metadata.ownerReferences ?? []).some((r: { uid: string }) => r.uid === old.metadata.uid)) {
        const [group, resource] = k.split('/')
        const ot = RESOURCE_LOOKUP(group!, resource!)
        if (ot) this.delete(ot, o.metadata.namespace, o.metadata.name)
      }
    }
    return obj
  }
}

export function notFound(t: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${t.resource}${t.group ? `.${t.group}` : ''} "${name}" not found`, {
    name,
    kind: t.resource,
    group: t.group,
  })
}

// Filled by resources.ts users (avoids a cycle in the type-only import above).
import { byResource } from './resources.ts'
const RESOURCE_LOOKUP = byResource
const NAMESPACE_TYPE = byResource('', 'namespaces')!
