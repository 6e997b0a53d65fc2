// The types each real chart's values.schema.json declares, as helm validates them (types only:
// these schemas have no required, enum or pattern, and unknown keys pass). One entry per typed key,
// `path type` with s string, i integer, b boolean, o object, a array. Read from
// scalar-labs/helm-charts at the tags named below (values.schema.json of each chart); the envoy
// subchart's schema applies to the parent's `envoy:` values, as helm validates subcharts.
type SchemaType = 'string' | 'integer' | 'boolean' | 'object' | 'array' | 'number'
const T: Record<string, SchemaType> = { s: 'string', i: 'integer', b: 'boolean', o: 'object', a: 'array', n: 'number' }
const table = (entries: string): Map<string, SchemaType> =>
  new Map(
    entries
      .trim()
      .split(/\s+/)
      .map((e) => {
        const [p, t] = e.split(':')
        return [p!, T[t!]!]
      }),
  )

export const SCHEMAS: Record<string, Map<string, SchemaType>> = {
  // scalar-labs/helm-charts@scalardl-4.12.0 charts/scalardl/values.schema.json
  scalardl: table(`
    envoy:o envoy.enabled:b envoy.envoyConfiguration:o envoy.envoyConfiguration.serviceListeners:s envoy.image:o
    envoy.image.version:s envoy.nameOverride:s envoy.service:o envoy.service.annotations:o envoy.service.ports:o
    envoy.service.ports.envoy:o envoy.service.ports.envoy.port:i envoy.service.ports.envoy.protocol:s
    envoy.service.ports.envoy.targetPort:i envoy.service.ports.envoy-priv:o envoy.service.ports.envoy-priv.port:i
    envoy.service.ports.envoy-priv.protocol:s envoy.service.ports.envoy-priv.targetPort:i envoy.service.type:s
    fullnameOverride:s global:o global.azure:o global.azure.images:o global.azure.images.envoy:o
    global.azure.images.envoy.image:s global.azure.images.envoy.registry:s global.azure.images.envoy.tag:s
    global.azure.images.scalardlLedger:o global.azure.images.scalardlLedger.image:s
    global.azure.images.scalardlLedger.registry:s global.azure.images.scalardlLedger.tag:s global.platform:s
    ledger:o ledger.affinity:o ledger.existingSecret:s ledger.extraVolumeMounts:a ledger.extraVolumes:a
    ledger.grafanaDashboard:o ledger.grafanaDashboard.enabled:b ledger.grafanaDashboard.namespace:s ledger.image:o
    ledger.image.pullPolicy:s ledger.image.repository:s ledger.image.version:s ledger.imagePullSecrets:a
    ledger.ledgerProperties:s ledger.nodeSelector:o ledger.podAnnotations:o ledger.podLabels:o
    ledger.podSecurityContext:o ledger.podSecurityContext.seccompProfile:o
    ledger.podSecurityContext.seccompProfile.type:s ledger.prometheusRule:o ledger.prometheusRule.enabled:b
    ledger.prometheusRule.namespace:s ledger.replicaCount:i ledger.resources:o ledger.scalarLedgerConfiguration:o
    ledger.scalarLedgerConfiguration.dbContactPoints:s ledger.scalarLedgerConfiguration.dbContactPort:i
    ledger.scalarLedgerConfiguration.dbPassword:s ledger.scalarLedgerConfiguration.dbStorage:s
    ledger.scalarLedgerConfiguration.dbUsername:s ledger.scalarLedgerConfiguration.ledgerAuditorEnabled:b
    ledger.scalarLedgerConfiguration.ledgerLogLevel:s ledger.scalarLedgerConfiguration.ledgerPrivateKeySecretKey:s
    ledger.scalarLedgerConfiguration.ledgerProofEnabled:b ledger.scalarLedgerConfiguration.secretName:s
    ledger.secretName:s ledger.securityContext:o ledger.securityContext.allowPrivilegeEscalation:b
    ledger.securityContext.capabilities:o ledger.securityContext.capabilities.drop:a
    ledger.securityContext.runAsNonRoot:b ledger.service:o ledger.service.annotations:o ledger.service.ports:o
    ledger.service.ports.scalardl:o ledger.service.ports.scalardl.port:i ledger.service.ports.scalardl.protocol:s
    ledger.service.ports.scalardl.targetPort:i ledger.service.ports.scalardl-admin:o
    ledger.service.ports.scalardl-admin.port:i ledger.service.ports.scalardl-admin.protocol:s
    ledger.service.ports.scalardl-admin.targetPort:i ledger.service.ports.scalardl-priv:o
    ledger.service.ports.scalardl-priv.port:i ledger.service.ports.scalardl-priv.protocol:s
    ledger.service.ports.scalardl-priv.targetPort:i ledger.service.type:s ledger.serviceAccount:o
    ledger.serviceAccount.automountServiceAccountToken:b ledger.serviceAccount.serviceAccountName:s
    ledger.serviceMonitor:o ledger.serviceMonitor.enabled:b ledger.serviceMonitor.interval:s
    ledger.serviceMonitor.namespace:s ledger.strategy:o ledger.strategy.rollingUpdate:o
    ledger.strategy.rollingUpdate.maxSurge:s ledger.strategy.rollingUpdate.maxUnavailable:s ledger.strategy.type:s
    ledger.tls:o ledger.tls.caRootCertSecret:s ledger.tls.caRootCertSecretForServiceMonitor:s
    ledger.tls.certChainSecret:s ledger.tls.certManager:o ledger.tls.certManager.dnsNames:a
    ledger.tls.certManager.duration:s ledger.tls.certManager.enabled:b ledger.tls.certManager.issuerRef:o
    ledger.tls.certManager.privateKey:o ledger.tls.certManager.privateKey.algorithm:s
    ledger.tls.certManager.privateKey.encoding:s ledger.tls.certManager.privateKey.size:i
    ledger.tls.certManager.renewBefore:s ledger.tls.certManager.selfSigned:o
    ledger.tls.certManager.selfSigned.caRootCert:o ledger.tls.certManager.selfSigned.caRootCert.duration:s
    ledger.tls.certManager.selfSigned.caRootCert.renewBefore:s ledger.tls.certManager.selfSigned.enabled:b
    ledger.tls.certManager.usages:a ledger.tls.enabled:b ledger.tls.overrideAuthority:s
    ledger.tls.privateKeySecret:s ledger.tolerations:a nameOverride:s
  `),
  // scalar-labs/helm-charts@scalardl-audit-2.12.0 charts/scalardl-audit/values.schema.json
  'scalardl-audit': table(`
    auditor:o auditor.affinity:o auditor.auditorProperties:s auditor.authentication:o
    auditor.authentication.method:s auditor.existingSecret:s auditor.extraVolumeMounts:a auditor.extraVolumes:a
    auditor.grafanaDashboard:o auditor.grafanaDashboard.enabled:b auditor.grafanaDashboard.namespace:s
    auditor.image:o auditor.image.pullPolicy:s auditor.image.repository:s auditor.image.version:s
    auditor.imagePullSecrets:a auditor.nodeSelector:o auditor.podAnnotations:o auditor.podLabels:o
    auditor.podSecurityContext:o auditor.podSecurityContext.seccompProfile:o
    auditor.podSecurityContext.seccompProfile.type:s auditor.prometheusRule:o auditor.prometheusRule.enabled:b
    auditor.prometheusRule.namespace:s auditor.replicaCount:i auditor.resources:o
    auditor.scalarAuditorConfiguration:o auditor.scalarAuditorConfiguration.auditorCertHolderId:s
    auditor.scalarAuditorConfiguration.auditorCertSecretKey:s
    auditor.scalarAuditorConfiguration.auditorCertVersion:i auditor.scalarAuditorConfiguration.auditorLedgerHost:s
    auditor.scalarAuditorConfiguration.auditorLogLevel:s
    auditor.scalarAuditorConfiguration.auditorPrivateKeySecretKey:s
    auditor.scalarAuditorConfiguration.auditorServerAdminPort:i
    auditor.scalarAuditorConfiguration.auditorServerPort:i
    auditor.scalarAuditorConfiguration.auditorServerPrivilegedPort:i
    auditor.scalarAuditorConfiguration.dbContactPoints:s auditor.scalarAuditorConfiguration.dbContactPort:i
    auditor.scalarAuditorConfiguration.dbPassword:s auditor.scalarAuditorConfiguration.dbStorage:s
    auditor.scalarAuditorConfiguration.dbUsername:s auditor.scalarAuditorConfiguration.secretName:s
    auditor.secretName:s auditor.securityContext:o auditor.securityContext.allowPrivilegeEscalation:b
    auditor.securityContext.capabilities:o auditor.securityContext.capabilities.drop:a
    auditor.securityContext.runAsNonRoot:b auditor.service:o auditor.service.annotations:o auditor.service.ports:o
    auditor.service.ports.scalardl-auditor:o auditor.service.ports.scalardl-auditor.port:i
    auditor.service.ports.scalardl-auditor.protocol:s auditor.service.ports.scalardl-auditor.targetPort:i
    auditor.service.ports.scalardl-auditor-admin:o auditor.service.ports.scalardl-auditor-admin.port:i
    auditor.service.ports.scalardl-auditor-admin.protocol:s
    auditor.service.ports.scalardl-auditor-admin.targetPort:i auditor.service.ports.scalardl-auditor-priv:o
    auditor.service.ports.scalardl-auditor-priv.port:i auditor.service.ports.scalardl-auditor-priv.protocol:s
    auditor.service.ports.scalardl-auditor-priv.targetPort:i auditor.service.type:s auditor.serviceAccount:o
    auditor.serviceAccount.automountServiceAccountToken:b auditor.serviceAccount.serviceAccountName:s
    auditor.serviceMonitor:o auditor.serviceMonitor.enabled:b auditor.serviceMonitor.interval:s
    auditor.serviceMonitor.namespace:s auditor.strategy:o auditor.strategy.rollingUpdate:o
    auditor.strategy.rollingUpdate.maxSurge:s auditor.strategy.rollingUpdate.maxUnavailable:s
    auditor.strategy.type:s auditor.tls:o auditor.tls.caRootCertForLedgerSecret:s auditor.tls.caRootCertSecret:s
    auditor.tls.caRootCertSecretForServiceMonitor:s auditor.tls.certChainSecret:s auditor.tls.certManager:o
    auditor.tls.certManager.dnsNames:a auditor.tls.certManager.duration:s auditor.tls.certManager.enabled:b
    auditor.tls.certManager.issuerRef:o auditor.tls.certManager.privateKey:o
    auditor.tls.certManager.privateKey.algorithm:s auditor.tls.certManager.privateKey.encoding:s
    auditor.tls.certManager.privateKey.size:i auditor.tls.certManager.renewBefore:s
    auditor.tls.certManager.selfSigned:o auditor.tls.certManager.selfSigned.caRootCert:o
    auditor.tls.certManager.selfSigned.caRootCert.duration:s
    auditor.tls.certManager.selfSigned.caRootCert.renewBefore:s auditor.tls.certManager.selfSigned.enabled:b
    auditor.tls.certManager.usages:a auditor.tls.enabled:b auditor.tls.overrideAuthority:s
    auditor.tls.privateKeySecret:s auditor.tolerations:a envoy:o envoy.enabled:b envoy.envoyConfiguration:o
    envoy.envoyConfiguration.serviceListeners:s envoy.image:o envoy.image.version:s envoy.nameOverride:s
    envoy.service:o envoy.service.annotations:o envoy.service.ports:o envoy.service.ports.envoy:o
    envoy.service.ports.envoy.port:i envoy.service.ports.envoy.protocol:s envoy.service.ports.envoy.targetPort:i
    envoy.service.ports.envoy-priv:o envoy.service.ports.envoy-priv.port:i
    envoy.service.ports.envoy-priv.protocol:s envoy.service.ports.envoy-priv.targetPort:i envoy.service.type:s
    fullnameOverride:s global:o global.azure:o global.azure.images:o global.azure.images.envoy:o
    global.azure.images.envoy.image:s global.azure.images.envoy.registry:s global.azure.images.envoy.tag:s
    global.azure.images.scalardlAuditor:o global.azure.images.scalardlAuditor.image:s
    global.azure.images.scalardlAuditor.registry:s global.azure.images.scalardlAuditor.tag:s global.platform:s
    nameOverride:s
  `),
  // scalar-labs/helm-charts@envoy-2.6.0 charts/envoy/values.schema.json
  envoy: table(`
    affinity:o envoyConfiguration:o envoyConfiguration.adminAccessLogPath:s envoyConfiguration.serviceListeners:s
    global:o global.platform:s grafanaDashboard:o grafanaDashboard.enabled:b grafanaDashboard.namespace:s image:o
    image.pullPolicy:s image.repository:s image.version:s imagePullSecrets:a nodeSelector:o podAnnotations:o
    podSecurityContext:o podSecurityContext.seccompProfile:o podSecurityContext.seccompProfile.type:s
    podSecurityPolicy:o podSecurityPolicy.enabled:b prometheusRule:o prometheusRule.enabled:b
    prometheusRule.namespace:s rbac:o rbac.create:b rbac.serviceAccountAnnotations:o replicaCount:i resources:o
    securityContext:o securityContext.allowPrivilegeEscalation:b securityContext.capabilities:o
    securityContext.capabilities.drop:a securityContext.runAsNonRoot:b service:o service.annotations:o
    service.ports:o service.ports.envoy:o service.ports.envoy.port:i service.ports.envoy.protocol:s
    service.ports.envoy.targetPort:i service.type:s serviceMonitor:o serviceMonitor.enabled:b
    serviceMonitor.interval:s serviceMonitor.namespace:s strategy:o strategy.rollingUpdate:o
    strategy.rollingUpdate.maxSurge:s strategy.rollingUpdate.maxUnavailable:s strategy.type:s tls:o
    tls.downstream:o tls.downstream.certChainSecret:s tls.downstream.certManager:o
    tls.downstream.certManager.dnsNames:a tls.downstream.certManager.duration:s
    tls.downstream.certManager.enabled:b tls.downstream.certManager.issuerRef:o
    tls.downstream.certManager.privateKey:o tls.downstream.certManager.privateKey.algorithm:s
    tls.downstream.certManager.privateKey.encoding:s tls.downstream.certManager.privateKey.size:i
    tls.downstream.certManager.renewBefore:s tls.downstream.certManager.selfSigned:o
    tls.downstream.certManager.selfSigned.enabled:b tls.downstream.certManager.usages:a tls.downstream.enabled:b
    tls.downstream.privateKeySecret:s tls.upstream:o tls.upstream.caRootCertSecret:s tls.upstream.enabled:b
    tls.upstream.overrideAuthority:s tolerations:a
  `),
  // scalar-labs/helm-charts@schema-loading-2.14.0 charts/schema-loading/values.schema.json
  'schema-loading': table(`
    schemaLoading:o schemaLoading.cassandraReplicationFactor:i schemaLoading.cassandraReplicationStrategy:s
    schemaLoading.commandArgs:a schemaLoading.contactPoints:s schemaLoading.contactPort:i
    schemaLoading.cosmosBaseResourceUnit:i schemaLoading.database:s schemaLoading.databaseProperties:s
    schemaLoading.dynamoBaseResourceUnit:i schemaLoading.existingSecret:s schemaLoading.image:o
    schemaLoading.image.pullPolicy:s schemaLoading.image.repository:s schemaLoading.image.version:s
    schemaLoading.imagePullSecrets:a schemaLoading.password:s schemaLoading.schemaType:s
    schemaLoading.secretName:s schemaLoading.username:s
  `),
}
