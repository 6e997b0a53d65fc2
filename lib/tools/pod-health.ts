// The one judge of a Pod, for 04's rollout and 07's checks alike: Running and Ready, or why not,
// in kubectl's words. Every container counts (the first one alone hides a sidecar's crash), in the
// order kubectl describes a Pod's trouble: not scheduled, a container waiting (CrashLoopBackOff
// with its restarts), a container terminated, then the phase.
import type { KubeObject } from './kubectl.ts'

interface ContainerStatus {
  name: string
  restartCount?: number
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } }
}

/** The Ready condition of a Pod or a Node. */
export const isReady = (o: KubeObject) =>
  ((o.status?.conditions ?? []) as { type: string; status: string }[]).some((c) => c.type === 'Ready' && c.status === 'True')

/** Why a Pod is not Running and Ready (crash: it will not get better by waiting), or undefined when it is. */
export function podProblem(p: KubeObject): { reason: string; crash: boolean } | undefined {
  if (p.status?.phase === 'Running' && isReady(p)) return undefined
  const unsched = ((p.status?.conditions ?? []) as { reason?: string; message?: string }[]).find((c) => c.reason === 'Unschedulable')
  if (unsched) return { reason: `Pending: ${unsched.message}`, crash: false }
  const statuses = (p.status?.containerStatuses ?? []) as ContainerStatus[]
  const waiting = statuses.find((c) => c.state?.waiting?.reason)
  const w = waiting?.state?.waiting
  if (w)
    return {
      reason: `${w.reason}${w.reason === 'CrashLoopBackOff' ? ` (${waiting!.restartCount ?? 0} restarts)` : w.message ? `: ${w.message}` : ''}`,
      crash: w.reason === 'CrashLoopBackOff' || w.reason === 'CreateContainerConfigError',
    }
  const t = statuses.find((c) => c.state?.terminated?.reason)?.state?.terminated
  if (t) return { reason: `${t.reason} (exit ${t.exitCode})`, crash: false }
  return { reason: p.status?.phase === 'Running' ? 'Running but not Ready' : (p.status?.phase ?? 'Pending'), crash: false }
}
