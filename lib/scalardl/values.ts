// Values for the two charts: the operator-editable files in config/, then the overrides the
// runbook computes, saved under .runbook/<CLUSTER_NAME>/ with mode 600 (they hold no secret).
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import type { Config } from '../config.ts'
import { databaseProperties } from '../database/properties.ts'
import { writePrivateFile } from '../files.ts'
import { POOL_LABEL, POOL_TAINT } from '../eks/cluster-config.ts'
import { dbSecretName, LEDGER_KEYS, PULL_SECRET } from './secrets.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const LEDGER_VALUES = path.join(ROOT, 'config', 'scalardl-custom-values.yaml')
export const SCHEMA_VALUES = path.join(ROOT, 'config', 'schema-loading-custom-values.yaml')

export const overridesFile = (c: Config, chart: 'scalardl' | 'schema-loading') => path.join(c.stateDir, c.clusterName, `${chart}-overrides.yaml`)

const toleration = { key: POOL_TAINT.key, operator: 'Equal', value: POOL_TAINT.value, effect: POOL_TAINT.effect }

function antiAffinity(app: string) {
  return { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'scalardl', 'app.kubernetes.io/app': app } }, topologyKey: 'kubernetes.io/hostname' }] } }
}

export function schemaOverrides(c: Config): any {
  return {
    schemaLoading: {
      schemaType: 'ledger',
      databaseProperties: databaseProperties(c).join('\n') + '\n',
      existingSecret: dbSecretName(c),
      imagePullSecrets: [{ name: PULL_SECRET }],
    },
  }
}

export function ledgerOverrides(c: Config, poolNodes: number): any {
  const placement = { nodeSelector: { [POOL_LABEL.key]: POOL_LABEL.value }, tolerations: [toleration] }
  const proof = c.scalardl.proofEnabled
  return {
    envoy: { replicaCount: poolNodes, ...placement, affinity: antiAffinity('envoy'), imagePullSecrets: [{ name: PULL_SECRET }] },
    ledger: {
      replicaCount: poolNodes,
      ...placement,
      affinity: antiAffinity('ledger'),
      imagePullSecrets: [{ name: PULL_SECRET }],
      existingSecret: dbSecretName(c),
      ledgerProperties: [
        ...databaseProperties(c),
        `scalar.dl.ledger.proof.enabled=${proof}`,
        ...(proof ? ['scalar.dl.ledger.proof.private_key_path=/keys/private-key'] : []),
      ].join('\n') + '\n',
      ...(proof ? { extraVolumes: [{ name: LEDGER_KEYS, secret: { secretName: LEDGER_KEYS } }], extraVolumeMounts: [{ name: LEDGER_KEYS, mountPath: '/keys', readOnly: true }] } : {}),
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

export function writeOverrides(file: string, values: any): void {
  writePrivateFile(file, `# Computed by 04-scalardl; regenerated on every run. Edit ${path.basename(file).startsWith('schema') ? 'config/schema-loading-custom-values.yaml' : 'config/scalardl-custom-values.yaml'} instead.\n${YAML.stringify(values, { aliasDuplicateObjects: false })}`)
}
