// Values for the charts: the operator-editable files in config/, then the overrides the runbook
// computes (Ledger or Auditor, by the view of the configuration), saved under
// .runbook/<CLUSTER_NAME>/ with mode 600 (they hold no secret).
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import type { Config, ConfigProblem } from '../config/load.ts'
import { databaseProperties, envRef } from '../database/properties.ts'
import { writePrivateFile } from '../engine/files.ts'
import { POOL_LABEL, POOL_TAINT } from '../eks/cluster-config.ts'
import { otherScalarVpcCidr } from '../auditor/view.ts'
import { serverChart } from './names.ts'
import { AUDITOR_KEYS, dbSecretName, LEDGER_KEYS, LICENSE_ENV, PULL_SECRET } from './secrets.ts'
import { ROOT } from '../engine/root.ts'

const LEDGER_VALUES = path.join(ROOT, 'config', 'scalardl-custom-values.yaml')
const AUDIT_VALUES = path.join(ROOT, 'config', 'scalardl-audit-custom-values.yaml')
const SCHEMA_VALUES = path.join(ROOT, 'config', 'schema-loading-custom-values.yaml')

/** The two releases of a view: the server (scalardl or scalardl-audit) and its schema loading. */
export type ValuesKind = 'server' | 'schema'

export const valuesChart = (c: Config, kind: ValuesKind) => (kind === 'server' ? serverChart(c) : 'schema-loading')
/** The operator-editable file, passed to helm first. */
export const valuesFile = (c: Config, kind: ValuesKind) =>
  kind === 'schema' ? SCHEMA_VALUES : c.scalardl.app === 'auditor' ? AUDIT_VALUES : LEDGER_VALUES
/** The computed overrides, passed second. */
export const overridesFile = (c: Config, kind: ValuesKind) => path.join(c.stateDir, c.clusterName, `${valuesChart(c, kind)}-overrides.yaml`)

/** What the overrides depend on besides the configuration, found live by the values task. */
interface LiveInputs {
  poolNodes: number
  /** The VPC ranges that may reach the envoy (envoySourceRanges); the view's own VPC when absent. */
  envoySourceRanges?: string[]
  /** The Auditor's view: the Ledger envoy's load-balancer hostname. */
  ledgerHost?: string
  /**
   * A digest of the Secrets the server reads (the database credentials and licence, the keys): it
   * goes on the Pod template, so a changed credential, licence or key rolls the Pods, as the
   * charts' checksum/config does for the configuration. Made of each Secret's uid and
   * resourceVersion, never of its data.
   */
  secretsDigest?: string
}

/** The Pod annotation carrying LiveInputs.secretsDigest. */
export const SECRETS_CHECKSUM = 'checksum/secrets'

/** k8s.io/api core/v1 AnnotationLoadBalancerSourceRangesKey. */
export const SOURCE_RANGES = 'service.beta.kubernetes.io/load-balancer-source-ranges'

/**
 * The VPC ranges that may reach the view's envoy, as the guide's ports table says: its own VPC;
 * with the Auditor, the other Scalar DL VPC (the Auditor reaches the Ledger, the Ledger the
 * Auditor); and the client VPCs (peered in 05).
 */
export function envoySourceRanges(c: Config, clientCidrs: string[]): string[] {
  return [...new Set([c.vpcCidr, ...(c.auditor.enabled ? [otherScalarVpcCidr(c)] : []), ...clientCidrs])]
}

const toleration = { key: POOL_TAINT.key, operator: 'Equal', value: POOL_TAINT.value, effect: POOL_TAINT.effect }

function antiAffinity(chart: string, app: string) {
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        {
          labelSelector: { matchLabels: { 'app.kubernetes.io/name': chart, 'app.kubernetes.io/app': app } },
          topologyKey: 'kubernetes.io/hostname',
        },
      ],
    },
  }
}

/**
 * The schema loading values: the DynamoDB properties (a dockerize template: the loader's entrypoint
 * renders it, scalardl v3.13.0 schema-loader/entrypoint.sh:4), and the credentials Secret as both
 * existingSecret (the chart's HELM_SCALAR_DB_* variables) and secretName (envFrom: the variables
 * the properties name), as Scalar's docs show (helm-charts docs/use-secret-for-credentials.md).
 */
