// What some container images do when they run, for the images whose effects the runbook checks.
// The Scalar DL schema loader: creates the Ledger or Auditor tables in DynamoDB (moto), with the
// namespace prefix, provisioned capacity, auto scaling and point-in-time recovery, as the real
// loader does.
import {
  ApplicationAutoScalingClient,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling'
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb'
import type { Obj, Store } from './store.ts'
import {
  containerEnv,
  containerFiles,
  dockerize,
  dynamoCredentialsProblem,
  expand,
  scalarProperties,
  type Container,
} from './containers.ts'
import { byResource } from './resources.ts'
import { DATABASE_KEY } from '../faults.ts'

const CONFIGMAPS = byResource('', 'configmaps')!
/** scalar-labs/scalardl v3.13.0 schema-loader/database.properties.tmpl (the image's own, comments dropped). */
const SCHEMA_LOADER_TEMPLATE = ['contact_points', 'contact_port', 'username', 'password', 'storage']
  .map((p) => `scalar.db.${p}={{ default .Env.SCALAR_DB_${p.toUpperCase()} "" }}`)
  .join('\n')

export interface RunResult {
  ok: boolean
  message: string
}

const LEDGER = [
  'scalar.asset',
  'scalar.asset_metadata',
  'scalar.certificate',
  'scalar.contract',
  'scalar.contract_class',
  'scalar.function',
  'scalar.tx_state',
]
const AUDITOR = [
  'auditor.asset',
  'auditor.asset_lock',
  'auditor.certificate',
  'auditor.contract',
  'auditor.contract_class',
  'auditor.request_proof',
]

function versionAtLeast(image: string, minor: number): boolean {
  const m = /:(\d+)\.(\d+)/.exec(image)
  return !m || Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2]) >= minor)
}

export function tablesFor(schemaType: string, image: string, coordinator: boolean): string[] {
  const ns = schemaType === 'auditor' ? 'auditor' : 'scalar'
  const base = schemaType === 'auditor' ? AUDITOR : LEDGER
  return [
    ...base,
    ...(versionAtLeast(image, 12) ? [`${ns}.secret`] : []),
    ...(versionAtLeast(image, 13) ? [`${ns}.namespace`] : []),
    ...(coordinator ? ['coordinator.state'] : []),
    'scalardb.metadata',
  ]
}

