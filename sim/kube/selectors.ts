// Label and field selectors as the API server parses them.

type Op = '=' | '!=' | 'in' | 'notin' | 'exists' | '!exists' | '<' | '>'
interface Requirement {
  key: string
  op: Op
  values: string[]
}

/** Splits on commas that are not inside parentheses: "a in (x,y),b=c". */
function splitTop(s: string): string[] {
  const parts: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of s) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      parts.push(cur)
      cur = ''
    } else cur += ch
  }
  if (cur.trim()) parts.push(cur)
  return parts.map((p) => p.trim()).filter(Boolean)
}

function parseLabelSelector(s: string | null | undefined): Requirement[] {
  if (!s) return []
  return splitTop(s).map((p) => {
    let m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(p)
    if (m)
      return {
        key: m[1]!,
        op: m[2] as Op,
        values: m[3]!
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      }
    m = /^([^!=<>\s]+)\s*(==|!=|=|<|>)\s*(.*)$/.exec(p)
    if (m) return { key: m[1]!, op: (m[2] === '==' ? '=' : m[2]) as Op, values: [m[3]!.trim()] }
    if (p.startsWith('!')) return { key: p.slice(1).trim(), op: '!exists', values: [] }
    if (/^[\w./-]+$/.test(p)) return { key: p, op: 'exists', values: [] }
    throw new Error(`unable to parse requirement: ${p}`)
  })
}

function matches(reqs: Requirement[], get: (key: string) => string | undefined): boolean {
  return reqs.every(({ key, op, values }) => {
    const v = get(key)
    switch (op) {
      case '=':
        return v === values[0]
      case '!=':
        return v !== values[0]
      case 'in':
        return v !== undefined && values.includes(v)
      case 'notin':
        return v === undefined || !values.includes(v)
      case 'exists':
        return v !== undefined
      case '!exists':
        return v === undefined
      case '<':
        return v !== undefined && Number(v) < Number(values[0])
      case '>':
        return v !== undefined && Number(v) > Number(values[0])
    }
  })
}

export function labelsMatch(selector: string | null | undefined, labels: Record<string, string> | undefined): boolean {
  return matches(parseLabelSelector(selector), (k) => labels?.[k])
}

/** matchLabels + matchExpressions, as in Deployment.spec.selector and affinity terms. */
export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[]
}

export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false
  const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({ key, op: '=', values: [v] }))
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' } as const)[e.operator]
    reqs.push({ key: e.key, op, values: e.values ?? [] })
  }
  return matches(reqs, (k) => labels?.[k])
}

function getPath(obj: unknown, path: string): string | undefined {
  let cur: any = obj
  for (const part of path.split('.')) {
    if (cur == null || typeof cur !== 'object') return undefined
    cur = cur[part]
  }
  return cur == null ? undefined : String(cur)
}

/** Field selectors: =, ==, != on any dotted path (lenient, like the experiment's). */
export function fieldsMatch(selector: string | null | undefined, obj: unknown): boolean {
  if (!selector) return true
  return splitTop(selector).every((p) => {
    const m = /^([^!=]+?)\s*(==|!=|=)\s*(.*)$/.exec(p)
    if (!m) throw new Error(`invalid field selector: ${p}`)
    const v = getPath(obj, m[1]!.trim()) ?? ''
    return m[2] === '!=' ? v !== m[3] : v === m[3]
  })
}
