// scalar-labs/scalardl (Ledger + Envoy, tag scalardl-4.12.0) and scalar-labs/scalardl-audit
// (Auditor + Envoy, tag scalardl-audit-2.12.0), as their templates name, label and build their
// objects: the properties come only from ledgerProperties / auditorProperties (a dockerize
// template the container renders), the database credentials reach the container only as
// HELM_SCALAR_DB_USERNAME/PASSWORD (secretKeyRef) or through envFrom of `secretName`.
// Older chart versions listed below render as these tags do.
import { checksum, chartName, dbSecret, fullname, labels, sortedEntries, withValue, type Chart, type ChartVersion } from './common.ts'
import { renderEnvoy } from './envoy.ts'

const podDefaults = () => ({
  secretName: '',
  imagePullSecrets: [],
  strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
  podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
  securityContext: { capabilities: { drop: ['ALL'] }, runAsNonRoot: true, allowPrivilegeEscalation: false },
  extraVolumes: [],
  extraVolumeMounts: [],
  prometheusRule: { enabled: false, namespace: 'monitoring' },
  grafanaDashboard: { enabled: false, namespace: 'monitoring' },
  serviceMonitor: { enabled: false, interval: '15s', namespace: 'monitoring' },
  resources: {},
  nodeSelector: {},
  tolerations: [],
  affinity: {},
  existingSecret: '',
  serviceAccount: { serviceAccountName: '', automountServiceAccountToken: false },
  tls: {
    enabled: false,
    overrideAuthority: '',
    caRootCertSecret: '',
    certChainSecret: '',
    privateKeySecret: '',
    caRootCertSecretForServiceMonitor: '',
    certManager: { enabled: false },
  },
  podAnnotations: {},
  podLabels: {},
})

const ports = (names: string[], first: number) =>
  Object.fromEntries(names.map((n, i) => [n, { port: first + i, targetPort: first + i, protocol: 'TCP' }]))
const envoyBlock = (nameOverride: string, listeners: string, first: number) => ({
  enabled: true,
  nameOverride,
  envoyConfiguration: { serviceListeners: listeners },
  image: { version: '1.6.1' },
  service: {
    type: 'ClusterIP',
    annotations: {},
    ports: {
      envoy: { port: first, targetPort: first, protocol: 'TCP' },
      'envoy-priv': { port: first + 1, targetPort: first + 1, protocol: 'TCP' },
    },
  },
})
const secretEnv = (name: string, secret: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } })

interface Server {
  chart: string
  app: 'ledger' | 'auditor'
  /** The properties value key (ledgerProperties / auditorProperties). */
  propertiesKey: string
  /** The first of the server's four container ports (50051 or 40051; the fourth is 8080). */
  port: number
  /** The env the template sets besides the credentials, in template order. */
  env(v: any): { name: string; value: string }[]
  /** The server's own key volume and mount: gated differently by the two charts. */
  keys(v: any): { volume: boolean; mount: boolean; secret: string }
  /** The prometheus port's name in the metrics Service. */
  metricsPort: string
}