export function schemaOverrides(c: Config): any {
  return {
    schemaLoading: {
      schemaType: c.scalardl.app,
      databaseProperties: databaseProperties(c, 'dockerize').join('\n') + '\n',
      existingSecret: dbSecretName(c),
      secretName: dbSecretName(c),
      imagePullSecrets: [{ name: PULL_SECRET }],
    },
  }
}

/**
 * A rolling update that can progress on a full pool: with one Pod per node (replicas = pool nodes,
 * required anti-affinity) a surge Pod has no node to go to, so the charts' default (25 %/25 %:
 * maxSurge rounds up to 1, maxUnavailable down to 0 at 3 replicas) never finishes. No surge, and at
 * least one Pod replaced at a time. Strings with %, as the charts' values.schema.json types them
 * (a bare number in a string is refused by the API server).
 */
function rolloutStrategy(replicas: number): { type: 'RollingUpdate'; rollingUpdate: { maxSurge: string; maxUnavailable: string } } {
  return {
    type: 'RollingUpdate',
    rollingUpdate: { maxSurge: '0%', maxUnavailable: `${Math.min(100, Math.ceil(100 / Math.max(1, replicas)))}%` },
  }
}

type Volume = { name: string; mountPath?: string }

/** The operator's extra volumes and mounts of the server in config/ (kept by the charts beside the runbook's). */
function operatorVolumes(c: Config, operator: any): { volumes: Volume[]; mounts: Volume[] } {
  const v = operator?.[c.scalardl.app] ?? {}
  return {
    volumes: Array.isArray(v.extraVolumes) ? v.extraVolumes : [],
    mounts: Array.isArray(v.extraVolumeMounts) ? v.extraVolumeMounts : [],
  }
}

/** The operator's values file of the view's server chart (config/), parsed; {} when absent. */
const operatorValues = (c: Config): any => (fs.existsSync(valuesFile(c, 'server')) ? readValues(valuesFile(c, 'server')) : {})

