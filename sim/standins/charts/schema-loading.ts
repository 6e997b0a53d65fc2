// scalar-labs/schema-loading: one Job, `<fullname>` (container schema-import, restartPolicy Never,
// backoffLimit 0, no nodeSelector or tolerations: the chart offers none), its credentials
// Secret, and a properties ConfigMap when databaseProperties is set.
import { dbSecret, fullname, labels, type Chart } from './common.ts'

export const schemaLoading: Chart = {
  name: 'schema-loading',
  description: 'Implementation for Scalar DL Schema Loading',
  versions: ['2.14.0:3.13.0', '2.13.3:3.12.3', '2.13.0:3.12.0', '2.12.3:3.11.3', '2.11.6:3.10.5'].map((s) => ({ version: s.split(':')[0]!, appVersion: s.split(':')[1]! })),
  defaults: () => ({
    nameOverride: '',
    fullnameOverride: '',
    schemaLoading: {
      schemaType: 'ledger',
      image: { repository: 'ghcr.io/scalar-labs/scalardl-schema-loader', version: '3.13.0', pullPolicy: 'IfNotPresent' },
      imagePullSecrets: [],
      database: 'cassandra',
      contactPoints: 'cassandra',
      contactPort: 9042,
      username: 'cassandra',
      password: 'cassandra',
      cassandraReplicationStrategy: 'SimpleStrategy',
      cassandraReplicationFactor: 1,
      cosmosBaseResourceUnit: 400,
      dynamoBaseResourceUnit: 10,
      existingSecret: '',
      secretName: '',
      databaseProperties: '',
      commandArgs: [],
    },
  }),
  render(release, namespace, values, chart) {
    const v = values.schemaLoading
    const f = fullname(release, 'schema-loading', values)
    const lbl = labels('schema-loading', release, chart)
    const out: any[] = []
    const secret = v.existingSecret || f
    if (!v.existingSecret) out.push(dbSecret(f, namespace, lbl, v.username, v.password))
    let args: string[]
    const volumes: any[] = []
    const mounts: any[] = []
    if (v.databaseProperties) {
      out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${f}-database-properties`, namespace, labels: lbl }, data: { 'database.properties': v.databaseProperties } })
      volumes.push({ name: 'database-properties-volume', configMap: { name: `${f}-database-properties` } })
      mounts.push({ name: 'database-properties-volume', mountPath: '/tmp/database.properties', subPath: 'database.properties' })
      args = ['--config', '/tmp/database.properties', ...(v.schemaType === 'ledger' ? ['--coordinator'] : [])]
    } else if (v.database === 'dynamo') args = ['--dynamo', '--region', String(v.contactPoints), '-u', '$(SCALAR_DB_USERNAME)', '-p', '$(SCALAR_DB_PASSWORD)', '-r', String(v.dynamoBaseResourceUnit)]
    else if (v.database === 'cosmos') args = ['--cosmos', '-h', String(v.contactPoints), '-p', '$(SCALAR_DB_PASSWORD)', '-r', String(v.cosmosBaseResourceUnit)]
    else if (v.database === 'jdbc') args = ['--jdbc', '-j', String(v.contactPoints), '-u', '$(SCALAR_DB_USERNAME)', '-p', '$(SCALAR_DB_PASSWORD)']
    else args = ['--cassandra', '-h', String(v.contactPoints), '-P', String(v.contactPort), '-u', '$(SCALAR_DB_USERNAME)', '-p', '$(SCALAR_DB_PASSWORD)', '-n', String(v.cassandraReplicationStrategy), '-R', String(v.cassandraReplicationFactor)]
    out.push({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: f, namespace, labels: lbl },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { 'app.kubernetes.io/name': 'schema-loading', 'app.kubernetes.io/instance': release } },
          spec: {
            restartPolicy: 'Never',
            ...(v.imagePullSecrets?.length ? { imagePullSecrets: v.imagePullSecrets } : {}),
            ...(volumes.length ? { volumes } : {}),
            containers: [
              {
                name: 'schema-import',
                image: `${v.image.repository}:${v.image.version}`,
                imagePullPolicy: v.image.pullPolicy,
                args: [...args, ...(v.commandArgs ?? [])],
                env: [
                  { name: 'SCHEMA_TYPE', value: v.schemaType },
                  { name: 'SCALAR_DB_USERNAME', valueFrom: { secretKeyRef: { name: secret, key: 'db-username' } } },
                  { name: 'SCALAR_DB_PASSWORD', valueFrom: { secretKeyRef: { name: secret, key: 'db-password' } } },
                ],
                ...(mounts.length ? { volumeMounts: mounts } : {}),
              },
            ],
          },
        },
      },
    })
    return out
  },
}
