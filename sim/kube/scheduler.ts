// Scheduling as kube-scheduler decides it for the rules the guide depends on: node readiness,
// nodeSelector, required node affinity, taints vs tolerations, and pod anti-affinity on
// kubernetes.io/hostname. A pod that fits nowhere stays Pending with the scheduler's message.
import { selectorMatches, type LabelSelector } from './selectors.ts'
import type { Obj } from './store.ts'

interface Taint {
  key: string
  value?: string
  effect: string
}
interface Toleration {
  key?: string
  operator?: 'Exists' | 'Equal'
  value?: string
  effect?: string
}

export function tolerates(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false
    if (!t.key) return t.operator === 'Exists'
    if (t.key !== taint.key) return false
    return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '')
  })
}

/** Taints that keep the pod off the node (NoSchedule and NoExecute; PreferNoSchedule does not). */
function untoleratedTaints(pod: Obj, node: Obj): Taint[] {
  return ((node.spec?.taints ?? []) as Taint[]).filter((t) => t.effect !== 'PreferNoSchedule' && !tolerates(pod.spec?.tolerations, t))
}

function nodeReady(node: Obj): boolean {
  return (
    (node.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') &&
    !node.spec?.unschedulable
  )
}

interface NodeSelectorRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'
  values?: string[]
}

function requirementHolds(r: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const v = labels[r.key]
  switch (r.operator) {
    case 'In':
      return v !== undefined && (r.values ?? []).includes(v)
    case 'NotIn':
      return v === undefined || !(r.values ?? []).includes(v)
    case 'Exists':
      return v !== undefined
    case 'DoesNotExist':
      return v === undefined
    case 'Gt':
      return v !== undefined && Number(v) > Number(r.values?.[0])
    case 'Lt':
      return v !== undefined && Number(v) < Number(r.values?.[0])
  }
}

function nodeAffinityHolds(pod: Obj, node: Obj): boolean {
  const labels = node.metadata.labels ?? {}
  const sel = pod.spec?.nodeSelector as Record<string, string> | undefined
  if (sel && Object.entries(sel).some(([k, v]) => labels[k] !== v)) return false
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms as
    | { matchExpressions?: NodeSelectorRequirement[] }[]
    | undefined
  if (!terms?.length) return true
  return terms.some((t) => (t.matchExpressions ?? []).every((r) => requirementHolds(r, labels)))
}

interface AffinityTerm {
  labelSelector?: LabelSelector
  topologyKey: string
  namespaces?: string[]
}

function antiAffinityHolds(pod: Obj, node: Obj, nodes: Obj[], bound: Obj[]): boolean {
  const terms = (pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) as AffinityTerm[]
  return terms.every((term) => {
    const domain = node.metadata.labels?.[term.topologyKey]
    if (domain === undefined) return true
    const sameDomain = new Set(nodes.filter((n) => n.metadata.labels?.[term.topologyKey] === domain).map((n) => n.metadata.name))
    const namespaces = term.namespaces?.length ? term.namespaces : [pod.metadata.namespace]
    return !bound.some(
      (p) =>
        p !== pod &&
        sameDomain.has(p.spec?.nodeName) &&
        namespaces.includes(p.metadata.namespace) &&
        selectorMatches(term.labelSelector, p.metadata.labels),
    )
  })
}

function preferredAntiAffinityScore(pod: Obj, node: Obj, bound: Obj[]): number {
  const terms = (pod.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) as {
    weight: number
    podAffinityTerm: AffinityTerm
  }[]
  let score = 0
  for (const t of terms) {
    const domain = node.metadata.labels?.[t.podAffinityTerm.topologyKey]
    const clash = bound.filter(
      (p) =>
        p.spec?.nodeName === node.metadata.name &&
        domain !== undefined &&
        selectorMatches(t.podAffinityTerm.labelSelector, p.metadata.labels),
    ).length
    score -= clash * t.weight
  }
  return score
}

type Placement = { node: string } | { reason: string }

/** Picks a node for the pod, or says why none fits, in kube-scheduler's words. */
export function schedule(pod: Obj, nodes: Obj[], bound: Obj[]): Placement {
  const reasons = new Map<string, number>()
  const add = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1)
  const fit: Obj[] = []
  for (const node of nodes) {
    if (!nodeReady(node)) {
      add(node.spec?.unschedulable ? 'node(s) were unschedulable' : 'node(s) were not ready')
      continue
    }
    if (!nodeAffinityHolds(pod, node)) {
      add("node(s) didn't match Pod's node affinity/selector")
      continue
    }
    const taints = untoleratedTaints(pod, node)
    if (taints.length) {
      const t = taints[0]!
      add(`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`)
      continue
    }
    if (!antiAffinityHolds(pod, node, nodes, bound)) {
      add("node(s) didn't match pod anti-affinity rules")
      continue
    }
    const max = Number(node.status?.allocatable?.pods ?? 110)
    if (bound.filter((p) => p.spec?.nodeName === node.metadata.name).length >= max) {
      add('Too many pods')
      continue
    }
    fit.push(node)
  }
  if (!fit.length) {
    const detail = [...reasons]
      .map(([r, n]) => `${n} ${r}`)
      .sort()
      .join(', ')
    return {
      reason: `0/${nodes.length} nodes are available${detail ? `: ${detail}` : ''}. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.`,
    }
  }
  const load = (n: Obj) => bound.filter((p) => p.spec?.nodeName === n.metadata.name).length
  fit.sort(
    (a, b) =>
      preferredAntiAffinityScore(pod, b, bound) - preferredAntiAffinityScore(pod, a, bound) ||
      load(a) - load(b) ||
      a.metadata.name.localeCompare(b.metadata.name),
  )
  return { node: fit[0]!.metadata.name }
}

/** Whether a DaemonSet pod belongs on the node (taints, selector, affinity). */
export function daemonFits(template: Obj, node: Obj): boolean {
  return nodeAffinityHolds(template, node) && untoleratedTaints(template, node).length === 0
}