function renderServer(s: Server, release: string, namespace: string, values: any, cv: ChartVersion): any[] {
  const v = values[s.app]
  const f = fullname(release, s.chart, values)
  const selector = {
    'app.kubernetes.io/name': chartName(s.chart, values),
    'app.kubernetes.io/instance': release,
    'app.kubernetes.io/app': s.app,
  } // _helpers.tpl selectorLabels
  const lbl = labels(s.chart, cv, selector)
  const out: any[] = []
  const credentials = v.existingSecret || `${f}-${s.app}`
  // templates/<app>/secret.yaml: only without existingSecret, from the chart's dbUsername/dbPassword.
  if (!v.existingSecret) {
    const c = v[s.app === 'ledger' ? 'scalarLedgerConfiguration' : 'scalarAuditorConfiguration'] ?? {}
    out.push(dbSecret(`${f}-${s.app}`, namespace, lbl, c.dbUsername, c.dbPassword))
  }
  // templates/<app>/configmap.yaml: no labels; the key is <app>.properties.tmpl.
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${f}-${s.app}-properties`, namespace },
    data: { [`${s.app}.properties.tmpl`]: String(v[s.propertiesKey] ?? '') },
  }
  out.push(configMap)
  const keys = s.keys(v)
  const propertiesVolume = `scalardl-${s.app}-properties-volume`
  // templates/<app>/deployment.yaml: the keys volume first, then the properties, then extraVolumes.
  const volumes = [
    ...(keys.volume ? [{ name: keys.secret, secret: { secretName: keys.secret } }] : []),
    { name: propertiesVolume, configMap: { name: `${f}-${s.app}-properties` } },
    ...(v.extraVolumes ?? []),
  ]
  const mounts = [
    ...(keys.mount ? [{ name: keys.secret, mountPath: '/keys', readOnly: true }] : []),
    { name: propertiesVolume, mountPath: `/scalar/${s.app}/${s.app}.properties.tmpl`, subPath: `${s.app}.properties.tmpl` },
    ...(v.extraVolumeMounts ?? []),
  ]
  const probe = ['/usr/local/bin/grpc_health_probe', `-addr=localhost:${s.port}`]
  out.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${f}-${s.app}`, namespace, labels: lbl },
    spec: {
      minReadySeconds: 0,
      replicas: v.replicaCount,
      selector: { matchLabels: selector },
      ...withValue('strategy', v.strategy),
      template: {
        metadata: {
          annotations: { 'checksum/config': checksum(configMap), ...(v.podAnnotations ?? {}) },
          // sprig `merge $selectorLabels $podLabels`: the selector labels win.
          labels: {
            ...(v.podLabels ?? {}),
            ...selector,
            ...(values.global?.platform === 'azure' ? { 'azure-extensions-usage-release-identifier': release } : {}),
          },
        },
        spec: {
          restartPolicy: 'Always',
          ...(v.serviceAccount?.serviceAccountName ? { serviceAccountName: v.serviceAccount.serviceAccountName } : {}),
          automountServiceAccountToken: v.serviceAccount?.automountServiceAccountToken ?? false,
          terminationGracePeriodSeconds: 60,
          ...withValue('imagePullSecrets', v.imagePullSecrets),
          securityContext: v.podSecurityContext,
          volumes,
          containers: [
            {
              name: `${s.chart}-${s.app}`, // `{{ .Chart.Name }}-ledger` / `{{ .Chart.Name }}-auditor`
              securityContext: v.securityContext,
              image: `${v.image.repository}:${v.image.version}`,
              imagePullPolicy: v.image.pullPolicy,
              volumeMounts: mounts,
              ports: [{ containerPort: s.port }, { containerPort: s.port + 1 }, { containerPort: s.port + 2 }, { containerPort: 8080 }],
              env: [
                ...s.env(v).slice(0, 2),
                secretEnv('HELM_SCALAR_DB_USERNAME', credentials, 'db-username'),
                secretEnv('HELM_SCALAR_DB_PASSWORD', credentials, 'db-password'),
                ...s.env(v).slice(2),
              ],
              ...(v.secretName ? { envFrom: [{ secretRef: { name: v.secretName } }] } : {}),
              startupProbe: { exec: { command: probe }, failureThreshold: 60, periodSeconds: 5 },
              livenessProbe: { exec: { command: probe }, failureThreshold: 3, periodSeconds: 10, successThreshold: 1, timeoutSeconds: 1 },
              resources: v.resources ?? {},
            },
          ],
          ...withValue('nodeSelector', v.nodeSelector),
          ...withValue('affinity', v.affinity),
          ...withValue('tolerations', v.tolerations),
        },
      },
    },
  })
  // templates/<app>/service.yaml: -endpoint only without envoy; -headless with every service port
  // (sorted by key); -metrics with the prometheus port. All carry the server's labels.
  const svcPorts = sortedEntries(v.service?.ports as Record<string, object>)
  if (!values.envoy?.enabled) {
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${f}-endpoint`, namespace, labels: lbl, annotations: v.service?.annotations ?? {} },
      spec: {
        type: v.service?.type,
        sessionAffinity: 'None',
        ports: svcPorts
          .filter(
            ([n]) =>
              n === `scalardl${s.app === 'auditor' ? '-auditor' : ''}` || n === `scalardl${s.app === 'auditor' ? '-auditor' : ''}-priv`,
          )
          .map(([name, p]) => ({ name, ...p })),
        selector,
      },
    })
  }
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${f}-headless`, namespace, labels: lbl },
    spec: { type: 'ClusterIP', clusterIP: 'None', sessionAffinity: 'None', ports: svcPorts.map(([name, p]) => ({ name, ...p })), selector },
  })
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${f}-metrics`, namespace, labels: lbl },
    spec: { ports: [{ name: s.metricsPort, port: 8080, targetPort: 8080, protocol: 'TCP' }], selector, type: 'ClusterIP' },
  })
  if (values.envoy?.enabled) out.push(...renderEnvoy(release, namespace, values))
  return out
}

/** templates/<app>/validate-values.yaml: keys the chart manages itself. */
function validatePod(product: string, v: any): string | undefined {
  if (v?.podAnnotations && 'checksum/config' in v.podAnnotations)
    return `execution error at (${product}): ${product === 'scalardl' ? 'ScalarDL Ledger: "ledger' : 'ScalarDL Auditor: "auditor'}.podAnnotations" cannot contain the key "checksum/config" as it is managed by the chart.`
  if (v?.podLabels && 'azure-extensions-usage-release-identifier' in v.podLabels)
    return `execution error at (${product}): ${product === 'scalardl' ? 'ScalarDL Ledger: "ledger' : 'ScalarDL Auditor: "auditor'}.podLabels" cannot contain the key "azure-extensions-usage-release-identifier" as it is managed by the chart.`
  return undefined
}

