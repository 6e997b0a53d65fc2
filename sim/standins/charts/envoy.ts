// The envoy subchart (scalar-labs/helm-charts tag envoy-2.6.0, charts/envoy; both server charts
// pin it in Chart.lock) as the scalardl and scalardl-audit releases render it under `envoy:`.
import { chartName, fullname, labels, mergeValues, sortedEntries, withValue, type ChartVersion } from './common.ts'

/** charts/envoy/Chart.yaml@envoy-2.6.0: version 2.6.0, appVersion 1.6.1. */
const ENVOY_CHART: ChartVersion = { version: '2.6.0', appVersion: '1.6.1' }

/** charts/envoy/values.yaml@envoy-2.6.0 (the keys the templates read). */
function envoyDefaults(): any {
  return {
    global: { platform: '' },
    nameOverride: '',
    fullnameOverride: '',
    replicaCount: 3,
    envoyConfiguration: { adminAccessLogPath: '/dev/stdout', serviceListeners: 'scalar-service:50051,scalar-privileged:50052' },
    image: { repository: 'ghcr.io/scalar-labs/scalar-envoy', version: '1.6.1', pullPolicy: 'IfNotPresent' },
    imagePullSecrets: [],
    strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
    podSecurityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    securityContext: { capabilities: { drop: ['ALL'] }, runAsNonRoot: true, allowPrivilegeEscalation: false },
    podAnnotations: {},
    service: { type: 'ClusterIP', annotations: {}, ports: { envoy: { port: 50051, targetPort: 50051, protocol: 'TCP' } } },
    rbac: { create: true, serviceAccountAnnotations: {} },
    podSecurityPolicy: { enabled: false },
    serviceMonitor: { enabled: false, interval: '15s', namespace: 'monitoring' },
    prometheusRule: { enabled: false, namespace: 'monitoring' },
    grafanaDashboard: { enabled: false, namespace: 'monitoring' },
    resources: {},
    nodeSelector: {},
    tolerations: [],
    affinity: {},
    tls: {
      downstream: { enabled: false, certChainSecret: '', privateKeySecret: '', certManager: { enabled: false } },
      upstream: { enabled: false, overrideAuthority: '', caRootCertSecret: '' },
    },
  }
}

/** The subchart's values: its defaults, the parent's `envoy:` block, and the parent's globals. */
export function envoyValues(parent: any): any {
  return mergeValues(mergeValues(envoyDefaults(), parent.envoy ?? {}), { global: parent.global ?? {} })
}

export function renderEnvoy(release: string, namespace: string, parent: any): any[] {
  const v = envoyValues(parent)
  const f = fullname(release, 'envoy', v) // templates/_helpers.tpl:13-24
  const selector = {
    'app.kubernetes.io/name': chartName('envoy', v),
    'app.kubernetes.io/instance': release,
    'app.kubernetes.io/app': 'envoy',
  } // _helpers.tpl:48-52
  const lbl = labels('envoy', ENVOY_CHART, selector)
  const out: any[] = []
  // templates/serviceaccount.yaml:1-13: only with rbac.create.
  if (v.rbac?.create)
    out.push({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: `${f}-envoy`, namespace, labels: lbl, ...withValue('annotations', v.rbac.serviceAccountAnnotations) },
    })
  const tlsUp = v.tls?.upstream?.enabled
  const tlsDown = v.tls?.downstream?.enabled
  // templates/deployment.yaml@envoy-2.6.0
  out.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${f}-envoy`, namespace, labels: lbl },
    spec: {
      minReadySeconds: 0,
      replicas: v.replicaCount,
      selector: { matchLabels: selector },
      ...withValue('strategy', v.strategy), // :14-17
      template: {
        metadata: { ...withValue('annotations', v.podAnnotations), labels: selector },
        spec: {
          ...withValue('imagePullSecrets', v.imagePullSecrets),
          securityContext: v.podSecurityContext,
          ...(v.rbac?.create ? { serviceAccountName: `${f}-envoy` } : {}),
          restartPolicy: 'Always',
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 60,
          containers: [
            {
              name: 'envoy', // :40 `{{ .Chart.Name }}` of the subchart
              securityContext: v.securityContext,
              image: `${v.image.repository}:${v.image.version}`,
              imagePullPolicy: v.image.pullPolicy,
              ports: [{ containerPort: 50051 }, { containerPort: 50052 }, { containerPort: 9001 }], // :49-52, fixed whatever the listeners
              env: [
                { name: 'admin_access_log_path', value: String(v.envoyConfiguration.adminAccessLogPath) },
                { name: 'scalardl_address', value: `${f}-headless` },
                { name: 'service_listeners', value: String(v.envoyConfiguration.serviceListeners) },
                { name: 'envoy_downstream_tls', value: String(Boolean(tlsDown)) },
                { name: 'envoy_upstream_tls', value: String(Boolean(tlsUp)) },
                ...(v.tls?.upstream?.overrideAuthority
                  ? [{ name: 'envoy_upstream_tls_override_authority', value: v.tls.upstream.overrideAuthority }]
                  : []),
              ],
              startupProbe: { httpGet: { path: '/ready', port: 9001 }, failureThreshold: 60, periodSeconds: 5 },
              livenessProbe: {
                httpGet: { path: '/ready', port: 9001 },
                failureThreshold: 3,
                periodSeconds: 10,
                successThreshold: 1,
                timeoutSeconds: 1,
              },
              resources: v.resources ?? {},
              ...(tlsUp || tlsDown
                ? {
                    volumeMounts: [
                      ...(tlsUp ? [{ name: 'scalar-envoy-tls-upstream-volume', mountPath: '/etc/envoy/upstream/tls' }] : []),
                      ...(tlsDown ? [{ name: 'scalar-envoy-tls-downstream-volume', mountPath: '/etc/envoy/downstream/tls' }] : []),
                    ],
                  }
                : {}),
            },
          ],
          ...(tlsUp || tlsDown
            ? {
                volumes: [
                  ...(tlsUp
                    ? [
                        {
                          name: 'scalar-envoy-tls-upstream-volume',
                          secret: { secretName: v.tls.upstream.caRootCertSecret || `${f}-envoy-tls-cert` },
                        },
                      ]
                    : []),
                  ...(tlsDown ? [{ name: 'scalar-envoy-tls-downstream-volume', secret: { secretName: `${f}-envoy-tls-cert` } }] : []),
                ],
              }
            : {}),
          ...withValue('nodeSelector', v.nodeSelector),
          ...withValue('affinity', v.affinity),
          ...withValue('tolerations', v.tolerations),
        },
      },
    },
  })
  // templates/service.yaml@envoy-2.6.0: annotations always written; ports by sorted key.
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${f}-envoy`, namespace, labels: lbl, annotations: v.service.annotations ?? {} },
    spec: {
      type: v.service.type,
      ports: sortedEntries(v.service.ports as Record<string, object>).map(([name, p]) => ({ name, ...p })),
      selector,
    },
  })
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${f}-envoy-metrics`, namespace, labels: lbl },
    spec: { ports: [{ name: 'admin', port: 9001, protocol: 'TCP', targetPort: 9001 }], selector, type: 'ClusterIP' },
  })
  return out
}
