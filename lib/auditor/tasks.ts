// Step 5's own tasks: the key and certificate files, the Ledger it attaches to (ledger-keys and
// its envoy endpoint), and the mutual certificate registration (holder ids `ledger` and
// `auditor`), run as Jobs of Scalar DL's client tool, one in each cluster with that cluster's key.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { paginateScan } from '@aws-sdk/client-dynamodb'
import YAML from 'yaml'
import { kubeconfigFile } from '../eks/cluster-config.ts'
import type { EksState } from '../eks/tasks.ts'
import { kubectlFor } from '../eks/tasks.ts'
import { RunbookError } from '../engine/errors.ts'
import type { KubeObject } from '../tools/kubectl.ts'
import type { DatabaseState } from '../database/dynamodb.ts'
import type { NetworkState } from '../network/target.ts'
import { certificateProblem, generateCertificate } from '../scalardl/certs.ts'
import { generateSigningKey, keyFileProblem } from '../scalardl/keys.ts'
import { keysSecretName, scalardlFullname } from '../scalardl/names.ts'
import { envoyHostname, type ScalarState } from '../scalardl/tasks.ts'
import type { Config } from '../config/load.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { waitFor } from '../engine/wait.ts'
import { LEDGER_ENVOY_PORTS, AUDITOR_ENVOY_PORTS, type PeeringState } from './peering.ts'
import { auditorView } from './view.ts'

export interface AuditorState {
  network: NetworkState
  database: DatabaseState
  peering: PeeringState
  eks: EksState
  ledger: ScalarState
  scalar: ScalarState
}

const inView = (ctx: TaskContext, view: (c: Config) => Config): TaskContext => ({ ...ctx, config: view(ctx.config) })
const asAuditor = (ctx: TaskContext) => inView(ctx, auditorView)

interface KeyFile {
  key: string
  file: (c: Config) => string
  kind: 'key' | 'certificate'
  keyFile?: (c: Config) => string
  holder?: string
}

const AUDITOR_FILES: KeyFile[] = [
  { key: 'AUDITOR_PRIVATE_KEY_FILE', file: (c) => c.auditor.privateKeyFile, kind: 'key' },
  {
    key: 'AUDITOR_CERTIFICATE_FILE',
    file: (c) => c.auditor.certificateFile,
    kind: 'certificate',
    keyFile: (c) => c.auditor.privateKeyFile,
    holder: 'auditor',
  },
]
const ALL_FILES: KeyFile[] = [
  ...AUDITOR_FILES,
  {
    key: 'LEDGER_CERTIFICATE_FILE',
    file: (c) => c.auditor.ledgerCertificateFile,
    kind: 'certificate',
    keyFile: (c) => c.scalardl.privateKeyFile,
    holder: 'ledger',
  },
]

/**
 * The key and certificate files 05 needs (generated with --generate-keys when missing). With
 * `auditorOnly`, the Auditor's own two: what `05-auditor --prepare` needs before the Ledger's
 * key exists (04-scalardl generates it).
 */
export function keyFilesTask(auditorOnly = false): Task<AuditorState> {
  const FILES = auditorOnly ? AUDITOR_FILES : ALL_FILES
  return {
    title: auditorOnly
      ? 'Auditor key and certificate (EC P-256, SHA-256)'
      : 'Auditor key and certificate, Ledger certificate (EC P-256, SHA-256)',
    async check(ctx) {
      const missing = FILES.filter((f) => !fs.existsSync(f.file(ctx.config)))
      const problems = FILES.filter((f) => fs.existsSync(f.file(ctx.config))).flatMap((f) => {
        const p = f.kind === 'key' ? keyFileProblem(f.file(ctx.config)) : certificateProblem(f.file(ctx.config), f.keyFile!(ctx.config))
        return p ? [`${f.key}: ${p}`] : []
      })
      if (problems.length) return { holds: false, conflict: problems.join('; ') }
      if (missing.length) return { holds: false, detail: `generate ${missing.map((f) => f.file(ctx.config)).join(', ')} (--generate-keys)` }
      return { holds: true, detail: FILES.map((f) => f.file(ctx.config)).join(', ') }
    },
    async apply(ctx) {
      const made: string[] = []
      for (const f of FILES) {
        const file = f.file(ctx.config)
        if (fs.existsSync(file)) continue
        if (f.kind === 'key') generateSigningKey(file)
        else await generateCertificate(f.keyFile!(ctx.config), file, f.holder!)
        made.push(file)
      }
      return `generated ${made.join(', ')} (mode 600; self-signed: replace them with CA-issued ones for production)`
    },
  }
}

