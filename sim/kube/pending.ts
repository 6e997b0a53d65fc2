// The daemon's --pending-ms (sim/kube/flags.ts lists the option): how long new resources stay pending.
import { AWS_PENDING_MS, type PendingMs } from '../faults.ts'

/**
 * --pending-ms N, or N,KIND=M,...: how long new resources stay pending, in ms before `scale`; one
 * figure for every kind, or some kinds (nat, instance, cluster, nodegroup) their own.
 */
export function pendingFlag(flag: string, scale = 1): number | PendingMs {
  const ms = (v: string | undefined, what: string) => {
    if (!v || !/^\d+$/.test(v)) throw new Error(`--pending-ms: ${what} must be a whole number of milliseconds: ${flag}`)
    return Number(v) * scale
  }
  const [all, ...kinds] = flag.split(',')
  const figure = ms(all, 'the first figure')
  if (!kinds.length) return figure
  const own = new Map(kinds.map((kv) => kv.split('=') as [string, string | undefined]))
  for (const [k, v] of own) {
    if (!(k in AWS_PENDING_MS)) throw new Error(`--pending-ms: no kind ${k} (${Object.keys(AWS_PENDING_MS).join(', ')})`)
    ms(v, k)
  }
  return Object.fromEntries(Object.keys(AWS_PENDING_MS).map((k) => [k, own.has(k) ? ms(own.get(k), k) : figure])) as PendingMs
}
