// The control loops a real cluster runs, as far as the guide's gotchas need: Deployment ->
// ReplicaSet -> Pods, DaemonSets, Jobs, the scheduler, a kubelet (image pull secrets, secret
// volumes, start-up delay), the cloud controller's load balancer hostname, and Endpoints.
import { randomBytes, randomUUID } from 'node:crypto'
import { isReady } from './conditions.ts'
import { templateHash } from './defaults.ts'
import { containerEnv, type Container } from './containers.ts'
import { isRegisterCert, isSchemaLoader, runRegisterCert, runSchemaLoader, type RunResult } from './images.ts'
import { serverKind, serverStartup } from './scalardl-server.ts'
import { byResource } from './resources.ts'
import { daemonFits, schedule } from './scheduler.ts'
import { selectorMatches } from './selectors.ts'
import { now, type Obj, type Store } from './store.ts'

export interface Knobs {
  /** From scheduled to Running and Ready. */
  podStartMs: number
  /** From Running to Completed for Job pods. */
  jobDurationMs: number
  /** An NLB from creation to `active`, and its targets from then to healthy (sim/kube/load-balancers.ts); without AWS behind the cluster, from creation to a hostname. */
  lbDelayMs: number
  /** Jobs whose name matches this regular expression fail instead of completing. */
  failJobs: string
  /** Share of Kubernetes API requests answered with 503, 500 or a reset connection. */
  apiFaultRate: number
  /** ID:SECRET of the only DynamoDB key Scalar DL may use; '' accepts any well-formed key (sim/kube/containers.ts). */
  dbCredentials: string
  /**
   * Where the caller of the simulated EKS APIs stands (sim/where.ts): '' everywhere it needs to be
   * (every endpoint answers), 'outside' off AWS, or an EC2 instance (its id or Name tag) it runs on.
   */
  caller: string
  /** How long the eksctl stand-in waits for a control plane to answer (eksctl's 25 minutes, scaled). */
  eksctlWaitMs: number
  /** Statuses DescribeClusterVersions gives instead of the calendar's, by version (sim/eks-versions.ts). */
  eksVersionStatus: Record<string, string>
  /** Quota values applied to the account, `SERVICE/CODE` -> value (sim/service-quotas.ts). */
  quotas: Record<string, number>
  /** How long a new EKS access entry or policy association takes to be effective ("eventually consistent, ... several seconds": sim/eks-access.ts). */
  accessEntryDelayMs: number
  /** From a bastion's launch (once running) to cloud-init running its user data (sim/ssm-hosts.ts boot). */
  userDataDelayMs: number
  /** `404:TOOL` or `checksum:TOOL` breaks that download of the bastion's bootstrap; '' none (sim/bootstrap-downloads.ts). */
  bootstrapFault: string
}

/** Kubernetes-side times on EKS, unscaled (--aws-delays): a Pod pulling its image ~30 s, a Job's work ~60 s, an NLB ~30 s to active and as long to healthy targets (AWS: often longer). */
export const AWS_KUBE_MS = { podStartMs: 30_000, jobDurationMs: 60_000, lbDelayMs: 30_000 }

export const DEFAULT_KNOBS: Knobs = {
  podStartMs: 300,
  jobDurationMs: 1000,
  lbDelayMs: 500,
  failJobs: '',
  apiFaultRate: 0,
  dbCredentials: '',
  caller: '',
  eksctlWaitMs: 15_000,
  eksVersionStatus: {},
  quotas: {},
  accessEntryDelayMs: 2000,
  userDataDelayMs: 1000,
  bootstrapFault: '',
}

const T = {
  pods: byResource('', 'pods')!,
  nodes: byResource('', 'nodes')!,
  services: byResource('', 'services')!,
  endpoints: byResource('', 'endpoints')!,
  secrets: byResource('', 'secrets')!,
  configmaps: byResource('', 'configmaps')!,
  events: byResource('', 'events')!,
  deployments: byResource('apps', 'deployments')!,
  replicasets: byResource('apps', 'replicasets')!,
  daemonsets: byResource('apps', 'daemonsets')!,
  jobs: byResource('batch', 'jobs')!,
}

const owner = (o: Obj, controller = true) => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name,
  uid: o.metadata.uid,
  controller,
  blockOwnerDeletion: true,
})
const ownedBy = (o: Obj, parent: Obj) => (o.metadata.ownerReferences ?? []).some((r: { uid: string }) => r.uid === parent.metadata.uid)
const suffix = () => randomBytes(3).toString('hex').slice(0, 5)
/**
 * kubernetes v1.32 pkg/controller/deployment/util/deployment_util.go ResolveFenceposts :867-886:
 * maxSurge rounds up, maxUnavailable rounds down, and both 0 make maxUnavailable 1.
 */
