// Values for the charts: the operator-editable files in config/, then the overrides the runbook
// computes (Ledger or Auditor, by the view of the configuration), saved under
// .runbook/<CLUSTER_NAME>/ with mode 600 (they hold no secret).
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import type { Config } from '../config.ts'
import { databaseProperties } from '../database/properties.ts'
import { writePrivateFile } from '../files.ts'
import { POOL_LABEL, POOL_TAINT } from '../eks/cluster-config.ts'
import { serverChart } from './names.ts'
import { AUDITOR_KEYS, dbSecretName, LEDGER_KEYS, PULL_SECRET } from './secrets.ts'
import { ROOT } from '../root.ts'

export const LEDGER_VALUES = path.join(ROOT, 'config', 'scalardl-custom-values.yaml')
export const AUDIT_VALUES = path.join(ROOT, 'config', 'scalardl-audit-custom-values.yaml')
export const SCHEMA_VALUES = path.join(ROOT, 'config', 'schema-loading-custom-values.yaml')

/** The two releases of a view: the server (scalardl or scalardl-audit) and its schema loading. */
export type ValuesKind = 'server' | 'schema'

export const valuesChart = (c: Config, kind: ValuesKind) => (kind === 'server' ? serverChart(c) : 'schema-loading')
/** The operator-editable file, passed to helm first. */
export const valuesFile = (c: Config, kind: ValuesKind) => (kind === 'schema' ? SCHEMA_VALUES : c.scalardl.app === 'auditor' ? AUDIT_VALUES : LEDGER_VALUES)
/** The computed overrides, passed second. */
export const overridesFile = (c: Config, kind: ValuesKind) => path.join(c.stateDir, c.clusterName, `${valuesChart(c, kind)}-overrides.yaml`)

/** What the overrides depend on besides the configuration, found live by the values task. */
export interface LiveInputs {
  poolNodes: number
  /** The runbook's envoy security group of this cluster (05-auditor), when there is one. */
  envoySgId?: string
  /** The Auditor's view: the Ledger envoy's load-balancer hostname. */
  ledgerHost?: string
}

const toleration = { key: POOL_TAINT.key, operator: 'Equal', value: POOL_TAINT.value, effect: POOL_TAINT.effect }

function antiAffinity(chart: string, app: string) {
  return { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'app.kubernetes.io/name': chart, 'app.kubernetes.io/app': app } }, topologyKey: 'kubernetes.io/hostname' }] } }
}

export function schemaOverrides(c: Config): any {
  return {
    schemaLoading: {
      schemaType: c.scalardl.app,
      databaseProperties: databaseProperties(c).join('\n') + '\n',
      existingSecret: dbSecretName(c),
      imagePullSecrets: [{ name: PULL_SECRET }],
    },
  }
}

const keysVolume = (name: string) => ({ extraVolumes: [{ name, secret: { secretName: name } }], extraVolumeMounts: [{ name, mountPath: '/keys', readOnly: true }] })

/** The Ledger's (scalardl) or the Auditor's (scalardl-audit) overrides. */
export function serverOverrides(c: Config, live: LiveInputs): any {
  const chart = serverChart(c)
  const placement = { nodeSelector: { [POOL_LABEL.key]: POOL_LABEL.value }, tolerations: [toleration] }
  const pod = (app: string) => ({ replicaCount: live.poolNodes, ...placement, affinity: antiAffinity(chart, app), imagePullSecrets: [{ name: PULL_SECRET }] })
  // With 05-auditor, the envoy's load balancer takes the security group that admits the peers.
  const service = live.envoySgId ? { service: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-security-groups': live.envoySgId, 'service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules': 'true' } } } : {}
  const envoy = { ...pod('envoy'), ...service }
  if (c.scalardl.app === 'auditor') {
    return {
      envoy,
      auditor: {
        ...pod('auditor'),
        existingSecret: dbSecretName(c),
        auditorProperties: [
          ...databaseProperties(c),
          `scalar.dl.auditor.ledger.host=${live.ledgerHost ?? ''}`,
          'scalar.dl.auditor.cert_holder_id=auditor',
          'scalar.dl.auditor.private_key_path=/keys/private-key',
          'scalar.dl.auditor.cert_path=/keys/certificate',
        ].join('\n') + '\n',
        ...keysVolume(AUDITOR_KEYS),
      },
    }
  }
  const proof = c.scalardl.proofEnabled
  return {
    envoy,
    ledger: {
      ...pod('ledger'),
      existingSecret: dbSecretName(c),
      ledgerProperties: [
        ...databaseProperties(c),
        `scalar.dl.ledger.proof.enabled=${proof}`,
        ...(proof ? ['scalar.dl.ledger.proof.private_key_path=/keys/private-key'] : []),
        // ledgerAuditorEnabled: the Ledger waits for the Auditor's agreement (05-auditor).
        ...(c.auditor.enabled ? ['scalar.dl.ledger.auditor.enabled=true'] : []),
      ].join('\n') + '\n',
      ...(proof ? keysVolume(LEDGER_KEYS) : {}),
    },
  }
}

const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v)
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
  writePrivateFile(overridesFile(c, kind), `# Computed by ${c.scalardl.app === 'auditor' ? '05-auditor' : '04-scalardl'}; regenerated on every run. Edit config/${path.basename(valuesFile(c, kind))} instead.\n${YAML.stringify(values, { aliasDuplicateObjects: false })}`)
}