function properties(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^\s*([^#=\s][^=]*?)\s*=\s*(.*)$/.exec(line)
    if (m) out[m[1]!] = m[2]!.trim()
  }
  return out
}

export function isSchemaLoader(pod: Obj): boolean {
  return (pod.spec?.containers ?? []).some((c: { image?: string }) => /schema-loader/.test(c.image ?? ''))
}

/**
 * Runs the schema loader the pod describes, as its image does (scalar-labs/scalardl v3.13.0
 * schema-loader/entrypoint.sh:4): dockerize renders /scalardl-schema-loader/database.properties.tmpl
 * (the chart's mounted one, else the image's own: schema-loader/database.properties.tmpl) to
 * /tmp/database.properties, then the loader runs with `-f ${SCHEMA_TYPE}-schema.json` and the args,
 * whose `$(VAR)` the kubelet has expanded. ScalarDB reads the file with `${env:...}` substitution
 * (helm-charts docs/use-secret-for-credentials.md:51-59, ScalarDB 3.8 or later). The tables end up
 * in moto's DynamoDB, with the credentials checked as DynamoDB would.
 */
export async function runSchemaLoader(pod: Obj, store: Store, registeredDbCredentials = ''): Promise<RunResult> {
  const c = (pod.spec.containers as Container[]).find((x) => /schema-loader/.test(x.image))!
  const built = containerEnv(pod, c, store)
  if ('error' in built) return { ok: false, message: built.error }
  const env = built.env
  const args = (c.args ?? []).map((a) => expand(a, env))
  const schemaType = env.SCHEMA_TYPE ?? 'ledger'
  const arg = (...flags: string[]) => {
    const i = args.findIndex((a) => flags.includes(a))
    return i >= 0 ? args[i + 1] : undefined
  }
  let storage = args.includes('--dynamo')
    ? 'dynamo'
    : args.includes('--cassandra')
      ? 'cassandra'
      : args.includes('--jdbc')
        ? 'jdbc'
        : args.includes('--cosmos')
          ? 'cosmos'
          : ''
  let region = arg('--region')
  let prefix = ''
  let endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL
  let user = arg('-u', '--user')
  let password = arg('-p', '--password')
  const ru = Number(arg('-r', '--ru') ?? 10)
  if (args.includes('--config')) {
    const files = containerFiles(pod, c, store)
    const template = files['/scalardl-schema-loader/database.properties.tmpl'] ?? SCHEMA_LOADER_TEMPLATE
    const rendered = dockerize(template, env)
    if ('error' in rendered) return { ok: false, message: `dockerize: ${rendered.error}` }
    if (arg('--config') !== '/tmp/database.properties')
      return { ok: false, message: `java.nio.file.NoSuchFileException: ${arg('--config')}` }
    const props = scalarProperties(rendered.text, env, true)
    storage = props['scalar.db.storage'] ?? ''
    region = props['scalar.db.contact_points']
    prefix = props['scalar.db.dynamo.namespace.prefix'] ?? ''
    endpoint = props['scalar.db.dynamo.endpoint_override'] ?? endpoint
    user = props['scalar.db.username']
    password = props['scalar.db.password']
  }
  if (storage !== 'dynamo')
    return {
      ok: false,
      message: `(simulated schema loader) cannot reach the ${storage || 'configured'} database: only DynamoDB is simulated`,
    }
  if (!region) return { ok: false, message: '(simulated schema loader) no region: set scalar.db.contact_points to the AWS region' }
  if (!endpoint) return { ok: false, message: '(simulated schema loader) no DynamoDB endpoint: the simulator was started without moto' }
  const denied = dynamoCredentialsProblem(user, password, registeredDbCredentials)
  if (denied) return { ok: false, message: `com.scalar.db.schemaloader.SchemaLoaderException: Creating the namespace failed. ${denied}` }
  const client = new DynamoDBClient({
    region,
    endpoint,
    credentials: { accessKeyId: DATABASE_KEY, secretAccessKey: DATABASE_KEY },
    maxAttempts: 8,
  }) // ScalarDB retries its storage calls; so does this stand-in (the fault proxy may throttle)
  const scaling = new ApplicationAutoScalingClient({
    region,
    endpoint,
    credentials: { accessKeyId: DATABASE_KEY, secretAccessKey: DATABASE_KEY },
    maxAttempts: 8,
  }) // DynamoAdmin.java:224-231: the same endpoint override and credentials as DynamoDB's client
  const coordinator = schemaType === 'ledger'
  const made: string[] = []
  try {
    for (const table of tablesFor(schemaType, c.image, coordinator)) {
      const name = prefix + table
      try {
        await client.send(
          new CreateTableCommand({
            TableName: name,
            AttributeDefinitions: [
              { AttributeName: 'concatenatedPartitionKey', AttributeType: 'S' },
              { AttributeName: 'concatenatedClusteringKey', AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: 'concatenatedPartitionKey', KeyType: 'HASH' },
              { AttributeName: 'concatenatedClusteringKey', KeyType: 'RANGE' },
            ],
            ProvisionedThroughput: { ReadCapacityUnits: ru, WriteCapacityUnits: ru },
          }),
        )
        made.push(name)
        // Auto scaling before backups, and not for the metadata table (DynamoAdmin.java:271-278).
        if (!args.includes('--no-scaling') && table !== 'scalardb.metadata') await enableAutoScaling(scaling, name, ru)
      } catch (e) {
        if ((e as Error).name !== 'ResourceInUseException') throw e
      }
      if (!args.includes('--no-backup'))
        await client.send(
          new UpdateContinuousBackupsCommand({ TableName: name, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        )
    }
    return { ok: true, message: `created ${made.length} table(s)` }
  } catch (e) {
    return { ok: false, message: `(simulated schema loader) ${(e as Error).name}: ${(e as Error).message}` }
  } finally {
    client.destroy()
    scaling.destroy()
  }
}

/**
 * The auto scaling ScalarDB's DynamoAdmin gives a table it creates unless `--no-scaling`
 * (scalar-labs/scalardb v3.17.2, the version ScalarDL v3.13.0 builds on: build.gradle:58;
 * core/src/main/java/com/scalar/db/storage/dynamo/DynamoAdmin.java:271-274 createTable,
 * 534-563 enableAutoScaling, 565-611 the requests): a scalable target per capacity, read then
 * write, resource id `table/<prefix><namespace>.<table>`, min ru/10 when ru > 10 else ru, max ru;
 * then a TargetTrackingScaling policy per target named `<resource id>-read|write` on
 * DynamoDB{Read,Write}CapacityUtilization, target 70, cooldowns 60 s (97-115 the constants). Secondary indexes get the
 * same as `table/<t>/index/<index>` with `index-read|index-write`; ScalarDL's schemas
 * (scalar-labs/scalardl v3.13.0 schema-loader/ledger-schema.json, auditor-schema.json) declare
 * none. The metadata table gets none (DynamoAdmin.java:463-498 createMetadataTableIfNotExists).
 * The CloudWatch alarms of target tracking are moto's own (moto 5.2.1 applicationautoscaling/models.py
 * _generate_dynamodb_alarms: TargetTracking-table/<name>-AlarmHigh-<uuid>, -AlarmLow-, ...).
 */
async function enableAutoScaling(client: ApplicationAutoScalingClient, table: string, ru: number): Promise<void> {
  const resourceId = `table/${table}`
  const types = [
    ['read', 'dynamodb:table:ReadCapacityUnits', 'DynamoDBReadCapacityUtilization'],
    ['write', 'dynamodb:table:WriteCapacityUnits', 'DynamoDBWriteCapacityUtilization'],
  ] as const
  for (const [, dimension] of types)
    await client.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: resourceId,
        ScalableDimension: dimension,
        MinCapacity: ru > 10 ? Math.trunc(ru / 10) : ru,
        MaxCapacity: ru,
      }),
    )
  for (const [type, dimension, metric] of types)
    await client.send(
      new PutScalingPolicyCommand({
        ServiceNamespace: 'dynamodb',
        ResourceId: resourceId,
        ScalableDimension: dimension,
        PolicyName: `${resourceId}-${type}`,
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: metric },
          ScaleInCooldown: 60,
          ScaleOutCooldown: 60,
          TargetValue: 70,
        },
      }),
    )
}

