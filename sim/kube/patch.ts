// The patch types kubectl sends: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic
// merge patch with the merge keys and directives kubectl relies on, and server-side apply.

type Json = any

const isObj = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v)
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v))

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return clone(patch)
  const out: Record<string, Json> = isObj(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

function pointer(path: string): string[] {
  if (path === '') return []
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
}

export class PatchError extends Error {}

export function jsonPatch(target: Json, ops: { op: string; path: string; value?: Json; from?: string }[]): Json {
  let doc = clone(target)
  const parentOf = (path: string): [Json, string] => {
    const parts = pointer(path)
    const last = parts.pop()!
    let cur = doc
    for (const p of parts) {
      cur = Array.isArray(cur) ? cur[Number(p)] : cur?.[p]
      if (cur === undefined) throw new PatchError(`path ${path} does not exist`)
    }
    return [cur, last]
  }
  const read = (path: string): Json => pointer(path).reduce((c, p) => (Array.isArray(c) ? c[Number(p)] : c?.[p]), doc)
  for (const op of ops) {
    if (op.path === '' && (op.op === 'add' || op.op === 'replace')) {
      doc = clone(op.value)
      continue
    }
    switch (op.op) {
      case 'add': {
        const [p, k] = parentOf(op.path)
        if (Array.isArray(p)) p.splice(k === '-' ? p.length : Number(k), 0, clone(op.value))
        else p[k] = clone(op.value)
        break
      }
      case 'remove': {
        const [p, k] = parentOf(op.path)
        if (Array.isArray(p)) p.splice(Number(k), 1)
        else if (k in p) delete p[k]
        else throw new PatchError(`path ${op.path} does not exist`)
        break
      }
      case 'replace': {
        const [p, k] = parentOf(op.path)
        if (!(Array.isArray(p) ? Number(k) < p.length : k in p)) throw new PatchError(`path ${op.path} does not exist`)
        p[Array.isArray(p) ? Number(k) : k] = clone(op.value)
        break
      }
      case 'move':
      case 'copy': {
        const value = clone(read(op.from!))
        if (op.op === 'move') jsonPatchInPlace(op.from!, 'remove')
        const [p, k] = parentOf(op.path)
        if (Array.isArray(p)) p.splice(k === '-' ? p.length : Number(k), 0, value)
        else p[k] = value
        break
      }
      case 'test':
        if (JSON.stringify(read(op.path)) !== JSON.stringify(op.value)) throw new PatchError(`test failed at ${op.path}`)
        break
      default:
        throw new PatchError(`unknown op ${op.op}`)
    }
  }
  return doc
  function jsonPatchInPlace(path: string, _op: 'remove') {
    const [p, k] = parentOf(path)
    if (Array.isArray(p)) p.splice(Number(k), 1)
    else delete p[k]
  }
}

/** Merge keys of the lists kubectl patches strategically; other lists are replaced whole. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  secrets: 'name',
  volumeMounts: 'mountPath',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
}
const SET_LISTS = new Set(['finalizers'])

function mergeKeyFor(field: string, items: Json[]): string | undefined {
  if (field === 'ports') return items.some((i) => isObj(i) && 'containerPort' in i) ? 'containerPort' : 'port'
  return MERGE_KEYS[field]
}

export function strategicMerge(original: Json, patch: Json): Json {
  if (!isObj(patch)) return clone(patch)
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch
    return clone(rest)
  }
  if (patch.$patch === 'delete') return undefined
  let out: Record<string, Json> = isObj(original) ? { ...original } : {}
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set<string>(patch.$retainKeys)
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)))
  }
  const orders: Record<string, Json[]> = {}
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys' || k === '$patch') continue
    if (k.startsWith('$setElementOrder/')) {
      orders[k.slice('$setElementOrder/'.length)] = v
      continue
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length)
      if (Array.isArray(out[field])) out[field] = out[field].filter((x: Json) => !(v as Json[]).includes(x))
      continue
    }
    if (v === null) {
      delete out[k]
      continue
    }
    if (Array.isArray(v)) {
      const cur = Array.isArray(out[k]) ? out[k] : []
      const key = mergeKeyFor(k, [...cur, ...v])
      if (key && v.every(isObj)) out[k] = mergeList(cur, v, key)
      else if (SET_LISTS.has(k)) out[k] = [...new Set([...cur, ...v])]
      else out[k] = clone(v)
      continue
    }
    if (isObj(v)) {
      const merged = strategicMerge(out[k], v)
      if (merged === undefined) delete out[k]
      else out[k] = merged
      continue
    }
    out[k] = v
  }
  for (const [field, order] of Object.entries(orders)) {
    if (!Array.isArray(out[field])) continue
    const key = mergeKeyFor(field, out[field])
    const id = (x: Json) => (key && isObj(x) ? x[key] : x)
    const rank = new Map(order.map((o, i) => [JSON.stringify(id(o)), i]))
    out[field] = [...out[field]].sort((a, b) => (rank.get(JSON.stringify(id(a))) ?? 1e9) - (rank.get(JSON.stringify(id(b))) ?? 1e9))
  }
  return out
}

function mergeList(current: Json[], patch: Json[], key: string): Json[] {
  const out = current.map(clone)
  for (const item of patch) {
    const idx = out.findIndex((x) => isObj(x) && x[key] === item[key])
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1)
      continue
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], item)
    else {
      const { $patch: _p, ...rest } = item
      out.push(strategicMerge({}, rest))
    }
  }
  return out
}

/**
 * Server-side apply, approximated: fields (and keyed list items) this manager applied last time
 * but no longer applies are removed, then the applied configuration is merged in. Conflicts
 * between managers are not detected.
 */
export function serverSideApply(live: Json, applied: Json, previous: Json | undefined): Json {
  const pruned = previous ? prune(live, previous, applied) : live
  return strategicMerge(pruned, applied)
}

function prune(live: Json, prev: Json, now: Json, field = ''): Json {
  if (!isObj(live) || !isObj(prev)) return live
  const out = { ...live }
  for (const [k, pv] of Object.entries(prev)) {
    const nv = isObj(now) ? now[k] : undefined
    if (nv === undefined) {
      delete out[k]
      continue
    }
    if (isObj(pv) && isObj(nv)) out[k] = prune(out[k], pv, nv, k)
    else if (Array.isArray(pv) && Array.isArray(nv) && Array.isArray(out[k])) {
      const key = mergeKeyFor(k, pv)
      if (key) {
        const keep = new Set(nv.map((x: Json) => x?.[key]))
        const dropped = new Set(pv.map((x: Json) => x?.[key]).filter((x: Json) => !keep.has(x)))
        out[k] = out[k]
          .filter((x: Json) => !dropped.has(x?.[key]))
          .map((x: Json) => {
            const p = pv.find((y: Json) => y?.[key] === x?.[key])
            const n = nv.find((y: Json) => y?.[key] === x?.[key])
            return p && n ? prune(x, p, n, k) : x
          })
      }
    }
  }
  void field
  return out
}