/** The Ledger's (scalardl) or the Auditor's (scalardl-audit) overrides. */
export function serverOverrides(c: Config, live: LiveInputs, operator: any = operatorValues(c)): any {
  const chart = serverChart(c)
  const placement = { nodeSelector: { [POOL_LABEL.key]: POOL_LABEL.value }, tolerations: [toleration] }
  const strategy = rolloutStrategy(live.poolNodes)
  const pod = (app: string) => ({
    replicaCount: live.poolNodes,
    // The operator's own annotations (config/) merge with it: helm coalesces maps.
    ...(live.secretsDigest && app !== 'envoy' ? { podAnnotations: { [SECRETS_CHECKSUM]: live.secretsDigest } } : {}),
    strategy,
    ...placement,
    affinity: antiAffinity(chart, app),
    imagePullSecrets: [{ name: PULL_SECRET }],
  })
  const credentials = { existingSecret: dbSecretName(c), secretName: dbSecretName(c) }
  // EKS's built-in controller opens the envoy's NodePorts on the cluster security group to the
  // Service's source ranges, 0.0.0.0/0 when none are given (cloud-provider-aws v1.32.8 aws.go:2223;
  // k8s.io/cloud-provider service/helpers GetLoadBalancerSourceRanges). The envoy chart renders no
  // loadBalancerSourceRanges, so the ranges go in the annotation; the security-groups annotation
  // belongs to the AWS Load Balancer Controller and is ignored for an NLB.
  // Ranges the operator set in config/ are theirs to keep (the overrides would replace them).
  const theirs = operator?.envoy?.service?.annotations?.[SOURCE_RANGES]
  const service = theirs
    ? {}
    : { service: { annotations: { [SOURCE_RANGES]: (live.envoySourceRanges ?? envoySourceRanges(c, [])).join(',') } } }
  const envoy = { ...pod('envoy'), ...service }
  if (c.scalardl.app === 'auditor') {
    // The chart mounts auditor-keys at /keys itself, unless extraVolumes (the volume) or
    // extraVolumeMounts (the mount) is set (scalardl-audit-2.12.0 templates/auditor/deployment.yaml:44-48,93-97):
    // then the runbook adds its own beside the operator's, since a list in the overrides replaces theirs.
    const own = operatorVolumes(c, operator)
    return {
      envoy,
      auditor: {
        ...pod('auditor'),
        ...credentials,
        scalarAuditorConfiguration: {
          secretName: AUDITOR_KEYS,
          auditorCertHolderId: 'auditor',
          auditorCertSecretKey: 'certificate',
          auditorPrivateKeySecretKey: 'private-key',
          auditorLedgerHost: live.ledgerHost ?? '',
        },
        auditorProperties:
          [
            ...databaseProperties(c, 'scalardl'),
            `scalar.dl.auditor.ledger.host=${live.ledgerHost ?? ''}`,
            'scalar.dl.auditor.cert_holder_id=auditor',
            'scalar.dl.auditor.private_key_path=/keys/private-key',
            'scalar.dl.auditor.cert_path=/keys/certificate',
            // ScalarDL Enterprise's licence, from the credentials Secret (docs-scalardl
            // docs/helm-charts/getting-started-scalardl-auditor-tls.mdx: `${env:...}` and secretName).
            `scalar.dl.licensing.license_key=${envRef(LICENSE_ENV.key, 'scalardl')}`,
            `scalar.dl.licensing.license_check_cert_pem=${envRef(LICENSE_ENV.certPem, 'scalardl')}`,
          ].join('\n') + '\n',
        ...(own.volumes.length ? { extraVolumes: [...own.volumes, { name: AUDITOR_KEYS, secret: { secretName: AUDITOR_KEYS } }] } : {}),
        ...(own.mounts.length ? { extraVolumeMounts: [...own.mounts, { name: AUDITOR_KEYS, mountPath: '/keys', readOnly: true }] } : {}),
      },
    }
  }
  const proof = c.scalardl.proofEnabled
  return {
    envoy,
    ledger: {
      ...pod('ledger'),
      ...credentials,
      // The chart mounts the key Secret at /keys whenever ledgerProofEnabled is true
      // (scalardl-4.12.0 templates/ledger/deployment.yaml:46-50,84-88): the runbook uses that mount.
      scalarLedgerConfiguration: {
        ledgerProofEnabled: proof,
        ledgerAuditorEnabled: c.auditor.enabled,
        secretName: LEDGER_KEYS,
        ledgerPrivateKeySecretKey: 'private-key',
      },
      ledgerProperties:
        [
          ...databaseProperties(c, 'scalardl'),
          `scalar.dl.ledger.proof.enabled=${proof}`,
          ...(proof ? ['scalar.dl.ledger.proof.private_key_path=/keys/private-key'] : []),
          // The Ledger waits for the Auditor's agreement (05-auditor); it requires proof (LedgerConfig).
          ...(c.auditor.enabled ? ['scalar.dl.ledger.auditor.enabled=true'] : []),
        ].join('\n') + '\n',
    },
  }
}

/**
 * What in the operator's config/ values would break the release the runbook renders: a volume or
 * mount that takes the name or the path of the key Secret the chart mounts (the API server refuses
 * duplicates), or settings the runbook computes and would silently override.
 */
