// Configuration: read .env (or --env-file) with dotenv, validate every key at once, before any
// side effect. The AWS SDK's own variables (AWS_PROFILE, AWS_ENDPOINT_URL, credentials) are left
// to the SDK, which reads them from the environment as it always does.
import fs from 'node:fs'
import path from 'node:path'
import dotenv from 'dotenv'
import * as z from 'zod'
import { overlaps, parseCidr } from '../network/cidr.ts'
import { KEYS, type Key } from './keys.ts'
import { list } from './values.ts'
import { registerEnvSecrets, SECRET_KEY } from '../engine/redact.ts'

export { LOG_TYPES } from './values.ts'

export interface ConfigProblem {
  key: string
  message: string
  fix: string
}

export class ConfigError extends Error {
  constructor(
    readonly problems: ConfigProblem[],
    readonly source: string,
  ) {
    super(`configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'} (${source})`)
  }
}

/** The schema of every key, from their declarations (lib/config/keys.ts). */
const schema = z.object(
  Object.fromEntries(Object.entries(KEYS).map(([k, d]) => [k, d.schema])) as { [K in Key]: (typeof KEYS)[K]['schema'] },
)
type Raw = z.infer<typeof schema>

/** How to fix a key, shown next to every problem with it. */
const fix = (key: string) => KEYS[key as Key]?.fix ?? ''

/**
 * The configuration the steps read: the keys' values as toConfig maps them, and what a view of
 * it for another cluster adds (lib/auditor/view.ts).
 */
export type Config = ReturnType<typeof toConfig> & {
  /** The cluster whose bastion operates this one (the Auditor's view: the Ledger's), when it is not this cluster's own. */
  bastionOf?: string
  /** Another range admitted to the EKS API on 443 (the Auditor's view: the Ledger VPC, where the bastion is). */
  apiAccessFrom?: { cidr: string; label: string }
}

export const CONFIG_KEYS = Object.keys(KEYS) as Key[]

/** The EKS clusters (each with its own VPC) a configuration makes: the Ledger's, and the Auditor's when enabled. */
export const deploymentClusters = (c: Pick<Config, 'clusterName' | 'auditor'>): string[] => [
  c.clusterName,
  ...(c.auditor.enabled ? [c.auditor.clusterName] : []),
]

/**
 * Lines dotenv would silently ignore or misread: not `KEY=value`, a comment or blank. A value in
 * quotes may span lines (a PEM, say), so lines inside an open quote are not judged.
 */