const ready = (p: KubeObject) => p.status?.phase === 'Running'

export function ledgerPrerequisiteTask(): Task<AuditorState> {
  return {
    title: 'Ledger deployed with Asset Proofs (ledger-keys) and its envoy EXTERNAL-IP known',
    async check(ctx, s) {
      const c = ctx.config
      if (!fs.existsSync(kubeconfigFile(c)))
        return {
          holds: false,
          conflict: `no kubeconfig for the Ledger cluster at ${kubeconfigFile(c)}`,
          hint: 'run 03-eks and 04-scalardl first',
        }
      const k = kubectlFor(ctx)
      const [keys, host, ledgers] = await Promise.all([
        k.get('secret', keysSecretName(c), { namespace: c.scalardl.namespace }),
        envoyHostname(ctx),
        k.list('pods', {
          namespace: c.scalardl.namespace,
          selector: `app.kubernetes.io/instance=${c.scalardl.release},app.kubernetes.io/app=ledger`,
        }),
      ])
      if (!keys)
        return {
          holds: false,
          conflict: `the Ledger has no ${keysSecretName(c)} secret in namespace ${c.scalardl.namespace}: the Auditor needs the Ledger's Asset Proofs (ledgerProofEnabled)`,
          hint: 'set LEDGER_PROOF_ENABLED=true and LEDGER_PRIVATE_KEY_FILE, run 04-scalardl, then rerun 05-auditor',
        }
      if (!host)
        return {
          holds: false,
          conflict: `the Ledger envoy has no EXTERNAL-IP yet (service ${scalardlFullname(c)}-envoy)`,
          hint: 'run 04-scalardl until it prints the Scalar DL endpoint',
        }
      s.scalar.ledgerHost = host
      return { holds: true, detail: `ledger-keys present; ${ledgers.filter(ready).length} Ledger Pod(s) running; envoy ${host}` }
    },
  }
}

// ---- certificate registration ----

/**
 * Scalar DL's Java client SDK, run in a JDK image that has `jar` to unpack it. The release asset is
 * on scalar-labs/scalardl's releases, and the zip holds `scalardl-java-client-sdk-<v>/bin/register-cert`
 * (scalardl v3.13.0 client/build.gradle:61-66,159-163,291-292: Gradle's distribution layout, one
 * top folder named after the archive; docs-scalardl docs/getting-started.mdx:32-34).
 */
const CLIENT_IMAGE = 'eclipse-temurin:17-jdk-jammy'
const SCRIPT = [
  'set -eu',
  'cd /tmp',
  'curl -fsSL -o sdk.zip "https://github.com/scalar-labs/scalardl/releases/download/v${SDK_VERSION}/scalardl-java-client-sdk-${SDK_VERSION}.zip"',
  'jar xf sdk.zip',
  'printf "%s\\n" "$CLIENT_PROPERTIES" > client.properties',
  'if out=$(sh scalardl-java-client-sdk-${SDK_VERSION}/bin/register-cert --properties client.properties 2>&1); then echo "$out"; exit 0; fi',
  'echo "$out"',
  // Registering the same holder and version again is the idempotent case: not a failure.
  'echo "$out" | grep -q CERTIFICATE_ALREADY_REGISTERED',
].join('\n')

interface Registration {
  holder: 'ledger' | 'auditor'
  /** The table that must hold the certificate: the other server's. */
  table: string
  certFile: (c: Config) => string
  /** The cluster the Job runs in: the one that holds this key. */
  view: (ctx: TaskContext) => TaskContext
}

const REGISTRATIONS: Registration[] = [
  { holder: 'ledger', table: 'auditor.certificate', certFile: (c) => c.auditor.ledgerCertificateFile, view: (ctx) => ctx },
  { holder: 'auditor', table: 'scalar.certificate', certFile: (c) => c.auditor.certificateFile, view: asAuditor },
]

