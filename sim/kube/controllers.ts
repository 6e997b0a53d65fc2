// The control loops a real cluster runs, as far as the guide's gotchas need: Deployment ->
// ReplicaSet -> Pods, DaemonSets, Jobs, the scheduler, a kubelet (image pull secrets, secret
// volumes, start-up delay), the cloud controller's load balancer hostname, and Endpoints.
import { randomBytes, randomUUID } from 'node:crypto'
import { templateHash } from './defaults.ts'
import { isRegisterCert, isSchemaLoader, runRegisterCert, runSchemaLoader, type RunResult } from './images.ts'
import { byResource } from './resources.ts'
import { daemonFits, schedule } from './scheduler.ts'
import { selectorMatches } from './selectors.ts'
import { now, type Obj, type Store } from './store.ts'

export interface Knobs {
  /** From scheduled to Running and Ready. */
  podStartMs: number
  /** From Running to Completed for Job pods. */
  jobDurationMs: number
  /** From creation to a load balancer hostname for LoadBalancer Services. */
  lbDelayMs: number
  /** Jobs whose name matches this regular expression fail instead of completing. */
  failJobs: string
  /** Share of Kubernetes API requests answered with 503, 500 or a reset connection. */
  apiFaultRate: number
}

/** Kubernetes-side times on EKS, unscaled (--aws-delays): a Pod pulling its image ~30 s, a Job's work ~60 s, an NLB's hostname ~30 s. */
export const AWS_KUBE_MS = { podStartMs: 30_000, jobDurationMs: 60_000, lbDelayMs: 30_000 }

export const DEFAULT_KNOBS: Knobs = { podStartMs: 300, jobDurationMs: 1000, lbDelayMs: 500, failJobs: '', apiFaultRate: 0 }

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

