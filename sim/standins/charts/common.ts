// What the three simulated Scalar charts share: names, labels, value merging and type checks as
// the charts' values.schema.json declares them (types only: unknown keys pass, as they do there).

export interface ChartVersion {
  version: string
  appVersion: string
}

export interface Chart {
  name: string
  description: string
  versions: ChartVersion[]
  defaults(): any
  render(release: string, namespace: string, values: any, chart: ChartVersion): any[]
}

/** `<chart>.fullname`: fullnameOverride, else the release name when it contains the chart name, else `<release>-<chart>`. */
export function fullname(release: string, chartName: string, values: any): string {
  if (values.fullnameOverride) return String(values.fullnameOverride).slice(0, 63).replace(/-$/, '')
  const name = values.nameOverride || chartName
  return (release.includes(name) ? release : `${release}-${name}`).slice(0, 63).replace(/-$/, '')
}

export function labels(chartName: string, release: string, chart: ChartVersion, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'helm.sh/chart': `${chartName}-${chart.version}`,
    'app.kubernetes.io/name': chartName,
    'app.kubernetes.io/instance': release,
    'app.kubernetes.io/version': chart.appVersion,
    'app.kubernetes.io/managed-by': 'Helm',
    ...extra,
  }
}

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Helm's coalescing: maps merge deeply, everything else (lists included) is replaced; null deletes. */
export function mergeValues(base: any, over: any): any {
  if (!isObj(base) || !isObj(over)) return structuredClone(over)
  const out: Record<string, any> = structuredClone(base)
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k]
    else out[k] = isObj(out[k]) && isObj(v) ? mergeValues(out[k], v) : structuredClone(v)
  }
  return out
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array'
  if (v === null) return 'null'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

/** Type errors of user values against the chart's defaults, in helm's schema-error wording. */
export function schemaErrors(defaults: any, values: any, path = ''): string[] {
  const errors: string[] = []
  if (!isObj(values) || !isObj(defaults)) return errors
  for (const [k, v] of Object.entries(values)) {
    const d = defaults[k]
    const p = path ? `${path}.${k}` : k
    if (d === undefined || d === null || v === null) continue
    const want = typeOf(d)
    const got = typeOf(v)
    const okNumber = want === 'number' && got === 'integer'
    if (want !== got && !okNumber && !(want === 'string' && d === '' && got !== 'object')) errors.push(`- ${p}: Invalid type. Expected: ${want}, given: ${got}`)
    else if (want === 'object') errors.push(...schemaErrors(d, v, p))
  }
  return errors
}

/** The ledger/auditor properties the charts render from the old-style configuration keys. */
export function propertiesFrom(lines: Record<string, unknown>): string {
  return Object.entries(lines)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
}

export function dbSecret(name: string, namespace: string, lbl: Record<string, string>, username: string, password: string): any {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: lbl }, type: 'Opaque', data: { 'db-username': Buffer.from(username ?? '').toString('base64'), 'db-password': Buffer.from(password ?? '').toString('base64') } }
}

/** --set a.b=c,d[0].e=f: dotted paths, list indexes, and helm's scalar typing. */
export function parseSet(expr: string, asString = false): any {
  const out: any = {}
  for (const part of expr.split(/,(?![^[]*\])/)) {
    const i = part.indexOf('=')
    if (i < 1) throw new Error(`failed parsing --set data: key "${part}" has no value`)
    const keyPath = part.slice(0, i)
    const raw = part.slice(i + 1)
    const value: unknown = asString ? raw : raw === 'true' ? true : raw === 'false' ? false : raw === 'null' ? null : /^-?\d+$/.test(raw) ? Number(raw) : raw
    let cur = out
    const keys = keyPath.split(/\.(?![^[]*\])/)
    keys.forEach((k, idx) => {
      const m = /^(.+?)\[(\d+)\]$/.exec(k)
      const last = idx === keys.length - 1
      if (m) {
        cur[m[1]!] ??= []
        const arr = cur[m[1]!]
        if (last) arr[Number(m[2])] = value
        else cur = arr[Number(m[2])] ??= {}
      } else if (last) cur[k] = value
      else cur = cur[k] ??= {}
    })
  }
  return out
}