/** Whether the other server's certificate table holds this holder's certificate (the same PEM). */
async function registered(ctx: Pick<TaskContext, 'aws' | 'config'>, r: Registration): Promise<'yes' | 'no' | 'different' | 'no table'> {
  const table = ctx.config.dynamodbNamespacePrefix + r.table
  const pem = fs.readFileSync(r.certFile(ctx.config), 'utf8')
  try {
    for await (const page of paginateScan(
      { client: ctx.aws.dynamodb },
      { TableName: table, FilterExpression: 'holder_id = :h', ExpressionAttributeValues: { ':h': { S: r.holder } } },
    )) {
      for (const item of page.Items ?? []) return item.pem?.S?.trim() === pem.trim() ? 'yes' : 'different'
    }
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return 'no table'
    throw e
  }
  return 'no'
}

/** Where each certificate stands: registered with the other server, or why not. */
export async function registrations(
  ctx: Pick<TaskContext, 'aws' | 'config'>,
): Promise<{ holder: string; table: string; state: 'yes' | 'no' | 'different' | 'no table' | 'no file' }[]> {
  return Promise.all(
    REGISTRATIONS.map(async (r) => ({
      holder: r.holder,
      table: ctx.config.dynamodbNamespacePrefix + r.table,
      state: fs.existsSync(r.certFile(ctx.config)) ? await registered(ctx, r) : ('no file' as const),
    })),
  )
}

function clientProperties(r: Registration, hosts: { ledger: string; auditor: string }): string {
  return [
    `scalar.dl.client.server.host=${hosts.ledger}`,
    `scalar.dl.client.server.port=${LEDGER_ENVOY_PORTS[0]}`,
    `scalar.dl.client.server.privileged_port=${LEDGER_ENVOY_PORTS[1]}`,
    `scalar.dl.client.cert_holder_id=${r.holder}`,
    'scalar.dl.client.cert_version=1',
    'scalar.dl.client.cert_path=/keys/certificate',
    'scalar.dl.client.private_key_path=/keys/private-key',
    'scalar.dl.client.auditor.enabled=true',
    `scalar.dl.client.auditor.host=${hosts.auditor}`,
    `scalar.dl.client.auditor.port=${AUDITOR_ENVOY_PORTS[0]}`,
    `scalar.dl.client.auditor.privileged_port=${AUDITOR_ENVOY_PORTS[1]}`,
  ].join('\n')
}

/**
 * The hosts the Job reaches: the other cluster's server through its load balancer, its own
 * cluster's through the in-cluster envoy Service. A Pod that reaches a server of its own cluster
 * through that cluster's internal NLB can be sent to a target on its own node, and with client IP
 * preservation (the default for instance targets) such a hairpin connection times out (AWS
 * Network Load Balancer docs, "Client IP preservation": loopback requests).
 */
function jobHosts(ctx: TaskContext, r: Registration, balancers: { ledger: string; auditor: string }): { ledger: string; auditor: string } {
  const own = (c: Config) => `${scalardlFullname(c)}-envoy.${c.scalardl.namespace}.svc.cluster.local`
  return r.holder === 'ledger'
    ? { ledger: own(ctx.config), auditor: balancers.auditor }
    : { ledger: balancers.ledger, auditor: own(auditorView(ctx.config)) }
}

function jobManifest(ctx: TaskContext, r: Registration, balancers: { ledger: string; auditor: string }): { name: string; yaml: string } {
  const c = r.view(ctx).config
  const props = clientProperties(r, jobHosts(ctx, r, balancers))
  const digest = createHash('sha256')
    .update(fs.readFileSync(r.certFile(ctx.config)))
    .update(props)
    .digest('hex')
    .slice(0, 8)
  const name = `register-cert-${r.holder}-${digest}`
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: c.scalardl.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'scalardl-eks-runbook', 'scalardl-runbook/register-cert': r.holder },
    },
    spec: {
      backoffLimit: 2,
      template: {
        metadata: { labels: { 'scalardl-runbook/register-cert': r.holder } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'register-cert',
              image: CLIENT_IMAGE,
              command: ['sh', '-c', SCRIPT],
              env: [
                { name: 'SDK_VERSION', value: ctx.config.auditor.clientSdkVersion },
                { name: 'CLIENT_PROPERTIES', value: props },
              ],
              volumeMounts: [{ name: 'keys', mountPath: '/keys', readOnly: true }],
            },
          ],
          volumes: [{ name: 'keys', secret: { secretName: keysSecretName(c) } }],
        },
      },
    },
  }
  return { name, yaml: YAML.stringify(job) }
}