const SECRETS = byResource('', 'secrets')!

/** The certificate registration Job of 05-auditor: Scalar DL's client tool `register-cert`. */
export function isRegisterCert(pod: Obj): boolean {
  return (pod.spec?.containers ?? []).some((c: { env?: { name: string }[] }) => (c.env ?? []).some((e) => e.name === 'CLIENT_PROPERTIES'))
}

/**
 * The client SDK the Job's script downloads and runs. scalar-labs/scalardl v3.13.0
 * client/build.gradle:61-66,159-163,291-292: `scalardl-java-client-sdk-<v>.zip` holds one folder,
 * `scalardl-java-client-sdk-<v>/`, with the tools in its `bin/` (Gradle's distribution layout);
 * the release asset is on scalar-labs/scalardl's releases (.github/workflows/create-release-notes.yaml:66-77).
 * A script that runs another path fails as `sh` would; so does one that downloads another URL.
 */
function sdkProblem(pod: Obj, c: Container, store: Store): string | undefined {
  const script = [...(c.command ?? []), ...(c.args ?? [])].join(' ')
  if (!/register-cert/.test(script)) return undefined
  const built = containerEnv(pod, c, store)
  const env = 'env' in built ? built.env : {}
  const sh = (s: string) => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_a, a?: string, b?: string) => env[(a ?? b)!] ?? '')
  const version = env.SDK_VERSION ?? ''
  const url = /https:\/\/\S+?\.zip/.exec(sh(script))?.[0]
  const want = `https://github.com/scalar-labs/scalardl/releases/download/v${version}/scalardl-java-client-sdk-${version}.zip`
  if (url && url !== want) return `curl: (22) The requested URL returned error: 404 (${url}; the ${version} SDK is published as ${want})`
  const path = /(\S*)register-cert\b/.exec(sh(script).replace(/["']/g, ''))?.[1]
  const real = `scalardl-java-client-sdk-${version}/bin/`
  if (path !== undefined && path.replace(/^\.\//, '') !== real)
    return `sh: 1: cannot open ${path}register-cert: No such file (the archive has ${real}register-cert)`
  return undefined
}

const SERVICES = byResource('', 'services')!

/**
 * Whether the Job's Pod can reach the hosts it names: an in-cluster Service name must exist in this
 * cluster; the load balancer of a Service of its own cluster cannot be reached from inside it (an
 * internal NLB with client IP preservation drops a target's connection to itself: AWS Elastic Load
 * Balancing docs, Network Load Balancers, "Client IP preservation" and loopback requests).
 */
function reachProblem(store: Store, hosts: (string | undefined)[]): string | undefined {
  const services = store.list(SERVICES)
  const own = new Set(
    services.flatMap((svc) =>
      ((svc.status?.loadBalancer?.ingress ?? []) as { hostname?: string }[]).map((i) => i.hostname).filter(Boolean),
    ),
  )
  for (const h of hosts) {
    if (!h) continue
    if (own.has(h))
      return `(simulated register-cert) UNAVAILABLE: io exception: connection timed out: ${h} (the load balancer of this cluster's own envoy: a hairpin connection through an NLB with client IP preservation times out)`
    const m = /^([^.]+)\.([^.]+)\.svc(\.cluster\.local)?$/.exec(h)
    if (m && !services.some((svc) => svc.metadata.name === m[1] && svc.metadata.namespace === m[2]))
      return `(simulated register-cert) UNAVAILABLE: Unable to resolve host ${h}`
  }
  return undefined
}

/**
 * register-cert as the Ledger and Auditor answer it: the certificate and key must be mounted where
 * the client properties say, the hosts must be set, and the certificate ends up in the servers'
 * certificate tables (scalar.certificate, and auditor.certificate with the Auditor enabled),
 * found through the properties of the Scalar DL server in the same namespace.
 */
export async function runRegisterCert(pod: Obj, store: Store): Promise<RunResult> {
  const c = (
    pod.spec.containers as { env?: { name: string; value?: string }[]; volumeMounts?: { name: string; mountPath: string }[] }[]
  ).find((x) => (x.env ?? []).some((e) => e.name === 'CLIENT_PROPERTIES'))!
  const props = properties(c.env!.find((e) => e.name === 'CLIENT_PROPERTIES')!.value ?? '')
  const sdk = sdkProblem(pod, c as Container, store)
  if (sdk) return { ok: false, message: sdk }
  const reach = reachProblem(store, [props['scalar.dl.client.server.host'], props['scalar.dl.client.auditor.host']])
  if (reach) return { ok: false, message: reach }
  const holder = props['scalar.dl.client.cert_holder_id']
  const version = Number(props['scalar.dl.client.cert_version'] ?? 1)
  if (!holder) return { ok: false, message: '(simulated register-cert) scalar.dl.client.cert_holder_id is not set' }
  if (!props['scalar.dl.client.server.host'])
    return { ok: false, message: '(simulated register-cert) UNAVAILABLE: scalar.dl.client.server.host is empty' }
  const auditor = props['scalar.dl.client.auditor.enabled'] === 'true'
  if (auditor && !props['scalar.dl.client.auditor.host'])
    return { ok: false, message: '(simulated register-cert) UNAVAILABLE: scalar.dl.client.auditor.host is empty' }
  // The files the properties name must come from a mounted Secret.
  const files: Record<string, string> = {}
  for (const m of c.volumeMounts ?? []) {
    const vol = (pod.spec.volumes ?? []).find((v: { name: string }) => v.name === m.name)
    const secret = vol?.secret ? store.get(SECRETS, pod.metadata.namespace, vol.secret.secretName) : undefined
    for (const [k, v] of Object.entries((secret?.data ?? {}) as Record<string, string>))
      files[`${m.mountPath.replace(/\/$/, '')}/${k}`] = Buffer.from(v, 'base64').toString()
  }
  for (const key of ['scalar.dl.client.cert_path', 'scalar.dl.client.private_key_path']) {
    if (!files[props[key] ?? ''])
      return { ok: false, message: `(simulated register-cert) java.nio.file.NoSuchFileException: ${props[key] ?? `(${key} not set)`}` }
  }
  const pem = files[props['scalar.dl.client.cert_path']!]!
  // The servers' database: the properties of the Scalar DL server deployed in this namespace.
  const serverProps = store
    .list(CONFIGMAPS, pod.metadata.namespace)
    .filter((cm) => /-(ledger|auditor)-properties$/.test(cm.metadata.name))
    .map((cm) => properties(Object.values((cm.data ?? {}) as Record<string, string>).join('\n')))[0]
  if (!serverProps) return { ok: false, message: '(simulated register-cert) no Scalar DL server answers in this cluster' }
  const prefix = serverProps['scalar.db.dynamo.namespace.prefix'] ?? ''
  const endpoint =
    serverProps['scalar.db.dynamo.endpoint_override'] ?? process.env.AWS_ENDPOINT_URL_DYNAMODB ?? process.env.AWS_ENDPOINT_URL
  const client = new DynamoDBClient({
    region: serverProps['scalar.db.contact_points'],
    endpoint,
    credentials: { accessKeyId: 'scalardl', secretAccessKey: 'scalardl' },
    maxAttempts: 8,
  }) // ScalarDB retries its storage calls; so does this stand-in (the fault proxy may throttle)
  const done: string[] = []
  try {
    for (const table of ['scalar.certificate', ...(auditor ? ['auditor.certificate'] : [])]) {
      const key = { concatenatedPartitionKey: { S: holder }, concatenatedClusteringKey: { S: String(version) } }
      const have = await client.send(new GetItemCommand({ TableName: prefix + table, Key: key }))
      if (have.Item) {
        if (have.Item.pem?.S !== pem)
          return {
            ok: false,
            message: `(simulated register-cert) CERTIFICATE_ALREADY_REGISTERED: ${holder} version ${version} is registered with another certificate in ${prefix + table}`,
          }
        done.push(`${prefix + table} (already registered)`)
        continue
      }
      await client.send(
        new PutItemCommand({
          TableName: prefix + table,
          Item: {
            ...key,
            holder_id: { S: holder },
            version: { N: String(version) },
            pem: { S: pem },
            registered_at: { N: String(Date.now()) },
          },
        }),
      )
      done.push(prefix + table)
    }
    return { ok: true, message: `registered ${holder} in ${done.join(', ')}` }
  } catch (e) {
    return { ok: false, message: `(simulated register-cert) ${(e as Error).name}: ${(e as Error).message}` }
  } finally {
    client.destroy()
  }
}