function fenceposts(d: Obj): { surge: number; unavailable: number } {
  const desired = d.spec?.replicas ?? 1
  if (d.spec?.strategy?.type === 'Recreate') return { surge: 0, unavailable: desired }
  const ru = d.spec?.strategy?.rollingUpdate ?? {}
  const scaled = (v: unknown, up: boolean) => {
    if (typeof v === 'number') return v
    const pct = Number(/^(\d+)%$/.exec(String(v ?? '25%'))?.[1] ?? 25)
    return up ? Math.ceil((pct * desired) / 100) : Math.floor((pct * desired) / 100)
  }
  const surge = scaled(ru.maxSurge, true)
  const unavailable = scaled(ru.maxUnavailable, false)
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable }
}

export class Controllers {
  private pending = false
  private readonly timers = new Set<NodeJS.Timeout>()
  /** When each pod (by uid) may move on to its next phase. */
  private readonly due = new Map<string, number>()
  /** Images with effects (the schema loader) run asynchronously: their results by pod uid. */
  private readonly runs = new Map<string, RunResult | 'running'>()
  private stopped = false
  /** The cloud's load balancer controller, when the cluster has an AWS account behind it (sim/kube/load-balancers.ts): it sets those Services' status itself. */
  cloud?: { handles(s: Obj): boolean }