export function valuesProblems(c: Config, read: () => any = () => operatorValues(c)): ConfigProblem[] {
  const rel = path.relative(process.cwd(), valuesFile(c, 'server'))
  let values: any
  try {
    values = read()
  } catch (e) {
    return [{ key: rel, message: `is not valid YAML: ${(e as Error).message.split('\n')[0]}`, fix: 'fix the YAML syntax' }]
  }
  const app = c.scalardl.app
  const keys = app === 'auditor' ? AUDITOR_KEYS : LEDGER_KEYS
  const own = operatorVolumes(c, values)
  const problems: ConfigProblem[] = []
  for (const v of own.volumes)
    if (v?.name === keys)
      problems.push({
        key: `${rel}: ${app}.extraVolumes`,
        message: `has a volume named ${keys}, the name of the key Secret volume the chart mounts at /keys`,
        fix: `rename that volume (the runbook mounts ${keys} itself)`,
      })
  for (const m of own.mounts) {
    if (m?.mountPath === '/keys' || String(m?.mountPath ?? '').startsWith('/keys/'))
      problems.push({
        key: `${rel}: ${app}.extraVolumeMounts`,
        message: `mounts ${m.name} at ${m.mountPath}, where the chart mounts ${keys}`,
        fix: 'mount it under another path, e.g. /extra',
      })
    if (m?.name === keys)
      problems.push({
        key: `${rel}: ${app}.extraVolumeMounts`,
        message: `mounts a volume named ${keys}, which the runbook mounts at /keys itself`,
        fix: 'remove that mount',
      })
  }
  // The runbook finds the objects by the charts' fullname rule (lib/scalardl/names.ts), which these would change.
  for (const k of ['nameOverride', 'fullnameOverride']) {
    if (values?.[k])
      problems.push({
        key: `${rel}: ${k}`,
        message: "renames the release's objects, which the runbook finds by their default names",
        fix: `remove ${k}; name the release with ${app === 'auditor' ? 'AUDITOR_RELEASE' : 'SCALARDL_RELEASE'} instead`,
      })
    if (values?.envoy?.[k])
      problems.push({
        key: `${rel}: envoy.${k}`,
        message: 'renames the envoy objects, which the runbook finds by their default names',
        fix: `remove envoy.${k}`,
      })
  }
  // Whatever the overrides set and would replace: their value paths, from the overrides themselves.
  for (const k of overridden(values, serverOverrides(c, EVERY_INPUT, values)))
    problems.push({
      key: `${rel}: ${k}`,
      message: 'is computed by the runbook, which would override it',
      fix: `remove ${k}; the runbook renders it from .env`,
    })
  return problems
}

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Live inputs that make the overrides set every key they can (the keys, not the values, matter here). */
const EVERY_INPUT: LiveInputs = { poolNodes: 1, secretsDigest: '-', ledgerHost: '-' }

/** The value paths of a values tree as helm coalesces it: maps are recursed, lists and scalars are values. */
export function valuePaths(v: any, prefix: string[] = []): string[][] {
  if (!isObj(v) || (Object.keys(v).length === 0 && prefix.length)) return prefix.length ? [prefix] : []
  return Object.entries(v).flatMap(([k, x]) => valuePaths(x, [...prefix, k]))
}

const at = (v: any, p: string[]): any => p.reduce((o, k) => (isObj(o) ? o[k] : undefined), v)
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * The paths (dotted) the operator set that the overrides replace with something else: the
 * settings the runbook computes (serverOverrides is the one list of them). A list the overrides
 * extend with the operator's own items (the Auditor's extraVolumes) keeps theirs, so it is not one.
 */
function overridden(operator: any, overrides: any): string[] {
  const theirs = new Set(valuePaths(operator).map((p) => JSON.stringify(p)))
  return valuePaths(overrides)
    .filter((p) => {
      if (!theirs.has(JSON.stringify(p))) return false
      const [mine, own] = [at(overrides, p), at(operator, p)]
      if (Array.isArray(mine) && Array.isArray(own)) return !own.every((o) => mine.some((m) => same(m, o)))
      return !same(mine, own)
    })
    .map((p) => p.join('.'))
}

/** Helm's coalescing of values files: maps merge, lists and scalars are replaced. */
export function coalesce(a: any, b: any): any {
  if (!isObj(a) || !isObj(b)) return b
  const out = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? coalesce(out[k], v) : v
  return out
}

export function readValues(file: string): any {
  return YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}
}

export function writeOverrides(c: Config, kind: ValuesKind, values: any): void {
  writePrivateFile(
    overridesFile(c, kind),
    `# Computed by ${c.scalardl.app === 'auditor' ? '05-auditor' : '04-scalardl'}; regenerated on every run. Edit config/${path.basename(valuesFile(c, kind))} instead.\n${YAML.stringify(values, { aliasDuplicateObjects: false })}`,
  )
}
