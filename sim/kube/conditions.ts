// A Pod serves when it is Running and its Ready condition is True (kubernetes v1.32
// pkg/api/v1/pod/util.go IsPodReady); shared by the controllers, the load balancers' target
// health and the eksctl stand-in's drain.
import type { Obj } from './store.ts'

export const isReady = (p: Obj) =>
  p.status?.phase === 'Running' &&
  (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')