const owner = (o: Obj, controller = true) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller, blockOwnerDeletion: true })
const ownedBy = (o: Obj, parent: Obj) => (o.metadata.ownerReferences ?? []).some((r: { uid: string }) => r.uid === parent.metadata.uid)
const suffix = () => randomBytes(3).toString('hex').slice(0, 5)
const isReady = (p: Obj) => p.status?.phase === 'Running' && (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')

export class Controllers {
  private pending = false
  private readonly timers = new Set<NodeJS.Timeout>()
  /** When each pod (by uid) may move on to its next phase. */
  private readonly due = new Map<string, number>()
  /** Images with effects (the schema loader) run asynchronously: their results by pod uid. */
  private readonly runs = new Map<string, RunResult | 'running'>()
  private stopped = false

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

  event(involved: Obj, type: 'Normal' | 'Warning', reason: string, message: string): void {
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
      involvedObject: { kind: involved.kind, name: involved.metadata.name, namespace: ns, uid: involved.metadata.uid, apiVersion: involved.apiVersion },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: ts,
      lastTimestamp: ts,
      source: { component: reason === 'FailedScheduling' ? 'default-scheduler' : 'kubelet' },
    })
  }

  private podsOf(parent: Obj): Obj[] {
    return this.store.list(T.pods, parent.metadata.namespace).filter((p) => ownedBy(p, parent))
  }

  private newPod(parent: Obj, template: any, name: string, extra: Record<string, string> = {}, nodeName?: string): void {
    this.store.create(T.pods, {
      metadata: { name, namespace: parent.metadata.namespace, labels: { ...(template?.metadata?.labels ?? {}), ...extra }, annotations: template?.metadata?.annotations, ownerReferences: [owner(parent)] },
      spec: { ...structuredClone(template?.spec ?? {}), ...(nodeName ? { nodeName } : {}) },
      status: { phase: 'Pending' },
    })
  }

  // --- Deployments and ReplicaSets -------------------------------------------------------------

  private deployment(d: Obj): void {
    const hash = templateHash(d.spec?.template)
    const sets = this.store.list(T.replicasets, d.metadata.namespace).filter((rs) => ownedBy(rs, d))
    let current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash)
    if (!current) {
      const revision = 1 + Math.max(0, ...sets.map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0)))
      const template = structuredClone(d.spec.template ?? {})
      template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash } }
      current = this.store.create(T.replicasets, {
        metadata: { name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels: template.metadata.labels, annotations: { 'deployment.kubernetes.io/revision': String(revision) }, ownerReferences: [owner(d)] },
        spec: { replicas: d.spec.replicas ?? 1, selector: { matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash } }, template },
      })
    } else if (current.spec.replicas !== (d.spec.replicas ?? 1)) {
      this.store.update(T.replicasets, { ...current, spec: { ...current.spec, replicas: d.spec.replicas ?? 1 } })
    }
    for (const rs of sets) if (rs !== current && rs.metadata.uid !== current.metadata.uid && rs.spec.replicas !== 0) this.store.update(T.replicasets, { ...rs, spec: { ...rs.spec, replicas: 0 } })
  }

  private replicaSet(rs: Obj): void {
    const pods = this.podsOf(rs).filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase))
    const want = rs.spec?.replicas ?? 1
    for (let i = pods.length; i < want; i++) this.newPod(rs, rs.spec.template, `${rs.metadata.name}-${suffix()}`)
    // Scale down: unscheduled pods first, then the newest.
    const extra = pods.sort((a, b) => Number(Boolean(a.spec?.nodeName)) - Number(Boolean(b.spec?.nodeName)) || b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp)).slice(0, Math.max(0, pods.length - want))
    for (const p of extra) this.store.delete(T.pods, p.metadata.namespace, p.metadata.name)
  }

  private replicaSetStatus(rs: Obj): void {
    const pods = this.podsOf(rs)
    const ready = pods.filter(isReady).length
    const status = { replicas: pods.length, fullyLabeledReplicas: pods.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation }
    if (JSON.stringify(status) !== JSON.stringify(rs.status)) this.setStatus(T.replicasets, rs, status)
  }

  private deploymentStatus(d: Obj): void {
    const hash = templateHash(d.spec?.template)
    const sets = this.store.list(T.replicasets, d.metadata.namespace).filter((rs) => ownedBy(rs, d))
    const pods = sets.flatMap((rs) => this.podsOf(rs))
    const updated = pods.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash)
    const ready = pods.filter(isReady).length
    const want = d.spec?.replicas ?? 1
    const available = updated.filter(isReady).length
    const complete = updated.length === want && available === want && pods.length === want
    const cond = (type: string, ok: boolean, reason: string, message: string) => ({ type, status: ok ? 'True' : 'False', reason, message, lastUpdateTime: d.status?.conditions?.find((c: { type: string }) => c.type === type)?.lastUpdateTime ?? now(), lastTransitionTime: now() })
    const status: any = {
      observedGeneration: d.metadata.generation,
      replicas: pods.length,
      updatedReplicas: updated.length,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(pods.length - ready > 0 ? { unavailableReplicas: pods.length - ready } : {}),
      conditions: [
        cond('Available', ready >= want, ready >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', ready >= want ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
        cond('Progressing', true, complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', complete ? `ReplicaSet "${d.metadata.name}-${hash}" has successfully progressed.` : `ReplicaSet "${d.metadata.name}-${hash}" is progressing.`),
      ],
    }
    const strip = (s: any) => JSON.stringify({ ...s, conditions: (s?.conditions ?? []).map((c: any) => [c.type, c.status, c.reason]) })
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
      if (fits && !here.length) this.newPod(ds, ds.spec.template, `${ds.metadata.name}-${suffix()}`, { 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) }, node.metadata.name)
      for (const p of here) {
        const stale = p.metadata.labels?.['controller-revision-hash'] !== hash
        if (!fits || stale) this.store.delete(T.pods, p.metadata.namespace, p.metadata.name)
      }
    }
    for (const p of pods) if (!nodes.some((n) => n.metadata.name === p.spec?.nodeName)) this.store.delete(T.pods, p.metadata.namespace, p.metadata.name)
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
    return (j.status?.conditions ?? []).some((c: { type: string; status: string }) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')
  }

  private job(j: Obj): void {
    if (this.jobDone(j)) return
    const pods = this.podsOf(j)
    const active = pods.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase))
    const failed = pods.filter((p) => p.status?.phase === 'Failed').length
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length
    if (!active.length && !succeeded && failed <= (j.spec?.backoffLimit ?? 6)) {
      this.newPod(j, j.spec.template, `${j.metadata.name}-${suffix()}`, { 'controller-uid': j.metadata.uid, 'batch.kubernetes.io/controller-uid': j.metadata.uid })
    }
  }

  private jobStatus(j: Obj): void {
    if (this.jobDone(j) && j.status?.completionTime !== undefined) return
    const pods = this.podsOf(j)
    const active = pods.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase)).length
    const failed = pods.filter((p) => p.status?.phase === 'Failed').length
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length
    const status: any = { ...(j.status ?? {}), startTime: j.status?.startTime ?? now(), ...(active ? { active } : {}), ...(failed ? { failed } : {}), ...(succeeded ? { succeeded } : {}), ready: pods.filter(isReady).length }
    if (!active) delete status.active
    const c = (type: string, reason: string, message: string) => ({ type, status: 'True', reason, message, lastProbeTime: now(), lastTransitionTime: now() })
    if (succeeded >= (j.spec?.completions ?? 1)) {
      status.conditions = [c('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'), c('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods')]
      status.completionTime = now()
    } else if (failed > (j.spec?.backoffLimit ?? 6)) {
      status.conditions = [c('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'), c('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')]
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
    for (const pod of pods.filter((p) => !p.spec?.nodeName).sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp))) {
      const placement = schedule(pod, nodes, bound)
      if ('node' in placement) {
        const next = { ...pod, spec: { ...pod.spec, nodeName: placement.node } }
        bound.push(this.store.update(T.pods, next))
        const p = this.store.get(T.pods, pod.metadata.namespace, pod.metadata.name)!
        this.setStatus(T.pods, p, { ...p.status, conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }] })
      } else {
        const cond = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: placement.reason, lastTransitionTime: now() }
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
    const containers = (pod.spec.containers ?? []) as { name: string; image: string }[]
    const waiting = (reason: string, message?: string) => containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason, ...(message ? { message } : {}) } } }))
    const base = { ...pod.status, hostIP: this.nodeIp(pod.spec.nodeName), startTime: pod.status?.startTime ?? now(), qosClass: pod.status?.qosClass ?? 'BestEffort' }
    const scheduled = { type: 'PodScheduled', status: 'True', lastTransitionTime: now() }

    const missingPull = ((pod.spec.imagePullSecrets ?? []) as { name: string }[]).find((s) => !this.store.get(T.secrets, ns, s.name))
    if (missingPull) {
      // The image cannot be pulled without its credentials: ErrImagePull, then ImagePullBackOff.
      const prev = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason
      const reason = prev === 'ErrImagePull' || prev === 'ImagePullBackOff' ? 'ImagePullBackOff' : 'ErrImagePull'
      const message = `Unable to retrieve some image pull secrets (${missingPull.name}); attempting to pull the image may not succeed.`
      if (prev !== reason) {
        this.setStatus(T.pods, pod, { ...base, phase: 'Pending', conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }], containerStatuses: waiting(reason, reason === 'ImagePullBackOff' ? `Back-off pulling image "${containers[0]?.image}"` : message) })
        this.event(pod, 'Warning', reason === 'ErrImagePull' ? 'Failed' : 'BackOff', reason === 'ErrImagePull' ? `Failed to pull image "${containers[0]?.image}": ${message}` : `Back-off pulling image "${containers[0]?.image}"`)
        if (reason === 'ErrImagePull') this.later(Math.max(50, this.knobs.podStartMs))
      }
      return
    }
    const envSecrets = ((pod.spec.containers ?? []) as { env?: { valueFrom?: { secretKeyRef?: { name: string; optional?: boolean } } }[]; envFrom?: { secretRef?: { name: string; optional?: boolean } }[] }[]).flatMap((c) => [
      ...(c.env ?? []).map((e) => e.valueFrom?.secretKeyRef).filter((r) => r && !r.optional),
      ...(c.envFrom ?? []).map((e) => e.secretRef).filter((r) => r && !r.optional),
    ]) as { name: string }[]
    const missingEnv = envSecrets.find((r) => !this.store.get(T.secrets, ns, r.name))
    if (missingEnv) {
      if (pod.status?.containerStatuses?.[0]?.state?.waiting?.reason !== 'CreateContainerConfigError') {
        this.setStatus(T.pods, pod, { ...base, phase: 'Pending', conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }], containerStatuses: waiting('CreateContainerConfigError', `secret "${missingEnv.name}" not found`) })
        this.event(pod, 'Warning', 'Failed', `Error: secret "${missingEnv.name}" not found`)
      }
      return
    }
    const missingVolume = ((pod.spec.volumes ?? []) as { name: string; secret?: { secretName: string; optional?: boolean }; configMap?: { name: string; optional?: boolean } }[]).find(
      (v) => (v.secret && !v.secret.optional && !this.store.get(T.secrets, ns, v.secret.secretName)) || (v.configMap && !v.configMap.optional && !this.store.get(T.configmaps, ns, v.configMap.name)),
    )
    if (missingVolume) {
      const what = missingVolume.secret ? `secret "${missingVolume.secret.secretName}"` : `configmap "${missingVolume.configMap!.name}"`
      if (pod.status?.containerStatuses?.[0]?.state?.waiting?.reason !== 'ContainerCreating') {
        this.setStatus(T.pods, pod, { ...base, phase: 'Pending', conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }], containerStatuses: waiting('ContainerCreating') })
        this.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed for volume "${missingVolume.name}" : ${what} not found`)
      }
      return
    }
    const uid = pod.metadata.uid
    const isJobPod = (pod.metadata.ownerReferences ?? []).some((r: { kind: string }) => r.kind === 'Job')
    if (pod.status?.phase !== 'Running') {
      const at = this.due.get(uid) ?? Date.now() + this.knobs.podStartMs
      this.due.set(uid, at)
      if (Date.now() < at) {
        if (pod.status?.containerStatuses?.[0]?.state?.waiting?.reason !== 'ContainerCreating') {
          this.setStatus(T.pods, pod, { ...base, phase: 'Pending', conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady' }], containerStatuses: waiting('ContainerCreating') })
        }
        return this.later(at - Date.now())
      }
      const started = now()
      this.setStatus(T.pods, pod, {
        ...base,
        phase: 'Running',
        podIP: pod.status?.podIP ?? this.podIp(base.hostIP),
        conditions: [scheduled, { type: 'Initialized', status: 'True' }, { type: 'ContainersReady', status: 'True' }, { type: 'Ready', status: 'True', lastTransitionTime: started }],
        containerStatuses: containers.map((c) => ({ name: c.name, image: c.image, imageID: `${c.image}@sha256:${randomBytes(32).toString('hex')}`, containerID: `containerd://${randomBytes(32).toString('hex')}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: started } } })),
      })
      if (isJobPod) {
        this.due.set(uid, Date.now() + this.knobs.jobDurationMs)
        this.later(this.knobs.jobDurationMs)
      } else this.due.delete(uid)
      return
    }
    if (isJobPod) {
      const at = this.due.get(uid) ?? Date.now()
      if (Date.now() < at) return this.later(at - Date.now())
      const job = (pod.metadata.ownerReferences ?? []).find((r: { kind: string }) => r.kind === 'Job')
      let fail = this.knobs.failJobs !== '' && new RegExp(this.knobs.failJobs).test(job?.name ?? '')
      const image = isSchemaLoader(pod) ? runSchemaLoader : isRegisterCert(pod) ? runRegisterCert : undefined
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
        if (!run.ok) this.event(pod, 'Warning', 'BackOff', run.message)
        this.runs.delete(uid)
      }
      this.due.delete(uid)
      const finished = now()
      this.setStatus(T.pods, pod, {
        ...pod.status,
        phase: fail ? 'Failed' : 'Succeeded',
        conditions: [scheduled, { type: 'Ready', status: 'False', reason: 'PodCompleted' }],
        containerStatuses: containers.map((c) => ({ name: c.name, image: c.image, ready: false, started: false, restartCount: 0, state: { terminated: { exitCode: fail ? 1 : 0, reason: fail ? 'Error' : 'Completed', finishedAt: finished } } })),
      })
    }
  }

  private nodeIp(nodeName: string): string | undefined {
    return (this.store.get(T.nodes, undefined, nodeName)?.status?.addresses ?? []).find((a: { type: string }) => a.type === 'InternalIP')?.address
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
    if (s.spec?.type === 'LoadBalancer' && !s.status?.loadBalancer?.ingress?.length) {
      const since = this.lbSince.get(s.metadata.uid) ?? Date.now()
      this.lbSince.set(s.metadata.uid, since)
      if (Date.now() - since < this.knobs.lbDelayMs) this.later(this.knobs.lbDelayMs - (Date.now() - since))
      else {
        const nlb = s.metadata.annotations?.['service.beta.kubernetes.io/aws-load-balancer-type'] === 'nlb'
        const id = randomUUID().replace(/-/g, '')
        const hostname = nlb ? `a${id}-${randomBytes(8).toString('hex')}.elb.${this.region}.amazonaws.com` : `a${id}-${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}.${this.region}.elb.amazonaws.com`
        this.setStatus(T.services, s, { loadBalancer: { ingress: [{ hostname }] } })
        this.event(s, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer')
      }
    }
    if (!s.spec?.selector) return
    const pods = this.store.list(T.pods, s.metadata.namespace).filter((p) => p.status?.podIP && selectorMatches({ matchLabels: s.spec.selector }, p.metadata.labels) && !['Succeeded', 'Failed'].includes(p.status?.phase))
    const addr = (p: Obj) => ({ ip: p.status.podIP, nodeName: p.spec.nodeName, targetRef: { kind: 'Pod', name: p.metadata.name, namespace: p.metadata.namespace, uid: p.metadata.uid } })
    const ready = pods.filter(isReady).map(addr)
    const notReady = pods.filter((p) => !isReady(p)).map(addr)
    const ports = (s.spec.ports ?? []).map((p: { name?: string; targetPort?: number | string; port: number; protocol?: string }) => ({ ...(p.name ? { name: p.name } : {}), port: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: p.protocol ?? 'TCP' }))
    const subsets = ready.length || notReady.length ? [{ ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports }] : []
    const existing = this.store.get(T.endpoints, s.metadata.namespace, s.metadata.name)
    const body = { metadata: { name: s.metadata.name, namespace: s.metadata.namespace, labels: s.metadata.labels }, subsets }
    if (!existing) this.store.create(T.endpoints, body)
    else if (JSON.stringify(existing.subsets ?? []) !== JSON.stringify(subsets)) this.store.update(T.endpoints, { ...existing, subsets })
  }
}
