// scalar-labs/scalardl (Ledger + Envoy) and scalar-labs/scalardl-audit (Auditor + Envoy), as the
// current chart versions name and label their objects. Replicas, nodeSelector, tolerations,
// affinity, image pull secrets and the key-secret mounts come from the values, so a missing
// `reg-docker-secrets` or `ledger-keys`/`auditor-keys` shows the same symptoms as on EKS.
import { dbSecret, fullname, labels, propertiesFrom, type Chart, type ChartVersion } from './common.ts'

function envoyDefaults(listeners: string, port: number) {
  return {
    enabled: true,
    replicaCount: 3,
    image: { repository: 'ghcr.io/scalar-labs/scalar-envoy', version: '1.6.1', pullPolicy: 'IfNotPresent' },
    imagePullSecrets: [],
    envoyConfiguration: { serviceListeners: listeners, adminAccessLogPath: '/dev/stdout' },
    service: { type: 'ClusterIP', annotations: {}, ports: { envoy: { port, targetPort: port, protocol: 'TCP' }, 'envoy-priv': { port: port + 1, targetPort: port + 1, protocol: 'TCP' } } },
    resources: {},
    nodeSelector: {},
    tolerations: [],
    affinity: {},
    podSecurityPolicy: { enabled: false },
    rbac: { create: true },
    serviceMonitor: { enabled: false, interval: '15s', namespace: 'monitoring' },
    prometheusRule: { enabled: false, namespace: 'monitoring' },
    grafanaDashboard: { enabled: false, namespace: 'monitoring' },
  }
}