function envFileProblems(text: string, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  let open: string | undefined
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (open) {
      if (line.endsWith(open)) open = undefined
      continue
    }
    if (!line || line.startsWith('#')) continue
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (!m) {
      problems.push({
        key: `${file}:${i + 1}`,
        message: `is not KEY=value: "${line.length > 40 ? `${line.slice(0, 40)}...` : line}"`.replace(
          /(TOKEN|PASSWORD|SECRET)[^"]*/gi,
          '$1...',
        ),
        fix: 'write each setting as KEY=value on its own line (comments start with #)',
      })
      continue
    }
    const v = m[2]!
    const q = v[0]
    if (
      (q === '"' || q === "'" || q === '`') &&
      !(
        v.length > 1 &&
        v
          .trimEnd()
          .replace(/\s+#.*$/, '')
          .endsWith(q)
      )
    )
      open = q
  }
  if (open)
    problems.push({
      key: file,
      message: `a quoted value is never closed (missing ${open})`,
      fix: 'close the quote of the value that spans lines',
    })
  return problems
}

/** Reads the env file into process.env (values already in the environment win, as dotenv does). */
export function loadEnvFile(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const file = envFile ?? '.env'
  if (fs.existsSync(file)) {
    let text: string
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (e) {
      throw new ConfigError(
        [
          {
            key: file,
            message: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            fix: `make ${file} readable by this user (chmod 600 ${file}; it holds secrets)`,
          },
        ],
        file,
      )
    }
    const problems = envFileProblems(text, file)
    if (problems.length) throw new ConfigError(problems, file)
    dotenv.config({ path: file, processEnv: env as Record<string, string>, quiet: true })
    return file
  }
  if (envFile)
    throw new ConfigError(
      [{ key: '--env-file', message: `${envFile} does not exist`, fix: 'pass the path of an existing file, or copy .env.example to .env' }],
      envFile,
    )
  return 'environment'
}

/** Validates the environment; throws ConfigError listing every problem. */
export function parseConfig(env: NodeJS.ProcessEnv, source = 'environment'): Config {
  const input: Record<string, string> = {}
  for (const key of CONFIG_KEYS) {
    const v = env[key]
    // An empty value means "use the default" (and "missing" for a required key), as in .env files.
    if (v !== undefined && v.trim() !== '') input[key] = v
  }
  const result = schema.safeParse(input)
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const key = String(i.path[0] ?? '?')
      const given = input[key]
      const message = given === undefined && /required|expected string/i.test(i.message) ? 'is required' : i.message
      // Never echo a secret's value back, even a malformed one.
      const echo = given !== undefined && !SECRET_KEY.test(key)
      return { key, message: echo ? `${message} (got "${given}")` : message, fix: fix(key) }
    })
    // Rules between keys are checked too, so every problem shows at once: on each key's own
    // parse (its default included, from its declaration, the one place defaults are written); a key
    // that failed its own parse is left out of those rules (NaN or its raw text).
    const one = <K extends keyof typeof schema.shape>(k: K) => {
      const r = schema.shape[k].safeParse(input[k])
      return r.success ? (r.data as Raw[K]) : undefined
    }
    const raw = {
      NODE_COUNT: one('NODE_COUNT') ?? Number.NaN,
      NODE_MAX: input.NODE_MAX === undefined ? undefined : (one('NODE_MAX') ?? Number.NaN),
      ENDPOINT_PUBLIC_ACCESS: one('ENDPOINT_PUBLIC_ACCESS') ?? false,
      ENDPOINT_PUBLIC_CIDRS: one('ENDPOINT_PUBLIC_CIDRS') ?? input.ENDPOINT_PUBLIC_CIDRS ?? '',
      AUDITOR_ENABLED: one('AUDITOR_ENABLED') ?? false,
      LEDGER_PROOF_ENABLED: one('LEDGER_PROOF_ENABLED') ?? true,
      VPC_CIDR: one('VPC_CIDR') ?? input.VPC_CIDR?.trim() ?? '',
      AUDITOR_VPC_CIDR: one('AUDITOR_VPC_CIDR') ?? input.AUDITOR_VPC_CIDR?.trim() ?? '',
      CLUSTER_NAME: one('CLUSTER_NAME') ?? input.CLUSTER_NAME?.trim() ?? '',
      AUDITOR_CLUSTER_NAME: one('AUDITOR_CLUSTER_NAME') ?? input.AUDITOR_CLUSTER_NAME?.trim(),
    }
    const seen = new Set(problems.map((p) => p.key))
    for (const p of crossFieldProblems(raw))
      if (!seen.has(p.key) && (p.key !== 'NODE_MAX' || !Number.isNaN(raw.NODE_COUNT))) problems.push(p)
    throw new ConfigError(problems, source)
  }
  const cross = crossFieldProblems(result.data)
  if (cross.length) throw new ConfigError(cross, source)
  return toConfig(result.data, env, source)
}

/** The first pair of ranges that overlap, as a sentence naming both keys, or undefined. */
export function cidrOverlap(ranges: { key: string; cidr: string }[]): string | undefined {
  const parsed = ranges.flatMap((r) => {
    try {
      return [{ ...r, c: parseCidr(r.cidr) }]
    } catch {
      return [] // reported on its own key
    }
  })
  for (const [i, a] of parsed.entries()) {
    for (const b of parsed.slice(i + 1))
      if (overlaps(a.c, b.c)) return `${a.key} ${a.cidr} and ${b.key} ${b.cidr} overlap: peered VPCs need distinct ranges`
  }
  return undefined
}