const LEDGER: Server = {
  chart: 'scalardl',
  app: 'ledger',
  propertiesKey: 'ledgerProperties',
  port: 50051,
  metricsPort: 'scalardl-prometheus',
  // templates/ledger/deployment.yaml:104-138
  env: (v) => {
    const c = v.scalarLedgerConfiguration ?? {}
    return [
      { name: 'HELM_SCALAR_DB_CONTACT_POINTS', value: String(c.dbContactPoints ?? '') },
      { name: 'HELM_SCALAR_DB_CONTACT_PORT', value: String(c.dbContactPort ?? '') },
      { name: 'HELM_SCALAR_DB_STORAGE', value: String(c.dbStorage ?? '') },
      { name: 'SCALAR_DL_LEDGER_LOG_LEVEL', value: String(c.ledgerLogLevel ?? '') },
      { name: 'HELM_SCALAR_DL_LEDGER_PROOF_ENABLED', value: String(c.ledgerProofEnabled ?? '') },
      { name: 'HELM_SCALAR_DL_LEDGER_PROOF_PRIVATE_KEY_PATH', value: `/keys/${c.ledgerPrivateKeySecretKey ?? ''}` },
      ...(c.ledgerAuditorEnabled ? [{ name: 'HELM_SCALAR_DL_LEDGER_AUDITOR_ENABLED', value: String(c.ledgerAuditorEnabled) }] : []),
    ]
  },
  // deployment.yaml:46-50 and 84-88: the key secret is mounted at /keys whenever
  // scalarLedgerConfiguration.ledgerProofEnabled is true, beside any extraVolumes.
  keys: (v) => {
    const c = v.scalarLedgerConfiguration ?? {}
    return { volume: Boolean(c.ledgerProofEnabled), mount: Boolean(c.ledgerProofEnabled), secret: String(c.secretName ?? '') }
  },
}

