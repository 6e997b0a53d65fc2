// Whether a server release (Ledger or Auditor, with its Envoy) is what it declares and finished
// rolling out: the live objects against `helm get manifest` (a rerun repairs what someone changed
// by hand, as the guide's `helm upgrade` would), and each Deployment's rollout as the Deployment
// controller reports it (kubernetes v1.32.0 pkg/controller/deployment/sync.go calculateStatus,
// progress.go; kubectl's `rollout status` reads the same fields).
import YAML from 'yaml'
import type { Kubectl, KubeObject } from '../tools/kubectl.ts'

interface Declared {
  kind: string
  name: string
  replicas?: number
  images?: string[]
}

const images = (o: KubeObject) => ((o.spec?.template?.spec?.containers ?? []) as { image: string }[]).map((c) => c.image)

/** The objects of a release manifest (kinds and names; for Deployments, replicas and images). */
function declaredObjects(manifest: string): Declared[] {
  return YAML.parseAllDocuments(manifest)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => Boolean(o?.kind && o.metadata?.name))
    .map((o) =>
      o.kind === 'Deployment'
        ? { kind: o.kind, name: o.metadata.name, replicas: o.spec?.replicas ?? 1, images: images(o) }
        : { kind: o.kind!, name: o.metadata.name },
    )
}

/** What differs between the live objects and the release's: missing objects, Deployments' replicas and images. */
export async function liveDrift(k: Kubectl, namespace: string, manifest: string): Promise<string[]> {
  const declared = declaredObjects(manifest)
  if (!declared.length) return []
  // One call for every object of the release (kubectl get kind/name ... --ignore-not-found).
  const args = ['get', ...declared.map((d) => `${d.kind.toLowerCase()}/${d.name}`), '-n', namespace, '-o', 'json', '--ignore-not-found']
  const out = (await k.run(args)).stdout.trim()
  const parsed = (out ? JSON.parse(out) : { items: [] }) as { items?: KubeObject[]; kind?: string }
  const live = parsed.items ?? (parsed.kind ? [parsed as KubeObject] : [])
  const found = new Map(live.map((o) => [`${o.kind}/${o.metadata.name}`, o]))
  const drift: string[] = []
  for (const d of declared) {
    const o = found.get(`${d.kind}/${d.name}`)
    if (!o) {
      drift.push(`${d.kind} ${d.name} is missing`)
      continue
    }
    if (d.kind !== 'Deployment') continue
    if ((o.spec?.replicas ?? 1) !== d.replicas)
      drift.push(`Deployment ${d.name} has ${o.spec?.replicas} replicas, the release ${d.replicas}`)
    const have = images(o)
    if (have.join(',') !== d.images!.join(','))
      drift.push(`Deployment ${d.name} runs ${have.join(', ')}, the release ${d.images!.join(', ')}`)
  }
  return drift
}

interface Rollout {
  name: string
  done: boolean
  /** Why it is not done, or how it stands. */
  status: string
  /** A rollout that cannot finish without a change (ProgressDeadlineExceeded). */
  stuck?: string
}

/** A Deployment's rollout: finished when the controller saw the last change and every replica is updated and available. */
export function rolloutOf(d: KubeObject): Rollout {
  const want = d.spec?.replicas ?? 1
  const s = d.status ?? {}
  const name = d.metadata.name
  const progressing = ((s.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[]).find(
    (c) => c.type === 'Progressing',
  )
  if ((s.observedGeneration ?? 0) < ((d.metadata as { generation?: number }).generation ?? 0))
    return { name, done: false, status: `${name}: the controller has not seen the latest change yet` }
  const updated = s.updatedReplicas ?? 0
  const available = s.availableReplicas ?? 0
  const total = s.replicas ?? 0
  const done = updated === want && total === want && available === want
  const counts = `${updated}/${want} updated, ${available} available${total > updated ? `, ${total - updated} old` : ''}`
  if (done) return { name, done, status: `${name} ${counts}` }
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return { name, done, status: `${name} ${counts}`, stuck: `${name}: ${progressing.message ?? 'progress deadline exceeded'} (${counts})` }
  return { name, done, status: `${name} ${counts}` }
}

// The one judge of a Pod (lib/tools/pod-health.ts), shared with 07-verify.
export { podProblem } from '../tools/pod-health.ts'