/** Rules between keys, checked once every key is valid on its own. */
function crossFieldProblems(
  r: Pick<
    Raw,
    | 'NODE_MAX'
    | 'NODE_COUNT'
    | 'ENDPOINT_PUBLIC_ACCESS'
    | 'ENDPOINT_PUBLIC_CIDRS'
    | 'AUDITOR_ENABLED'
    | 'LEDGER_PROOF_ENABLED'
    | 'VPC_CIDR'
    | 'AUDITOR_VPC_CIDR'
    | 'CLUSTER_NAME'
    | 'AUDITOR_CLUSTER_NAME'
  >,
): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  if (r.AUDITOR_ENABLED) {
    const overlap = cidrOverlap([
      { key: 'VPC_CIDR', cidr: r.VPC_CIDR },
      { key: 'AUDITOR_VPC_CIDR', cidr: r.AUDITOR_VPC_CIDR },
    ])
    if (overlap) problems.push({ key: 'AUDITOR_VPC_CIDR', message: overlap, fix: fix('AUDITOR_VPC_CIDR') })
    // The Auditor checks the Ledger's Asset Proofs: the Ledger signs them (ledgerProofEnabled, its
    // ledger-keys Secret) and waits for the Auditor's agreement (ledgerAuditorEnabled, which
    // requires proof: scalar-labs/scalardl v3.13.0 LedgerConfig). The one place this rule is written.
    if (!r.LEDGER_PROOF_ENABLED)
      problems.push({
        key: 'LEDGER_PROOF_ENABLED',
        message:
          "is false but AUDITOR_ENABLED=true: the Auditor needs the Ledger's Asset Proofs (ledgerProofEnabled and ledgerAuditorEnabled) and its ledger-keys secret",
        fix: 'set LEDGER_PROOF_ENABLED=true and LEDGER_PRIVATE_KEY_FILE (run 04-scalardl again if it ran without them), or AUDITOR_ENABLED=false',
      })
    if (r.AUDITOR_CLUSTER_NAME && r.AUDITOR_CLUSTER_NAME === r.CLUSTER_NAME)
      problems.push({
        key: 'AUDITOR_CLUSTER_NAME',
        message: "is the same as CLUSTER_NAME: the Auditor needs its own cluster (Scalar's production checklist)",
        fix: fix('AUDITOR_CLUSTER_NAME'),
      })
  }
  if (r.NODE_MAX !== undefined && !Number.isNaN(r.NODE_MAX) && r.NODE_MAX < r.NODE_COUNT)
    problems.push({ key: 'NODE_MAX', message: `is ${r.NODE_MAX}, less than NODE_COUNT (${r.NODE_COUNT})`, fix: fix('NODE_MAX') })
  if (r.ENDPOINT_PUBLIC_ACCESS && !r.ENDPOINT_PUBLIC_CIDRS)
    problems.push({
      key: 'ENDPOINT_PUBLIC_CIDRS',
      message: 'is required when ENDPOINT_PUBLIC_ACCESS=true',
      fix: fix('ENDPOINT_PUBLIC_CIDRS'),
    })
  return problems
}

const file = (p: string) => (p ? path.resolve(p) : '')
const auditorClusterName = (cluster: string) => `${cluster}-auditor`.slice(0, 40)

type App = 'ledger' | 'auditor'

