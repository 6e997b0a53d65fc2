// scalar-labs/schema-loading (tag schema-loading-2.14.0, charts/schema-loading): one Job,
// `<fullname>` (container schema-import, restartPolicy Never, backoffLimit 0, no nodeSelector or
// tolerations: the chart offers none), its credentials Secret unless existingSecret is given, and
// a properties ConfigMap when databaseProperties is set.
import { chartName, dbSecret, fullname, labels, withValue, type Chart } from './common.ts'

export const schemaLoading: Chart = {
  name: 'schema-loading',
  description: 'A schema loading tool for ScalarDL.',
  versions: ['2.14.0:3.13.0', '2.13.3:3.12.3', '2.13.0:3.12.0', '2.12.3:3.11.3', '2.11.6:3.10.5'].map((s) => ({
    version: s.split(':')[0]!,
    appVersion: s.split(':')[1]!,
  })),
  // charts/schema-loading/values.yaml@schema-loading-2.14.0 (databaseProperties is an empty block:
  // its example lines are YAML comments).
  defaults: () => ({
    schemaLoading: {
      database: 'cassandra',
      contactPoints: 'cassandra',
      contactPort: 9042,
      username: 'cassandra',
      password: 'cassandra',
      cassandraReplicationFactor: 1,
      cassandraReplicationStrategy: 'SimpleStrategy',
      cosmosBaseResourceUnit: 400,
      dynamoBaseResourceUnit: 10,
      databaseProperties: '',
      secretName: '',
      commandArgs: [],
      image: { repository: 'ghcr.io/scalar-labs/scalardl-schema-loader', version: '3.13.0', pullPolicy: 'IfNotPresent' },
      imagePullSecrets: [],
      existingSecret: '',
      schemaType: 'ledger',
    },
  }),
  render(release, namespace, values, chart) {
    const v = values.schemaLoading
    const f = fullname(release, 'schema-loading', values)
    const selector = { 'app.kubernetes.io/name': chartName('schema-loading', values), 'app.kubernetes.io/instance': release } // _helpers.tpl:49-52
    const lbl = labels('schema-loading', chart, selector)
    const out: any[] = []
    const secret = v.existingSecret || f
    // templates/secret.yaml:1-13
    if (!v.existingSecret) out.push(dbSecret(f, namespace, lbl, v.username, v.password))
    // templates/configmap.yaml:1-11: no labels; the key is database.properties.tmpl.
    if (v.databaseProperties)
      out.push({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `${f}-database-properties`, namespace },
        data: { 'database.properties.tmpl': String(v.databaseProperties) },
      })
    // templates/batchjob-schema-loading.yaml:22-70: the legacy flags without databaseProperties
    // (the password first), else --config of the file the image's entrypoint renders.
    const U = '$(HELM_SCALAR_DB_USERNAME)'
    let args: string[]
    if (!v.databaseProperties) {
      const db: Record<string, string[]> = {
        cassandra: [
          '--cassandra',
          '-u',
          U,
          '-h',
          String(v.contactPoints),
          '-P',
          String(v.contactPort),
          '-n',
          String(v.cassandraReplicationStrategy),
          '-R',
          String(v.cassandraReplicationFactor),
        ],
        cosmos: ['--cosmos', '-h', String(v.contactPoints), '-r', String(v.cosmosBaseResourceUnit)],
        dynamo: ['--dynamo', '--region', String(v.contactPoints), '-u', U, '-r', String(v.dynamoBaseResourceUnit)],
        jdbc: ['--jdbc', '-u', U, '-j', String(v.contactPoints)],
      }
      args = ['-p', '$(HELM_SCALAR_DB_PASSWORD)', ...(db[v.database] ?? [])]
    } else args = ['--config', '/tmp/database.properties', ...(v.schemaType === 'ledger' ? ['--coordinator'] : [])]
    args.push(...((v.commandArgs ?? []) as unknown[]).map(String))
    out.push({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: f, namespace, labels: lbl },
      spec: {
        template: {
          metadata: { labels: selector },
          spec: {
            ...withValue('imagePullSecrets', v.imagePullSecrets),
            containers: [
              {
                name: 'schema-import',
                image: `${v.image.repository}:${v.image.version}`,
                imagePullPolicy: v.image.pullPolicy,
                args,
                // :71-96
                env: [
                  { name: 'HELM_SCALAR_DB_USERNAME', valueFrom: { secretKeyRef: { name: secret, key: 'db-username' } } },
                  { name: 'HELM_SCALAR_DB_PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'db-password' } } },
                  { name: 'SCHEMA_TYPE', value: String(v.schemaType) },
                ],
                ...(v.secretName ? { envFrom: [{ secretRef: { name: v.secretName } }] } : {}),
                // :97-106
                ...(v.databaseProperties
                  ? {
                      volumeMounts: [
                        {
                          name: 'scalardb-database-properties-volume',
                          mountPath: '/scalardl-schema-loader/database.properties.tmpl',
                          subPath: 'database.properties.tmpl',
                        },
                      ],
                    }
                  : {}),
              },
            ],
            ...(v.databaseProperties
              ? { volumes: [{ name: 'scalardb-database-properties-volume', configMap: { name: `${f}-database-properties` } }] }
              : {}),
            restartPolicy: 'Never',
          },
        },
        backoffLimit: 0,
      },
    })
    return out
  },
}