function component(o: {
  release: string
  namespace: string
  chartName: string
  chart: ChartVersion
  values: any
  app: 'ledger' | 'auditor'
  ports: Record<string, number>
  properties: string
  keySecret?: string
  keyItems?: string[]
}): any[] {
  const f = fullname(o.release, o.chartName, o.values)
  const v = o.values[o.app]
  const envoy = o.values.envoy
  const base = labels(o.chartName, o.release, o.chart)
  const select = (app: string) => ({ 'app.kubernetes.io/name': o.chartName, 'app.kubernetes.io/instance': o.release, 'app.kubernetes.io/app': app })
  const out: any[] = []
  const secretName = v.existingSecret || `${f}-${o.app}`
  if (!v.existingSecret) {
    const conf = o.app === 'ledger' ? v.scalarLedgerConfiguration : v.scalarAuditorConfiguration
    out.push(dbSecret(`${f}-${o.app}`, o.namespace, base, conf?.dbUsername, conf?.dbPassword))
  }
  out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${f}-${o.app}-properties`, namespace: o.namespace, labels: base }, data: { [`${o.app}.properties.tmpl`]: o.properties } })
  const volumes: any[] = [{ name: `${o.app}-properties-volume`, configMap: { name: `${f}-${o.app}-properties` } }]
  const mounts: any[] = [{ name: `${o.app}-properties-volume`, mountPath: `/scalar/${o.app}/${o.app}.properties.tmpl`, subPath: `${o.app}.properties.tmpl` }]
  if (o.keySecret && !(v.extraVolumes ?? []).length) {
    volumes.push({ name: `${o.app}-keys`, secret: { secretName: o.keySecret } })
    mounts.push({ name: `${o.app}-keys`, mountPath: '/keys', readOnly: true })
  }
  volumes.push(...(v.extraVolumes ?? []))
  mounts.push(...(v.extraVolumeMounts ?? []))
  out.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${f}-${o.app}`, namespace: o.namespace, labels: { ...base, 'app.kubernetes.io/app': o.app } },
    spec: {
      replicas: v.replicaCount,
      selector: { matchLabels: select(o.app) },
      strategy: v.strategy,
      template: {
        metadata: { labels: { ...select(o.app), ...(v.podLabels ?? {}) }, annotations: { ...(v.podAnnotations ?? {}) } },
        spec: {
          ...(v.imagePullSecrets?.length ? { imagePullSecrets: v.imagePullSecrets } : {}),
          ...(Object.keys(v.nodeSelector ?? {}).length ? { nodeSelector: v.nodeSelector } : {}),
          ...(v.tolerations?.length ? { tolerations: v.tolerations } : {}),
          ...(Object.keys(v.affinity ?? {}).length ? { affinity: v.affinity } : {}),
          securityContext: v.podSecurityContext,
          terminationGracePeriodSeconds: 60,
          volumes,
          containers: [
            {
              name: `scalardl-${o.app === 'ledger' ? 'ledger' : 'auditor'}`,
              image: `${v.image.repository}:${v.image.version}`,
              imagePullPolicy: v.image.pullPolicy,
              ports: Object.entries(o.ports).map(([name, containerPort]) => ({ containerPort, name: name.slice(0, 15) })),
              envFrom: [{ secretRef: { name: secretName } }, ...(v.secretName ? [{ secretRef: { name: v.secretName } }] : [])],
              resources: v.resources ?? {},
              securityContext: v.securityContext,
              volumeMounts: mounts,
            },
          ],
        },
      },
    },
  })
  for (const [suffix, type, ports, app] of [
    ['headless', 'None', Object.entries(o.ports).filter(([n]) => !n.includes('prometheus')), o.app],
    ['metrics', 'ClusterIP', Object.entries(o.ports).filter(([n]) => n.includes('prometheus')), o.app],
  ] as const) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${f}-${suffix}`, namespace: o.namespace, labels: base },
      spec: { ...(type === 'None' ? { clusterIP: 'None' } : { type }), selector: select(app), ports: ports.map(([name, port]) => ({ name, port, targetPort: port, protocol: 'TCP' })) },
    })
  }
  if (envoy.enabled) {
    const envoyLabels = { ...select('envoy') }
    out.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `${f}-envoy`, namespace: o.namespace, labels: base } })
    out.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${f}-envoy`, namespace: o.namespace, labels: { ...base, 'app.kubernetes.io/app': 'envoy' } },
      spec: {
        replicas: envoy.replicaCount,
        selector: { matchLabels: envoyLabels },
        template: {
          metadata: { labels: envoyLabels },
          spec: {
            serviceAccountName: `${f}-envoy`,
            ...(envoy.imagePullSecrets?.length ? { imagePullSecrets: envoy.imagePullSecrets } : {}),
            ...(Object.keys(envoy.nodeSelector ?? {}).length ? { nodeSelector: envoy.nodeSelector } : {}),
            ...(envoy.tolerations?.length ? { tolerations: envoy.tolerations } : {}),
            ...(Object.keys(envoy.affinity ?? {}).length ? { affinity: envoy.affinity } : {}),
            containers: [
              {
                name: 'envoy',
                image: `${envoy.image.repository}:${envoy.image.version}`,
                ports: Object.values(envoy.service.ports as Record<string, { targetPort: number }>).map((p, i) => ({ containerPort: p.targetPort, name: i ? 'envoy-priv' : 'envoy' })).concat([{ containerPort: 9001, name: 'admin' }]),
                env: [{ name: 'scalardl_address', value: `${f}-headless` }, { name: 'service_listeners', value: envoy.envoyConfiguration.serviceListeners }],
                resources: envoy.resources ?? {},
              },
            ],
          },
        },
      },
    })
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${f}-envoy`, namespace: o.namespace, labels: base, ...(Object.keys(envoy.service.annotations ?? {}).length ? { annotations: envoy.service.annotations } : {}) },
      spec: { type: envoy.service.type, selector: envoyLabels, ports: Object.entries(envoy.service.ports as Record<string, { port: number; targetPort: number; protocol: string }>).map(([name, p]) => ({ name, port: p.port, targetPort: p.targetPort, protocol: p.protocol ?? 'TCP' })) },
    })
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `${f}-envoy-metrics`, namespace: o.namespace, labels: base }, spec: { type: 'ClusterIP', selector: envoyLabels, ports: [{ name: 'admin', port: 9001, targetPort: 9001, protocol: 'TCP' }] } })
  } else {
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `${f}-endpoint`, namespace: o.namespace, labels: base }, spec: { type: v.service?.type ?? 'ClusterIP', selector: select(o.app), ports: Object.entries(o.ports).filter(([n]) => !n.includes('admin') && !n.includes('prometheus')).map(([name, port]) => ({ name, port, targetPort: port, protocol: 'TCP' })) } })
  }
  return out
}

/** The database part of the properties the charts render from the old-style keys. */
function dbProperties(c: { dbContactPoints?: string; dbContactPort?: number; dbStorage?: string }) {
  return {
    'scalar.db.contact_points': c.dbContactPoints,
    'scalar.db.contact_port': c.dbContactPort,
    'scalar.db.username': '${env:SCALAR_DB_USERNAME}',
    'scalar.db.password': '${env:SCALAR_DB_PASSWORD}',
    'scalar.db.storage': c.dbStorage,
  }
}

const commonPod = () => ({
  imagePullSecrets: [],
  strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
  podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
  securityContext: { capabilities: { drop: ['ALL'] }, runAsNonRoot: true, allowPrivilegeEscalation: false },
  resources: {},
  nodeSelector: {},
  tolerations: [],
  affinity: {},
  existingSecret: '',
  secretName: '',
  extraVolumes: [],
  extraVolumeMounts: [],
  podAnnotations: {},
  podLabels: {},
  serviceAccount: { serviceAccountName: '', automountServiceAccountToken: false },
  service: { type: 'ClusterIP', annotations: {} },
  serviceMonitor: { enabled: false, interval: '15s', namespace: 'monitoring' },
  prometheusRule: { enabled: false, namespace: 'monitoring' },
  grafanaDashboard: { enabled: false, namespace: 'monitoring' },
})

export const scalardl: Chart = {
  name: 'scalardl',
  description: 'Scalar DL is a tamper-evident and scalable distributed database.',
  versions: ['4.12.0:3.13.0', '4.11.3:3.12.3', '4.11.0:3.12.0', '4.10.3:3.11.3', '4.9.6:3.10.5', '4.8.6:3.9.7'].map((s) => ({ version: s.split(':')[0]!, appVersion: s.split(':')[1]! })),
  defaults: () => ({
    nameOverride: '',
    fullnameOverride: '',
    global: { platform: '' },
    envoy: { ...envoyDefaults('scalardl-service:50051,scalardl-privileged:50052', 50051), nameOverride: 'scalardl' },
    ledger: {
      replicaCount: 3,
      image: { repository: 'ghcr.io/scalar-labs/scalardl-ledger', version: '3.13.0', pullPolicy: 'IfNotPresent' },
      ...commonPod(),
      ledgerProperties: '',
      scalarLedgerConfiguration: { dbContactPoints: 'cassandra', dbContactPort: 9042, dbUsername: 'cassandra', dbPassword: 'cassandra', dbStorage: 'cassandra', ledgerLogLevel: 'INFO', ledgerProofEnabled: false, ledgerAuditorEnabled: false, secretName: 'ledger-keys', ledgerPrivateKeySecretKey: 'private-key' },
      tls: { enabled: false },
    },
  }),
  render(release, namespace, values, chart) {
    const c = values.ledger.scalarLedgerConfiguration ?? {}
    const properties =
      values.ledger.ledgerProperties ||
      propertiesFrom({
        ...dbProperties(c),
        'scalar.dl.ledger.proof.enabled': c.ledgerProofEnabled,
        'scalar.dl.ledger.auditor.enabled': c.ledgerAuditorEnabled,
        ...(c.ledgerProofEnabled ? { 'scalar.dl.ledger.proof.private_key_path': `/keys/${c.ledgerPrivateKeySecretKey}` } : {}),
      })
    return component({
      release,
      namespace,
      chartName: 'scalardl',
      chart,
      values,
      app: 'ledger',
      ports: { scalardl: 50051, 'scalardl-priv': 50052, 'scalardl-admin': 50053, 'scalardl-prometheus': 8080 },
      properties,
      keySecret: c.ledgerProofEnabled ? c.secretName : undefined,
    })
  },
}

export const scalardlAudit: Chart = {
  name: 'scalardl-audit',
  description: 'Scalar DL Auditor: detects Byzantine faults by checking the Ledger.',
  versions: ['2.12.0:3.13.0', '2.11.3:3.12.3', '2.11.0:3.12.0', '2.10.3:3.11.3', '2.9.6:3.10.5'].map((s) => ({ version: s.split(':')[0]!, appVersion: s.split(':')[1]! })),
  defaults: () => ({
    nameOverride: '',
    fullnameOverride: '',
    envoy: { ...envoyDefaults('scalardl-audit-service:40051,scalardl-audit-privileged:40052', 40051), nameOverride: 'scalardl-audit' },
    auditor: {
      replicaCount: 3,
      image: { repository: 'ghcr.io/scalar-labs/scalardl-auditor-byol', version: '3.13.0', pullPolicy: 'IfNotPresent' },
      ...commonPod(),
      auditorProperties: '',
      authentication: { method: 'digital-signature' },
      scalarAuditorConfiguration: { dbContactPoints: 'cassandra', dbContactPort: 9042, dbUsername: 'cassandra', dbPassword: 'cassandra', dbStorage: 'cassandra', auditorServerPort: 40051, auditorServerPrivilegedPort: 40052, auditorServerAdminPort: 40053, auditorLogLevel: 'INFO', auditorLedgerHost: '', auditorCertHolderId: 'auditor', auditorCertVersion: 1, secretName: 'auditor-keys', auditorCertSecretKey: 'certificate', auditorPrivateKeySecretKey: 'private-key' },
      tls: { enabled: false },
    },
  }),
  render(release, namespace, values, chart) {
    const c = values.auditor.scalarAuditorConfiguration ?? {}
    const properties =
      values.auditor.auditorProperties ||
      propertiesFrom({
        ...dbProperties(c),
        'scalar.dl.auditor.server.port': c.auditorServerPort,
        'scalar.dl.auditor.server.privileged_port': c.auditorServerPrivilegedPort,
        'scalar.dl.auditor.server.admin_port': c.auditorServerAdminPort,
        'scalar.dl.auditor.ledger.host': c.auditorLedgerHost,
        'scalar.dl.auditor.cert_holder_id': c.auditorCertHolderId,
        'scalar.dl.auditor.cert_version': c.auditorCertVersion,
        'scalar.dl.auditor.cert_path': `/keys/${c.auditorCertSecretKey}`,
        'scalar.dl.auditor.private_key_path': `/keys/${c.auditorPrivateKeySecretKey}`,
      })
    return component({
      release,
      namespace,
      chartName: 'scalardl-audit',
      chart,
      values,
      app: 'auditor',
      ports: { 'scalardl-auditor': 40051, 'scalardl-auditor-priv': 40052, 'scalardl-auditor-admin': 40053, 'scalardl-audit-prometheus': 8080 },
      properties,
      keySecret: values.auditor.authentication?.method === 'hmac' ? undefined : c.secretName,
    })
  },
}
