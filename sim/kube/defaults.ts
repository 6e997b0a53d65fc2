// What the API server fills in on create and update (admission defaults), for the kinds the
// runbook uses.
import { createHash } from 'node:crypto'
import type { Obj, Store } from './store.ts'

let ipCounter = 1

function allocateClusterIp(): string {
  const n = ipCounter++
  return `10.100.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`
}

export function applyDefaults(kind: string, o: Obj, old: Obj | undefined, _store: Store): void {
  switch (kind) {
    case 'Secret': {
      o.type ??= old?.type ?? 'Opaque'
      if (o.stringData) {
        o.data = { ...(o.data ?? {}) }
        for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) o.data[k] = Buffer.from(v).toString('base64')
        delete o.stringData
      }
      break
    }
    case 'Namespace':
      o.spec ??= { finalizers: ['kubernetes'] }
      o.status ??= { phase: 'Active' }
      break
    case 'Service': {
      o.spec ??= {}
      o.spec.type ??= 'ClusterIP'
      o.spec.sessionAffinity ??= 'None'
      o.spec.clusterIP ??= old?.spec?.clusterIP ?? (o.spec.clusterIP === 'None' ? 'None' : allocateClusterIp())
      o.spec.clusterIPs ??= [o.spec.clusterIP]
      let nodePort = 30000 + Math.floor(Math.random() * 2000)
      for (const p of o.spec.ports ?? []) {
        p.protocol ??= 'TCP'
        p.targetPort ??= p.port
        if ((o.spec.type === 'LoadBalancer' || o.spec.type === 'NodePort') && !p.nodePort) {
          p.nodePort = old?.spec?.ports?.find((q: { port: number }) => q.port === p.port)?.nodePort ?? nodePort++
        }
      }
      o.status ??= old?.status ?? { loadBalancer: {} }
      break
    }
    case 'Pod': {
      o.spec ??= {}
      o.spec.restartPolicy ??= 'Always'
      o.spec.schedulerName ??= 'default-scheduler'
      o.spec.terminationGracePeriodSeconds ??= 30
      o.spec.dnsPolicy ??= 'ClusterFirst'
      o.spec.serviceAccountName ??= 'default'
      for (const c of [...(o.spec.containers ?? []), ...(o.spec.initContainers ?? [])]) {
        c.imagePullPolicy ??= 'IfNotPresent'
        for (const p of c.ports ?? []) p.protocol ??= 'TCP'
      }
      o.status ??= old?.status ?? { phase: 'Pending', qosClass: 'BestEffort' }
      break
    }
    case 'Deployment':
    case 'ReplicaSet':
      o.spec ??= {}
      o.spec.replicas ??= 1
      if (kind === 'Deployment') {
        o.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }
        o.spec.revisionHistoryLimit ??= 10
        o.spec.progressDeadlineSeconds ??= 600
      }
      o.status ??= old?.status ?? {}
      break
    case 'DaemonSet':
      o.spec ??= {}
      o.spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }
      o.status ??= old?.status ?? { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 }
      break
    case 'Job': {
      o.spec ??= {}
      o.spec.completions ??= 1
      o.spec.parallelism ??= 1
      o.spec.backoffLimit ??= 6
      if (!old && !o.spec.manualSelector) {
        // The real API server labels Job pods with the Job's uid; the uid is not known yet here,
        // so the store's create fills it in (see jobSelector in controllers).
        o.spec.template ??= {}
        o.spec.template.metadata ??= {}
        o.spec.template.metadata.labels = {
          ...(o.spec.template.metadata.labels ?? {}),
          'job-name': o.metadata.name,
          'batch.kubernetes.io/job-name': o.metadata.name,
        }
        o.spec.selector ??= { matchLabels: { 'batch.kubernetes.io/job-name': o.metadata.name } }
      }
      o.status ??= old?.status ?? {}
      break
    }
  }
}

export function templateHash(template: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(template ?? {}))
    .digest('hex')
    .slice(0, 10)
    .replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)]!)
}