const AUDITOR: Server = {
  chart: 'scalardl-audit',
  app: 'auditor',
  propertiesKey: 'auditorProperties',
  port: 40051,
  metricsPort: 'scalardl-audit-prometheus',
  // templates/auditor/deployment.yaml:115-157
  env: (v) => {
    const c = v.scalarAuditorConfiguration ?? {}
    return [
      { name: 'HELM_SCALAR_DB_CONTACT_POINTS', value: String(c.dbContactPoints ?? '') },
      { name: 'HELM_SCALAR_DB_CONTACT_PORT', value: String(c.dbContactPort ?? '') },
      { name: 'HELM_SCALAR_DB_STORAGE', value: String(c.dbStorage ?? '') },
      { name: 'HELM_SCALAR_DL_AUDITOR_SERVER_PORT', value: String(c.auditorServerPort ?? '') },
      { name: 'HELM_SCALAR_DL_AUDITOR_SERVER_PRIVILEGED_PORT', value: String(c.auditorServerPrivilegedPort ?? '') },
      { name: 'HELM_SCALAR_DL_AUDITOR_SERVER_ADMIN_PORT', value: String(c.auditorServerAdminPort ?? '') },
      { name: 'SCALAR_DL_AUDITOR_LOG_LEVEL', value: String(c.auditorLogLevel ?? '') },
      { name: 'HELM_SCALAR_DL_AUDITOR_LEDGER_HOST', value: String(c.auditorLedgerHost ?? '') },
      { name: 'HELM_SCALAR_DL_AUDITOR_CERT_HOLDER_ID', value: String(c.auditorCertHolderId ?? '') },
      { name: 'HELM_SCALAR_DL_AUDITOR_CERT_VERSION', value: String(c.auditorCertVersion ?? '') },
      { name: 'HELM_SCALAR_DL_AUDITOR_CERT_PATH', value: `/keys/${c.auditorCertSecretKey ?? ''}` },
      { name: 'HELM_SCALAR_DL_AUDITOR_PRIVATE_KEY_PATH', value: `/keys/${c.auditorPrivateKeySecretKey ?? ''}` },
    ]
  },
  // deployment.yaml:44-48 and 93-97: the volume unless extraVolumes is set, the mount unless
  // extraVolumeMounts is set (gated separately), neither with HMAC authentication.
  keys: (v) => {
    const hmac = v.authentication?.method === 'hmac'
    return {
      volume: !hmac && !(v.extraVolumes ?? []).length,
      mount: !hmac && !(v.extraVolumeMounts ?? []).length,
      secret: String(v.scalarAuditorConfiguration?.secretName ?? ''),
    }
  },
}

const versions = (list: string[]) => list.map((s) => ({ version: s.split(':')[0]!, appVersion: s.split(':')[1]! }))

export const scalardl: Chart = {
  name: 'scalardl',
  description: 'ScalarDL is a tamper-evident and scalable distributed database.',
  versions: versions(['4.12.0:3.13.0', '4.11.3:3.12.3', '4.11.0:3.12.0', '4.10.3:3.11.3', '4.9.6:3.10.5', '4.8.6:3.9.7']),
  // charts/scalardl/values.yaml@scalardl-4.12.0
  defaults: () => ({
    global: {
      platform: '',
      azure: {
        images: {
          scalardlLedger: { tag: '3.13.0', image: 'scalardl-ledger-azure-payg', registry: 'scalar.azurecr.io' },
          envoy: { tag: '1.6.1', image: 'scalar-envoy', registry: 'scalar.azurecr.io' },
        },
      },
    },
    nameOverride: '',
    fullnameOverride: '',
    envoy: envoyBlock('scalardl', 'scalardl-service:50051,scalardl-privileged:50052', 50051),
    ledger: {
      replicaCount: 3,
      scalarLedgerConfiguration: {
        dbContactPoints: 'cassandra',
        dbContactPort: 9042,
        dbUsername: 'cassandra',
        dbPassword: 'cassandra',
        dbStorage: 'cassandra',
        ledgerLogLevel: 'INFO',
        ledgerProofEnabled: false,
        ledgerAuditorEnabled: false,
        secretName: 'ledger-keys',
        ledgerPrivateKeySecretKey: 'private-key',
      },
      // values.yaml:91-121 (comments dropped): a dockerize template over the HELM_* variables.
      ledgerProperties:
        [
          'contact_points:DB_CONTACT_POINTS',
          'contact_port:DB_CONTACT_PORT',
          'username:DB_USERNAME',
          'password:DB_PASSWORD',
          'storage:DB_STORAGE',
        ]
          .map((p) => `scalar.db.${p.split(':')[0]}={{ default .Env.HELM_SCALAR_${p.split(':')[1]} "" }}`)
          .concat(
            ['proof.enabled:PROOF_ENABLED', 'auditor.enabled:AUDITOR_ENABLED', 'proof.private_key_path:PROOF_PRIVATE_KEY_PATH'].map(
              (p) => `scalar.dl.ledger.${p.split(':')[0]}={{ default .Env.HELM_SCALAR_DL_LEDGER_${p.split(':')[1]} "" }}`,
            ),
          )
          .join('\n') + '\n',
      image: { repository: 'ghcr.io/scalar-labs/scalardl-ledger', version: '3.13.0', pullPolicy: 'IfNotPresent' },
      ...podDefaults(),
      service: { type: 'ClusterIP', annotations: {}, ports: ports(['scalardl', 'scalardl-priv', 'scalardl-admin'], 50051) },
    },
  }),
  validate: (values) => validatePod('scalardl', values.ledger),
  render: (release, namespace, values, cv) => renderServer(LEDGER, release, namespace, values, cv),
}