type JobStatus = 'complete' | 'failed' | 'running' | 'absent'
function jobStatus(job: KubeObject | undefined): JobStatus {
  if (!job) return 'absent'
  const conds = (job.status?.conditions ?? []) as { type: string; status: string }[]
  if (conds.some((x) => x.type === 'Complete' && x.status === 'True')) return 'complete'
  if (conds.some((x) => x.type === 'Failed' && x.status === 'True')) return 'failed'
  return 'running'
}

export function certificatesTask(): Task<AuditorState> {
  return {
    title: 'Certificates registered both ways (holder ledger with the Auditor, holder auditor with the Ledger)',
    async check(ctx) {
      const states = await Promise.all(
        REGISTRATIONS.map(async (r) => ({ r, state: fs.existsSync(r.certFile(ctx.config)) ? await registered(ctx, r) : ('no' as const) })),
      )
      const different = states.filter((x) => x.state === 'different')
      if (different.length)
        return {
          holds: false,
          conflict: different.map((x) => `${x.r.holder} is registered in ${x.r.table} with another certificate`).join('; '),
          hint: 'a holder id and version keep their first certificate: register the new one with a higher scalar.dl.client.cert_version by hand, or restore the original certificate file',
        }
      const todo = states.filter((x) => x.state !== 'yes')
      if (todo.length)
        return {
          holds: false,
          detail: todo
            .map((x) => `register ${x.r.holder} (${x.state === 'no table' ? 'once the schema is loaded' : `not in ${x.r.table}`})`)
            .join('; '),
        }
      return {
        holds: true,
        detail: `ledger in ${ctx.config.dynamodbNamespacePrefix}auditor.certificate, auditor in ${ctx.config.dynamodbNamespacePrefix}scalar.certificate`,
      }
    },
    async apply(ctx, s) {
      // The endpoints the release tasks just saw, else read now.
      const [ledger, auditor] = await Promise.all([
        s.ledger.envoyHostname ?? envoyHostname(ctx),
        s.scalar.envoyHostname ?? envoyHostname(asAuditor(ctx)),
      ])
      if (!ledger || !auditor)
        throw new RunbookError(
          `an envoy has no EXTERNAL-IP yet (Ledger: ${ledger ?? 'none'}, Auditor: ${auditor ?? 'none'})`,
          'rerun 04-scalardl and 05-auditor until both envoys have one',
        )
      const done: string[] = []
      await Promise.all(
        REGISTRATIONS.map(async (r) => {
          if ((await registered(ctx, r)) === 'yes') return
          const v = r.view(ctx)
          const k = kubectlFor(v)
          const ns = v.config.scalardl.namespace
          const { name, yaml } = jobManifest(ctx, r, { ledger, auditor })
          // A Job runs once: a failed one, or one whose registration is gone, is replaced.
          const job = await k.get('job', name, { namespace: ns })
          if (jobStatus(job) !== 'running') {
            if (job) await k.run(['delete', 'job', name, '-n', ns, '--ignore-not-found', '--cascade=foreground'])
            await k.apply(yaml, { namespace: ns })
          }
          await waitFor(
            {
              what: `Job ${name} (register-cert for ${r.holder}) in ${v.config.clusterName}`,
              timeoutMs: ctx.config.waitTimeoutMs,
              log: ctx.log,
              hint: `kubectl logs job/${name} -n ${ns} shows the client's answer`,
            },
            async () => {
              const st = jobStatus(await k.get('job', name, { namespace: ns }))
              return {
                done: st === 'complete',
                status: st,
                failed: st === 'failed' ? `the Job failed: kubectl logs job/${name} -n ${ns}` : undefined,
              }
            },
          )
          done.push(`${r.holder} (Job ${name} in ${v.config.clusterName})`)
        }),
      )
      return `registered ${done.join(', ')}`
    },
  }
}