function toConfig(r: Raw, env: NodeJS.ProcessEnv, source: string) {
  return {
    region: r.AWS_REGION,
    clusterName: r.CLUSTER_NAME,
    vpcCidr: r.VPC_CIDR,
    natGateways: r.NAT_GATEWAYS,
    bastion: {
      enabled: r.BASTION_ENABLED,
      sshCidr: r.BASTION_SSH_CIDR,
      instanceType: r.BASTION_INSTANCE_TYPE,
      keyName: r.BASTION_KEY_NAME,
      /** The runbook operator policy (lib/iam/operator-policy.ts) on the bastion's role, so it runs the steps with its own credentials. */
      operatorPolicy: r.BASTION_OPERATOR_POLICY,
    },
    nodeCount: r.NODE_COUNT,
    nodeInstanceType: r.NODE_INSTANCE_TYPE,
    kubernetesVersion: r.KUBERNETES_VERSION,
    nodegroupName: r.NODEGROUP_NAME,
    nodeMax: r.NODE_MAX ?? 2 * r.NODE_COUNT,
    endpoint: { publicAccess: r.ENDPOINT_PUBLIC_ACCESS, publicCidrs: list(r.ENDPOINT_PUBLIC_CIDRS) },
    /** IAM roles and users given cluster-admin access entries on the clusters, besides the bastion's role. */
    clusterAdminArns: [...new Set(list(r.CLUSTER_ADMIN_ARNS))],
    systemNodeCount: r.SYSTEM_NODE_COUNT,
    systemNodeInstanceType: r.SYSTEM_NODE_INSTANCE_TYPE,
    monitoring: {
      controlPlaneLogTypes: list(r.CONTROL_PLANE_LOG_TYPES),
      containerInsights: 'addon' as const,
      logRetentionDays: r.LOG_RETENTION_DAYS,
      logFreshnessMinutes: r.LOG_FRESHNESS_MINUTES,
    },
    scalardl: {
      namespace: r.SCALARDL_NAMESPACE,
      release: r.SCALARDL_RELEASE,
      schemaRelease: r.SCHEMA_RELEASE,
      chartVersion: r.SCALARDL_CHART_VERSION,
      schemaChartVersion: r.SCHEMA_LOADING_CHART_VERSION,
      /** Which Scalar DL server this view deploys: the Ledger (04) or the Auditor (05). */
      app: 'ledger' as App,
      proofEnabled: r.LEDGER_PROOF_ENABLED,
      privateKeyFile: file(r.LEDGER_PRIVATE_KEY_FILE),
      /** The certificate of privateKeyFile (the Auditor's, in the Auditor's view). */
      certificateFile: file(r.LEDGER_CERTIFICATE_FILE),
      github: { username: r.GITHUB_USERNAME, token: r.GITHUB_TOKEN },
      db: { username: r.SCALARDL_DB_USERNAME, password: r.SCALARDL_DB_PASSWORD },
    },
    auditor: {
      enabled: r.AUDITOR_ENABLED,
      clusterName: r.AUDITOR_CLUSTER_NAME ?? auditorClusterName(r.CLUSTER_NAME),
      vpcCidr: r.AUDITOR_VPC_CIDR,
      clientVpcIds: list(r.CLIENT_VPC_IDS),
      privateKeyFile: file(r.AUDITOR_PRIVATE_KEY_FILE),
      certificateFile: file(r.AUDITOR_CERTIFICATE_FILE),
      ledgerCertificateFile: file(r.LEDGER_CERTIFICATE_FILE),
      chartVersion: r.SCALARDL_AUDIT_CHART_VERSION,
      release: r.AUDITOR_RELEASE,
      schemaRelease: r.AUDIT_SCHEMA_RELEASE,
      clientSdkVersion: r.SCALARDL_CLIENT_SDK_VERSION,
      /** ScalarDL Auditor is ScalarDL Enterprise: its licence key and the certificate that checks it. */
      license: { key: r.SCALARDL_AUDITOR_LICENSE_KEY, certFile: file(r.SCALARDL_AUDITOR_LICENSE_CERT_FILE) },
    },
    database: 'dynamodb' as const,
    dynamodbNamespacePrefix: r.DYNAMODB_NAMESPACE_PREFIX,
    waitTimeoutMs: r.WAIT_TIMEOUT_SECONDS * 1000,
    /** How long a killed run's lock lasts (renewed every third of it while the run lives). */
    lockLeaseMs: r.LOCK_LEASE_SECONDS * 1000,
    tools: { kubectl: r.KUBECTL, helm: r.HELM, eksctl: r.EKSCTL },
    /** Where the runbook keeps its journal and rendered files. */
    stateDir: path.resolve(env.RUNBOOK_STATE_DIR || '.runbook'),
    /** Where the values came from, for messages. */
    source,
  }
}

/** Loads the env file and validates; the one entry point the runbooks use. */
export function loadConfig(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  const source = loadEnvFile(envFile, env)
  registerEnvSecrets(env) // values read from the file are secrets too
  return parseConfig(env, source)
}