  constructor(
    private readonly store: Store,
    readonly knobs: Knobs,
    private readonly region: string,
  ) {
    store.subscribe(() => this.kick())
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers) clearTimeout(t)
  }

  /** Reconcile soon; many changes in one tick make one pass. */
  kick(): void {
    if (this.pending || this.stopped) return
    this.pending = true
    setImmediate(() => {
      this.pending = false
      try {
        this.reconcile()
      } catch (e) {
        console.error('controller error:', e)
      }
    })
  }

  private later(ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      this.kick()
    }, ms + 5)
    this.timers.add(t)
  }

  private reconcile(): void {
    for (const d of this.store.list(T.deployments)) this.deployment(d)
    for (const rs of this.store.list(T.replicasets)) this.replicaSet(rs)
    for (const ds of this.store.list(T.daemonsets)) this.daemonSet(ds)
    for (const j of this.store.list(T.jobs)) this.job(j)
    this.scheduler()
    for (const p of this.store.list(T.pods)) this.kubelet(p)
    for (const s of this.store.list(T.services)) this.service(s)
    // Status rolls up after pods changed in this pass.
    for (const rs of this.store.list(T.replicasets)) this.replicaSetStatus(rs)
    for (const d of this.store.list(T.deployments)) this.deploymentStatus(d)
    for (const ds of this.store.list(T.daemonsets)) this.daemonSetStatus(ds)
    for (const j of this.store.list(T.jobs)) this.jobStatus(j)
  }

  private setStatus(t: (typeof T)[keyof typeof T], o: Obj, status: unknown): void {
    this.store.update(t, { ...o, status })
  }

  /** Records an event, or counts it again; `component` is who reports it (the kubelet or the scheduler when absent). */
  event(involved: Obj, type: 'Normal' | 'Warning', reason: string, message: string, component?: string): void {
    const name = `${involved.metadata.name}.${reason.toLowerCase()}`
    const ns = involved.metadata.namespace ?? 'default'
    const existing = this.store.get(T.events, ns, name)
    const ts = now()
    if (existing) {
      if (existing.message === message) return
      this.store.update(T.events, { ...existing, message, count: (existing.count ?? 1) + 1, lastTimestamp: ts })
      return
    }
    this.store.create(T.events, {
      metadata: { name, namespace: ns },
      involvedObject: {
        kind: involved.kind,
        name: involved.metadata.name,
        namespace: ns,
        uid: involved.metadata.uid,
        apiVersion: involved.apiVersion,
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: ts,
      lastTimestamp: ts,
      source: { component: component ?? (reason === 'FailedScheduling' ? 'default-scheduler' : 'kubelet') },
    })
  }

  private podsOf(parent: Obj): Obj[] {
    return this.store.list(T.pods, parent.metadata.namespace).filter((p) => ownedBy(p, parent))
  }

  private newPod(parent: Obj, template: any, name: string, extra: Record<string, string> = {}, nodeName?: string): void {
    this.store.create(T.pods, {
      metadata: {
        name,
        namespace: parent.metadata.namespace,
        labels: { ...(template?.metadata?.labels ?? {}), ...extra },
        annotations: template?.metadata?.annotations,
        ownerReferences: [owner(parent)],
      },
      spec: { ...structuredClone(template?.spec ?? {}), ...(nodeName ? { nodeName } : {}) },
      status: { phase: 'Pending' },
    })
  }

  // --- Deployments and ReplicaSets -------------------------------------------------------------
  // kubernetes/kubernetes v1.32 pkg/controller/deployment: one ReplicaSet per pod template
  // (label pod-template-hash), RollingUpdate bounded by maxSurge and maxUnavailable (rolling.go
  // reconcileNewReplicaSet :68-84 via deployment_util.go NewRSNewReplicas :800-819,
  // reconcileOldReplicaSets :86-152), Recreate scaling the old Pods away first (recreate.go).

  private setsOf(d: Obj): { current?: Obj; old: Obj[]; hash: string } {
    const hash = templateHash(d.spec?.template)
    const sets = this.store.list(T.replicasets, d.metadata.namespace).filter((rs) => ownedBy(rs, d))
    const current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash)
    return {
      current,
      old: sets.filter((rs) => rs !== current).sort((x, y) => x.metadata.creationTimestamp.localeCompare(y.metadata.creationTimestamp)),
      hash,
    }
  }

  private available(rs: Obj): number {
    return this.podsOf(rs).filter(isReady).length
  }

  private scaleSet(rs: Obj, replicas: number): Obj {
    if (rs.spec.replicas === replicas) return rs
    return this.store.update(T.replicasets, { ...rs, spec: { ...rs.spec, replicas } })
  }

  private deployment(d: Obj): void {
    const desired = d.spec?.replicas ?? 1
    let { current, old, hash } = this.setsOf(d)
    const recreate = d.spec?.strategy?.type === 'Recreate'
    const { surge, unavailable } = fenceposts(d)
    const oldTotal = old.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0)
    if (recreate) {
      // recreate.go: scale every old ReplicaSet to 0 and wait until their Pods are gone.
      for (const rs of old) this.scaleSet(rs, 0)
      if (old.some((rs) => this.podsOf(rs).some((p) => !['Succeeded', 'Failed'].includes(p.status?.phase)))) return
    }
    if (!current) {
      const revision = 1 + Math.max(0, ...[...old].map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0)))
      const template = structuredClone(d.spec.template ?? {})
      template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash } }
      // deployment_util.go NewRSNewReplicas: all at once without old Pods, else within maxSurge.
      const start = recreate || !oldTotal ? desired : Math.max(0, Math.min(desired + surge - oldTotal, desired))
      current = this.store.create(T.replicasets, {
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: d.metadata.namespace,
          labels: template.metadata.labels,
          annotations: {
            'deployment.kubernetes.io/revision': String(revision),
            'deployment.kubernetes.io/desired-replicas': String(desired),
            'deployment.kubernetes.io/max-replicas': String(desired + surge),
          },
          ownerReferences: [owner(d)],
        },
        spec: {
          replicas: start,
          selector: { matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
          template,
        },
      })
      this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${current.metadata.name} from 0 to ${start}`)
    }
    if (recreate || !old.some((rs) => rs.spec.replicas > 0)) {
      this.scaleSet(current, desired)
      return
    }
    // rolling.go reconcileNewReplicaSet: grow the new set while the total stays within desired + maxSurge.
    const total = () => current!.spec.replicas + old.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0)
    if (current.spec.replicas > desired) current = this.scaleSet(current, desired)
    else if (total() < desired + surge)
      current = this.scaleSet(current, Math.min(current.spec.replicas + desired + surge - total(), desired))
    // rolling.go reconcileOldReplicaSets: never below desired - maxUnavailable available Pods;
    // unhealthy old Pods go first (cleanupUnhealthyReplicas), then available ones.
    const minAvailable = desired - unavailable
    const newUnavailable = current.spec.replicas - this.available(current)
    let budget = total() - minAvailable - newUnavailable
    if (budget <= 0) return
    for (let i = 0; i < old.length && budget > 0; i++) {
      const unhealthy = old[i]!.spec.replicas - this.available(old[i]!)
      const cut = Math.min(unhealthy, budget)
      if (cut > 0) {
        old[i] = this.scaleSet(old[i]!, old[i]!.spec.replicas - cut)
        budget -= cut
      }
    }
    let spare = [current, ...old].reduce((n, rs) => n + this.available(rs), 0) - minAvailable
    for (let i = 0; i < old.length && spare > 0; i++) {
      const cut = Math.min(old[i]!.spec.replicas, spare)
      if (cut > 0) {
        old[i] = this.scaleSet(old[i]!, old[i]!.spec.replicas - cut)
        this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled down replica set ${old[i]!.metadata.name} to ${old[i]!.spec.replicas}`)
        spare -= cut
      }
    }
  }

  private replicaSet(rs: Obj): void {
    const pods = this.podsOf(rs).filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase))
    const want = rs.spec?.replicas ?? 1
    for (let i = pods.length; i < want; i++) this.newPod(rs, rs.spec.template, `${rs.metadata.name}-${suffix()}`)
    // Scale down (replica_set.go getPodsToDelete): unscheduled first, then not ready, then the newest.
    const rank = (p: Obj) => (p.spec?.nodeName ? 2 : 0) + (isReady(p) ? 1 : 0)
    const extra = pods
      .sort((a, b) => rank(a) - rank(b) || b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp))
      .slice(0, Math.max(0, pods.length - want))
    for (const p of extra) this.store.delete(T.pods, p.metadata.namespace, p.metadata.name)
  }

  private replicaSetStatus(rs: Obj): void {
    const pods = this.podsOf(rs).filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase))
    const ready = pods.filter(isReady).length
    const status = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation,
    }
    if (JSON.stringify(status) !== JSON.stringify(rs.status)) this.setStatus(T.replicasets, rs, status)
  }

  /**
   * sync.go calculateStatus and progress.go syncRolloutStatus (messages :58-93; reasons in
   * deployment_util.go :73-100; progressDeadlineSeconds 600 by default, apps/v1/defaults.go :69-71): counts over all the Deployment's
   * ReplicaSets; Available when at least desired - maxUnavailable Pods are; Progressing until the
   * new set is complete, ProgressDeadlineExceeded after progressDeadlineSeconds without progress.
   */
  private deploymentStatus(d: Obj): void {
    const { current, old } = this.setsOf(d)
    const active = (rs?: Obj) => (rs ? this.podsOf(rs).filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase)) : [])
    const pods = [current, ...old].flatMap((rs) => active(rs))
    const updated = active(current)
    const ready = pods.filter(isReady).length
    const want = d.spec?.replicas ?? 1
    const { unavailable } = fenceposts(d)
    const prev = (d.status ?? {}) as {
      updatedReplicas?: number
      readyReplicas?: number
      availableReplicas?: number
      replicas?: number
      observedGeneration?: number
      conditions?: any[]
    }
    const oldCount = pods.length - updated.length
    const prevOld = (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0)
    const complete = updated.length === want && pods.length === want && ready === want
    const rsName = current?.metadata.name ?? `${d.metadata.name}-${templateHash(d.spec?.template)}`
    const prevProgressing = prev.conditions?.find((c: { type: string }) => c.type === 'Progressing')
    const ts = now()
    const newGeneration = prev.observedGeneration !== d.metadata.generation
    const progressed =
      newGeneration || updated.length > (prev.updatedReplicas ?? 0) || ready > (prev.readyReplicas ?? 0) || oldCount < prevOld
    let progressing: { status: string; reason: string; message: string; lastUpdateTime: string }
    if (complete)
      progressing = {
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
        lastUpdateTime: prevProgressing?.reason === 'NewReplicaSetAvailable' ? prevProgressing.lastUpdateTime : ts,
      }
    else if (progressed || !prevProgressing)
      progressing = {
        status: 'True',
        reason: newGeneration ? 'NewReplicaSetCreated' : 'ReplicaSetUpdated',
        message: newGeneration ? `Created new replica set "${rsName}"` : `ReplicaSet "${rsName}" is progressing.`,
        lastUpdateTime: ts,
      }
    else {
      const since = Date.parse(prevProgressing.lastUpdateTime)
      const deadline = (d.spec?.progressDeadlineSeconds ?? 600) * 1000
      if (prevProgressing.reason !== 'ProgressDeadlineExceeded' && Date.now() - since >= deadline) {
        progressing = {
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${rsName}" has timed out progressing.`,
          lastUpdateTime: ts,
        }
        this.event(d, 'Warning', 'ProgressDeadlineExceeded', progressing.message)
      } else {
        progressing = {
          status: prevProgressing.status,
          reason: prevProgressing.reason,
          message: prevProgressing.message,
          lastUpdateTime: prevProgressing.lastUpdateTime,
        }
        if (prevProgressing.reason !== 'ProgressDeadlineExceeded') this.later(Math.max(0, since + deadline - Date.now()))
      }
    }
    const availableOk = ready >= want - unavailable
    const cond = (type: string, status: string, reason: string, message: string, lastUpdateTime: string) => {
      const before = prev.conditions?.find((c: { type: string }) => c.type === type)
      return {
        type,
        status,
        lastUpdateTime,
        lastTransitionTime: before?.status === status ? before.lastTransitionTime : ts,
        reason,
        message,
      }
    }
    const status: any = {
      observedGeneration: d.metadata.generation,
      replicas: pods.length,
      updatedReplicas: updated.length,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(pods.length - ready > 0 ? { unavailableReplicas: pods.length - ready } : {}),
      conditions: [
        cond(
          'Available',
          availableOk ? 'True' : 'False',
          availableOk ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          availableOk ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
          ts,
        ),
        cond('Progressing', progressing.status, progressing.reason, progressing.message, progressing.lastUpdateTime),
      ],
    }
    const strip = (x: any) => JSON.stringify({ ...x, conditions: (x?.conditions ?? []).map((c: any) => [c.type, c.status, c.reason]) })
    if (strip(status) !== strip(d.status)) this.setStatus(T.deployments, d, status)
  }

  // --- DaemonSets ---------------------------------------------------------------------------------

  private daemonSet(ds: Obj): void {
    const nodes = this.store.list(T.nodes)
    const pods = this.podsOf(ds)
    const hash = templateHash(ds.spec?.template)
    for (const node of nodes) {
      const here = pods.filter((p) => p.spec?.nodeName === node.metadata.name)
      const fits = daemonFits({ metadata: {}, spec: ds.spec?.template?.spec ?? {} } as Obj, node)
      if (fits && !here.length)
        this.newPod(
          ds,
          ds.spec.template,
          `${ds.metadata.name}-${suffix()}`,
          { 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
          node.metadata.name,
        )
      for (const p of here) {
        const stale = p.metadata.labels?.['controller-revision-hash'] !== hash
        if (!fits || stale) this.store.delete(T.pods, p.metadata.namespace, p.metadata.name)
      }
    }
    for (const p of pods)
      if (!nodes.some((n) => n.metadata.name === p.spec?.nodeName)) this.store.delete(T.pods, p.metadata.namespace, p.metadata.name)
  }

  private daemonSetStatus(ds: Obj): void {
    const nodes = this.store.list(T.nodes)
    const desired = nodes.filter((n) => daemonFits({ metadata: {}, spec: ds.spec?.template?.spec ?? {} } as Obj, n)).length
    const pods = this.podsOf(ds)
    const ready = pods.filter(isReady).length
    const hash = templateHash(ds.spec?.template)
    const status = {
      currentNumberScheduled: pods.length,
      desiredNumberScheduled: desired,
      numberMisscheduled: 0,
      numberReady: ready,
      numberAvailable: ready,
      ...(desired - ready > 0 ? { numberUnavailable: desired - ready } : {}),
      updatedNumberScheduled: pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash).length,
      observedGeneration: ds.metadata.generation,
    }
    if (JSON.stringify(status) !== JSON.stringify(ds.status)) this.setStatus(T.daemonsets, ds, status)
  }

  // --- Jobs ---------------------------------------------------------------------------------------

  private jobDone(j: Obj): boolean {
    return (j.status?.conditions ?? []).some(
      (c: { type: string; status: string }) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    )
  }

  private job(j: Obj): void {
    if (this.jobDone(j)) return
    const pods = this.podsOf(j)
    const active = pods.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase))
    const failed = pods.filter((p) => p.status?.phase === 'Failed').length
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length
    if (!active.length && !succeeded && failed <= (j.spec?.backoffLimit ?? 6)) {
      this.newPod(j, j.spec.template, `${j.metadata.name}-${suffix()}`, {
        'controller-uid': j.metadata.uid,
        'batch.kubernetes.io/controller-uid': j.metadata.uid,
      })
    }
  }

  private jobStatus(j: Obj): void {
    if (this.jobDone(j) && j.status?.completionTime !== undefined) return
    const pods = this.podsOf(j)
    const active = pods.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase)).length
    const failed = pods.filter((p) => p.status?.phase === 'Failed').length
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length
    const status: any = {
      ...(j.status ?? {}),
      startTime: j.status?.startTime ?? now(),
      ...(active ? { active } : {}),
      ...(failed ? { failed } : {}),
      ...(succeeded ? { succeeded } : {}),
      ready: pods.filter(isReady).length,
    }
    if (!active) delete status.active
    const c = (type: string, reason: string, message: string) => ({
      type,
      status: 'True',
      reason,
      message,
      lastProbeTime: now(),
      lastTransitionTime: now(),
    })
    if (succeeded >= (j.spec?.completions ?? 1)) {
      status.conditions = [
        c('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'),
        c('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods'),
      ]
      status.completionTime = now()
    } else if (failed > (j.spec?.backoffLimit ?? 6)) {
      status.conditions = [
        c('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
        c('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
      ]
      this.event(j, 'Warning', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')
    }
    const { uncountedTerminatedPods: _u, ...clean } = status
    if (JSON.stringify(clean) !== JSON.stringify(j.status)) this.setStatus(T.jobs, j, clean)
  }

  // --- Scheduler ----------------------------------------------------------------------------------

  private scheduler(): void {
    const nodes = this.store.list(T.nodes)
    const pods = this.store.list(T.pods)
    const bound = pods.filter((p) => p.spec?.nodeName && !['Succeeded', 'Failed'].includes(p.status?.phase))
    for (const pod of pods
      .filter((p) => !p.spec?.nodeName)
      .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp))) {
      const placement = schedule(pod, nodes, bound)
      if ('node' in placement) {
        const next = { ...pod, spec: { ...pod.spec, nodeName: placement.node } }
        bound.push(this.store.update(T.pods, next))
        const p = this.store.get(T.pods, pod.metadata.namespace, pod.metadata.name)!
        this.setStatus(T.pods, p, { ...p.status, conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }] })
      } else {
        const cond = {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: placement.reason,
          lastTransitionTime: now(),
        }
        const old = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled')
        if (old?.message !== placement.reason) {
          this.setStatus(T.pods, pod, { ...pod.status, phase: 'Pending', conditions: [cond] })
          this.event(pod, 'Warning', 'FailedScheduling', placement.reason)
        }
      }
    }
  }

  // --- Kubelet ------------------------------------------------------------------------------------

  private kubelet(pod: Obj): void {
    if (!pod.spec?.nodeName || ['Succeeded', 'Failed'].includes(pod.status?.phase)) return
    const ns = pod.metadata.namespace
    const containers = (pod.spec.containers ?? []) as Container[]
    const waiting = (reason: string, message?: string) =>
      containers.map((c, i) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        ready: false,
        restartCount: pod.status?.containerStatuses?.[i]?.restartCount ?? 0,
        started: false,
        state: { waiting: { reason, ...(message ? { message } : {}) } },
      }))
    const base = {
      ...pod.status,
      hostIP: this.nodeIp(pod.spec.nodeName),
      startTime: pod.status?.startTime ?? now(),
      qosClass: pod.status?.qosClass ?? 'BestEffort',
    }
    const scheduled = { type: 'PodScheduled', status: 'True', lastTransitionTime: now() }
    const notReady = { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }
    const uid = pod.metadata.uid
    const isJobPod = (pod.metadata.ownerReferences ?? []).some((r: { kind: string }) => r.kind === 'Job')
    const crashLooping = pod.status?.containerStatuses?.some(
      (c: { state?: { waiting?: { reason?: string } } }) => c.state?.waiting?.reason === 'CrashLoopBackOff',
    )
    const running = pod.status?.phase === 'Running' && !crashLooping

    if (running) {
      if (isJobPod) this.finishJobPod(pod, containers, scheduled)
      return
    }
    // Everything below happens when a container (re)starts: a running container keeps the
    // environment, files and image it started with.
    if (crashLooping) {
      const at = this.due.get(uid) ?? 0
      if (Date.now() < at) return this.later(at - Date.now())
    } else {
      // The pull secrets matter only when an image is pulled, before the containers first start
      // (kubernetes v1.32.0 pkg/kubelet/kuberuntime/kuberuntime_container.go startContainer ->
      // EnsureImageExists); IfNotPresent images are not pulled again on a restart.
      const missingPull = ((pod.spec.imagePullSecrets ?? []) as { name: string }[]).find((s) => !this.store.get(T.secrets, ns, s.name))
      if (missingPull) {
        // The image cannot be pulled without its credentials: ErrImagePull, then ImagePullBackOff.
        const prev = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason
        const reason = prev === 'ErrImagePull' || prev === 'ImagePullBackOff' ? 'ImagePullBackOff' : 'ErrImagePull'
        const message = `Unable to retrieve some image pull secrets (${missingPull.name}); attempting to pull the image may not succeed.`
        if (prev !== reason) {
          this.setStatus(T.pods, pod, {
            ...base,
            phase: 'Pending',
            conditions: [scheduled, notReady],
            containerStatuses: waiting(
              reason,
              reason === 'ImagePullBackOff' ? `Back-off pulling image "${containers[0]?.image}"` : message,
            ),
          })
          this.event(
            pod,
            'Warning',
            reason === 'ErrImagePull' ? 'Failed' : 'BackOff',
            reason === 'ErrImagePull'
              ? `Failed to pull image "${containers[0]?.image}": ${message}`
              : `Back-off pulling image "${containers[0]?.image}"`,
          )
          if (reason === 'ErrImagePull') this.later(Math.max(50, this.knobs.podStartMs))
        }
        return
      }
    }
    // The environment is built at each container start (pkg/kubelet/kubelet_pods.go
    // makeEnvironmentVariables): a missing Secret, or a missing key, is CreateContainerConfigError.
    for (const c of containers) {
      const built = containerEnv(pod, c, this.store)
      if ('error' in built) {
        const prev = pod.status?.containerStatuses?.[0]?.state?.waiting
        if (prev?.reason !== 'CreateContainerConfigError' || prev?.message !== built.error) {
          this.setStatus(T.pods, pod, {
            ...base,
            phase: crashLooping ? 'Running' : 'Pending',
            conditions: [scheduled, notReady],
            containerStatuses: waiting('CreateContainerConfigError', built.error),
          })
          this.event(pod, 'Warning', 'Failed', `Error: ${built.error}`)
        }
        return
      }
    }
    const missingVolume = (
      (pod.spec.volumes ?? []) as {
        name: string
        secret?: { secretName: string; optional?: boolean }
        configMap?: { name: string; optional?: boolean }
      }[]
    ).find(
      (v) =>
        (v.secret && !v.secret.optional && !this.store.get(T.secrets, ns, v.secret.secretName)) ||
        (v.configMap && !v.configMap.optional && !this.store.get(T.configmaps, ns, v.configMap.name)),
    )
    if (missingVolume) {
      const what = missingVolume.secret ? `secret "${missingVolume.secret.secretName}"` : `configmap "${missingVolume.configMap!.name}"`
      if (pod.status?.containerStatuses?.[0]?.state?.waiting?.reason !== 'ContainerCreating') {
        this.setStatus(T.pods, pod, {
          ...base,
          phase: 'Pending',
          conditions: [scheduled, notReady],
          containerStatuses: waiting('ContainerCreating'),
        })
        this.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${missingVolume.name}" : ${what} not found`)
      }
      return
    }
    if (!crashLooping) {
      const at = this.due.get(uid) ?? Date.now() + this.knobs.podStartMs
      this.due.set(uid, at)
      if (Date.now() < at) {
        if (pod.status?.containerStatuses?.[0]?.state?.waiting?.reason !== 'ContainerCreating') {
          this.setStatus(T.pods, pod, {
            ...base,
            phase: 'Pending',
            conditions: [scheduled, notReady],
            containerStatuses: waiting('ContainerCreating'),
          })
        }
        return this.later(at - Date.now())
      }
    }
    // The Scalar DL servers check their configuration as they start (sim/kube/scalardl-server.ts).
    const server = containers.map((c) => ({ c, kind: serverKind(c.image) })).find((x) => x.kind)
    if (server) {
      const startup = serverStartup(server.kind!, pod, server.c, this.store, this.knobs.dbCredentials)
      this.store.logs.set(`${ns}/${pod.metadata.name}`, startup.log + '\n')
      if (!startup.ok) return this.crashLoop(pod, base, scheduled, containers, startup.log)
    }
    const startedAt = now()
    this.setStatus(T.pods, pod, {
      ...base,
      phase: 'Running',
      podIP: pod.status?.podIP ?? this.podIp(base.hostIP),
      conditions: [
        scheduled,
        { type: 'Initialized', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
        { type: 'Ready', status: 'True', lastTransitionTime: startedAt },
      ],
      containerStatuses: containers.map((c, i) => ({
        name: c.name,
        image: c.image,
        imageID: `${c.image}@sha256:${randomBytes(32).toString('hex')}`,
        containerID: `containerd://${randomBytes(32).toString('hex')}`,
        ready: true,
        started: true,
        restartCount: pod.status?.containerStatuses?.[i]?.restartCount ?? 0,
        state: { running: { startedAt } },
      })),
    })
    if (isJobPod) {
      this.due.set(uid, Date.now() + this.knobs.jobDurationMs)
      this.later(this.knobs.jobDurationMs)
    } else this.due.delete(uid)
  }

  /**
   * A container that exits at start-up is restarted with a back-off of 10 s doubling to 5 min
   * (kubernetes v1.32 pkg/kubelet/kubelet.go containerBackOffPeriod, MaxContainerBackOff = 300 s
   * in pkg/kubelet/apis/config/v1beta1/defaults.go): the Pod stays
   * Running but not Ready, its container waiting in CrashLoopBackOff with the last exit recorded.
   */
  private crashLoop(pod: Obj, base: any, scheduled: object, containers: Container[], log: string): void {
    const restarts = (pod.status?.containerStatuses?.[0]?.restartCount ?? -1) + 1
    const backoff = Math.min(10_000 * 2 ** Math.max(0, restarts - 1), 300_000)
    const finishedAt = now()
    this.setStatus(T.pods, pod, {
      ...base,
      phase: 'Running',
      podIP: pod.status?.podIP ?? this.podIp(base.hostIP),
      conditions: [
        scheduled,
        { type: 'Initialized', status: 'True' },
        { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady' },
        {
          type: 'Ready',
          status: 'False',
          reason: 'ContainersNotReady',
          message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`,
        },
      ],
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `${c.image}@sha256:${'0'.repeat(64)}`,
        ready: false,
        started: false,
        restartCount: restarts,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          },
        },
        lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt } },
      })), // no message: a JVM writes no /dev/termination-log; `kubectl logs` has it
    })
    this.event(
      pod,
      'Warning',
      'BackOff',
      `Back-off restarting failed container ${containers[0]?.name} in pod ${pod.metadata.name}: ${log.slice(0, 300)}`,
    )
    this.due.set(pod.metadata.uid, Date.now() + backoff)
    this.later(backoff)
  }

  private finishJobPod(pod: Obj, containers: Container[], scheduled: object): void {
    const uid = pod.metadata.uid
    const at = this.due.get(uid) ?? Date.now()
    if (Date.now() < at) return this.later(at - Date.now())
    const job = (pod.metadata.ownerReferences ?? []).find((r: { kind: string }) => r.kind === 'Job')
    let fail = this.knobs.failJobs !== '' && new RegExp(this.knobs.failJobs).test(job?.name ?? '')
    const image = isSchemaLoader(pod)
      ? (p: Obj, st: Store) => runSchemaLoader(p, st, this.knobs.dbCredentials)
      : isRegisterCert(pod)
        ? runRegisterCert
        : undefined
    if (!fail && image) {
      const run = this.runs.get(uid)
      if (!run) {
        this.runs.set(uid, 'running')
        void image(pod, this.store).then((r) => {
          this.runs.set(uid, r)
          this.kick()
        })
        return
      }
      if (run === 'running') return
      fail = !run.ok
      this.store.logs.set(`${pod.metadata.namespace}/${pod.metadata.name}`, `${run.message}\n`)
      if (!run.ok) this.event(pod, 'Warning', 'BackOff', run.message)
      this.runs.delete(uid)
    }
    this.due.delete(uid)
    const finished = now()
    this.setStatus(T.pods, pod, {
      ...pod.status,
      phase: fail ? 'Failed' : 'Succeeded',
      conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'PodCompleted' }],
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode: fail ? 1 : 0, reason: fail ? 'Error' : 'Completed', finishedAt: finished } },
      })),
    })
  }

  private nodeIp(nodeName: string): string | undefined {
    return (this.store.get(T.nodes, undefined, nodeName)?.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')
      ?.address
  }

  private podIpCounter = 10
  /** An address in the node's VPC range (VPC CNI: Pods take VPC addresses). */
  private podIp(hostIP?: string): string {
    const n = this.podIpCounter++
    const net = hostIP?.split('.').slice(0, 2).join('.') ?? '10.1'
    return `${net}.${Math.floor(n / 250) % 64}.${(n % 250) + 1}`
  }

  // --- Services: load balancers and endpoints ----------------------------------------------------

  private readonly lbSince = new Map<string, number>()

  private service(s: Obj): void {
    // A cluster made through the control API alone (tests of the Kubernetes side) has no AWS account
    // behind it: its load balancers are a hostname after lbDelayMs, nothing more.
    if (s.spec?.type === 'LoadBalancer' && !s.status?.loadBalancer?.ingress?.length && !this.cloud?.handles(s)) {
      const since = this.lbSince.get(s.metadata.uid) ?? Date.now()
      this.lbSince.set(s.metadata.uid, since)
      if (Date.now() - since < this.knobs.lbDelayMs) this.later(this.knobs.lbDelayMs - (Date.now() - since))
      else {
        const nlb = s.metadata.annotations?.['service.beta.kubernetes.io/aws-load-balancer-type'] === 'nlb'
        const id = randomUUID().replace(/-/g, '')
        const hostname = nlb
          ? `a${id}-${randomBytes(8).toString('hex')}.elb.${this.region}.amazonaws.com`
          : `a${id}-${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}.${this.region}.elb.amazonaws.com`
        this.setStatus(T.services, s, { loadBalancer: { ingress: [{ hostname }] } })
        this.event(s, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer')
      }
    }
    if (!s.spec?.selector) return
    const pods = this.store
      .list(T.pods, s.metadata.namespace)
      .filter(
        (p) =>
          p.status?.podIP &&
          selectorMatches({ matchLabels: s.spec.selector }, p.metadata.labels) &&
          !['Succeeded', 'Failed'].includes(p.status?.phase),
      )
    const addr = (p: Obj) => ({
      ip: p.status.podIP,
      nodeName: p.spec.nodeName,
      targetRef: { kind: 'Pod', name: p.metadata.name, namespace: p.metadata.namespace, uid: p.metadata.uid },
    })
    const ready = pods.filter(isReady).map(addr)
    const notReady = pods.filter((p) => !isReady(p)).map(addr)
    const ports = (s.spec.ports ?? []).map((p: { name?: string; targetPort?: number | string; port: number; protocol?: string }) => ({
      ...(p.name ? { name: p.name } : {}),
      port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
      protocol: p.protocol ?? 'TCP',
    }))
    const subsets =
      ready.length || notReady.length
        ? [{ ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports }]
        : []
    const existing = this.store.get(T.endpoints, s.metadata.namespace, s.metadata.name)
    const body = { metadata: { name: s.metadata.name, namespace: s.metadata.namespace, labels: s.metadata.labels }, subsets }
    if (!existing) this.store.create(T.endpoints, body)
    else if (JSON.stringify(existing.subsets ?? []) !== JSON.stringify(subsets)) this.store.update(T.endpoints, { ...existing, subsets })
  }
}