export const scalardlAudit: Chart = {
  name: 'scalardl-audit',
  description:
    'ScalarDL is a tamper-evident and scalable distributed database. This chart adds an auditing capability to Ledger (scalardl chart).',
  versions: versions(['2.12.0:3.13.0', '2.11.3:3.12.3', '2.11.0:3.12.0', '2.10.3:3.11.3', '2.9.6:3.10.5']),
  // charts/scalardl-audit/values.yaml@scalardl-audit-2.12.0
  defaults: () => ({
    global: {
      platform: '',
      azure: {
        images: {
          scalardlAuditor: { tag: '3.13.0', image: 'scalardl-auditor-azure-payg', registry: 'scalar.azurecr.io' },
          envoy: { tag: '1.6.1', image: 'scalar-envoy', registry: 'scalar.azurecr.io' },
        },
      },
    },
    nameOverride: '',
    fullnameOverride: '',
    envoy: envoyBlock('scalardl-audit', 'scalardl-audit-service:40051,scalardl-audit-privileged:40052', 40051),
    auditor: {
      replicaCount: 3,
      scalarAuditorConfiguration: {
        dbContactPoints: 'cassandra',
        dbContactPort: 9042,
        dbUsername: 'cassandra',
        dbPassword: 'cassandra',
        dbStorage: 'cassandra',
        auditorServerPort: 40051,
        auditorServerPrivilegedPort: 40052,
        auditorServerAdminPort: 40053,
        auditorLogLevel: 'INFO',
        auditorLedgerHost: '',
        auditorCertHolderId: 'auditor',
        auditorCertVersion: 1,
        secretName: 'auditor-keys',
        auditorCertSecretKey: 'certificate',
        auditorPrivateKeySecretKey: 'private-key',
      },
      // values.yaml auditorProperties (comments dropped): no licensing lines; the user adds them.
      auditorProperties:
        ['contact_points', 'contact_port', 'username', 'password', 'storage']
          .map((p) => `scalar.db.${p}={{ default .Env.HELM_SCALAR_DB_${p.toUpperCase()} "" }}`)
          .concat(
            [
              'server.port',
              'server.privileged_port',
              'server.admin_port',
              'ledger.host',
              'cert_holder_id',
              'cert_version',
              'cert_path',
              'private_key_path',
            ].map((p) => `scalar.dl.auditor.${p}={{ default .Env.HELM_SCALAR_DL_AUDITOR_${p.toUpperCase().replace(/\./g, '_')} "" }}`),
          )
          .join('\n') + '\n',
      image: { repository: 'ghcr.io/scalar-labs/scalardl-auditor-byol', version: '3.13.0', pullPolicy: 'IfNotPresent' },
      ...podDefaults(),
      service: {
        type: 'ClusterIP',
        annotations: {},
        ports: ports(['scalardl-auditor', 'scalardl-auditor-priv', 'scalardl-auditor-admin'], 40051),
      },
      authentication: { method: 'digital-signature' },
    },
  }),
  validate: (values) => validatePod('scalardl-audit', values.auditor),
  render: (release, namespace, values, cv) => renderServer(AUDITOR, release, namespace, values, cv),
}
