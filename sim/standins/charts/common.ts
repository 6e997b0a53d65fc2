// What the simulated Scalar charts share: names, labels, value coalescing, --set parsing and the
// type checks of the charts' values.schema.json (sim/standins/charts/schemas.ts).
import { createHash } from 'node:crypto'
import YAML from 'yaml'
import { SCHEMAS } from './schemas.ts'

export interface ChartVersion {
  version: string
  appVersion: string
}

export interface Chart {
  name: string
  description: string
  versions: ChartVersion[]
  defaults(): any
  /** Helm's `fail` in a template (validate-values.yaml): the message, or undefined. */
  validate?(values: any): string | undefined
  render(release: string, namespace: string, values: any, chart: ChartVersion): any[]
}

const trimName = (s: string) => s.slice(0, 63).replace(/-+$/, '')

/** `<chart>.name` (every chart's _helpers.tpl): nameOverride, else the chart name; 63 characters. */
export function chartName(chart: string, values: any): string {
  return trimName(values.nameOverride || chart)
}

/**
 * `<chart>.fullname` (_helpers.tpl of scalardl, scalardl-audit, schema-loading and envoy, same
 * rule): fullnameOverride; else the release name when it contains the (overridden) name; else
 * `<release>-<name>`.
 */
export function fullname(release: string, chart: string, values: any): string {
  if (values.fullnameOverride) return trimName(String(values.fullnameOverride))
  const name = values.nameOverride || chart
  return trimName(release.includes(name) ? release : `${release}-${name}`)
}

/** `<chart>.labels` of _helpers.tpl: helm.sh/chart, the selector labels, version, managed-by. */
export function labels(chart: string, cv: ChartVersion, selector: Record<string, string>): Record<string, string> {
  return {
    'helm.sh/chart': trimName(`${chart}-${cv.version}`.replace(/\+/g, '_')),
    ...selector,
    'app.kubernetes.io/version': cv.appVersion,
    'app.kubernetes.io/managed-by': 'Helm',
  }
}

/**
 * The `checksum/config` pod annotation (scalardl-4.12.0 templates/ledger/deployment.yaml:21,
 * scalardl-audit-2.12.0 templates/auditor/deployment.yaml:21): sha256 of the rendered properties
 * ConfigMap, so any change of the properties changes the pod template and rolls the Pods.
 */
export function checksum(obj: unknown): string {
  return createHash('sha256').update(YAML.stringify(obj)).digest('hex')
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

/**
 * Type errors of the coalesced values against a chart's values.schema.json, in helm's wording
 * (helm validates with gojsonschema: `- <path>: Invalid type. Expected: <t>, given: <t>`). Every
 * key the schema types is checked, whether or not the chart's defaults have it.
 */
export function schemaErrors(chart: string, values: any, prefix = ''): string[] {
  const types = SCHEMAS[chart]
  if (!types) return []
  const errors: string[] = []
  const walk = (v: unknown, p: string) => {
    const want = types.get(p)
    if (want && v !== undefined) {
      const got = typeOf(v)
      if (want !== got && !(want === 'number' && got === 'integer'))
        errors.push(`- ${prefix}${p}: Invalid type. Expected: ${want}, given: ${got}`)
    }
    if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k)
  }
  walk(values, '')
  return errors
}

/** --set a.b=c,d[0].e=f: dotted paths, list indexes, and helm's scalar typing. */
export function parseSet(expr: string, asString = false): any {
  const out: any = {}
  for (const part of expr.split(/,(?![^[]*\])/)) {
    const i = part.indexOf('=')
    if (i < 1) throw new Error(`failed parsing --set data: key "${part}" has no value`)
    const keyPath = part.slice(0, i)
    const raw = part.slice(i + 1)
    const value: unknown = asString
      ? raw
      : raw === 'true'
        ? true
        : raw === 'false'
          ? false
          : raw === 'null'
            ? null
            : /^-?\d+$/.test(raw)
              ? Number(raw)
              : raw
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

/** `{{- with X }} key: X {{- end }}`: the key only when the value is non-empty (Go's truthiness). */
export function withValue<T>(key: string, v: T): Record<string, T> {
  const empty =
    v === undefined ||
    v === null ||
    v === '' ||
    v === false ||
    v === 0 ||
    (Array.isArray(v) && !v.length) ||
    (isObj(v) && !Object.keys(v).length)
  return empty ? {} : { [key]: v }
}

/** `range $key, $value := <map>`: Go templates visit map keys in sorted order. */
export function sortedEntries<T>(m: Record<string, T> | undefined): [string, T][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The credentials Secret a chart makes when no existingSecret is given (templates/*secret.yaml). */
export function dbSecret(name: string, namespace: string, lbl: Record<string, string>, username: string, password: string): any {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: lbl },
    type: 'Opaque',
    data: {
      'db-username': Buffer.from(String(username ?? '')).toString('base64'),
      'db-password': Buffer.from(String(password ?? '')).toString('base64'),
    },
  }
}
