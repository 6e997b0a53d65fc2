// The Secrets Scalar DL needs in its namespace, built in-process and applied through stdin: the
// GitHub token and the keys never reach a command line, a values file or the journal.
import fs from 'node:fs'
import YAML from 'yaml'
import { DB_ENV } from '../database/properties.ts'
import type { Config } from '../config/load.ts'
import type { KubeObject } from '../tools/kubectl.ts'

export const PULL_SECRET = 'reg-docker-secrets'
export const LEDGER_KEYS = 'ledger-keys'
export const AUDITOR_KEYS = 'auditor-keys'
export const dbSecretName = (c: Config) => `${c.scalardl.release}-db-credentials`

export interface SecretSpec {
  name: string
  type: string
  /** Plain values; base64 is applied when rendered. */
  data: Record<string, string>
  /** Shown in messages instead of the data. */
  describe: string
}

const b64 = (s: string) => Buffer.from(s).toString('base64')

export function pullSecret(c: Config): SecretSpec {
  const { username = '', token = '' } = c.scalardl.github
  const auth = b64(`${username}:${token}`)
  return {
    name: PULL_SECRET,
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': JSON.stringify({ auths: { 'ghcr.io': { username, password: token, auth } } }) },
    describe: `ghcr.io credentials of ${username}`,
  }
}

/** The Ledger's key; with the Auditor, its certificate too (the certificate registration Job reads it). */
export function ledgerKeysSecret(pem: string, certificate?: string): SecretSpec {
  return certificate
    ? { name: LEDGER_KEYS, type: 'Opaque', data: { 'private-key': pem, certificate }, describe: 'private-key, certificate' }
    : { name: LEDGER_KEYS, type: 'Opaque', data: { 'private-key': pem }, describe: 'private-key' }
}

/** The guide's `kubectl create secret generic auditor-keys --from-file=certificate=... --from-file=private-key=...`. */
export function auditorKeysSecret(pem: string, certificate: string): SecretSpec {
  return { name: AUDITOR_KEYS, type: 'Opaque', data: { 'private-key': pem, certificate }, describe: 'private-key, certificate' }
}

/** The Auditor's licence, as environment variables its properties name (`${env:...}`). */
export const LICENSE_ENV = { key: 'SCALAR_DL_AUDITOR_LICENSE_KEY', certPem: 'SCALAR_DL_AUDITOR_LICENSE_CHECK_CERT_PEM' } as const

/**
 * The credentials Secret of a view (given to the schema loader and the server as both the charts'
 * `existingSecret` and `secretName`): `db-username`/`db-password` for the HELM_SCALAR_DB_* variables
 * the charts always set from existingSecret (scalardl-4.12.0 templates/ledger/deployment.yaml:109-126),
 * SCALAR_DB_USERNAME/PASSWORD for the properties (envFrom of secretName, :139-143); in the
 * Auditor's view also its licence key and the certificate that checks it.
 */
export function dbSecret(c: Config): SecretSpec {
  const user = c.scalardl.db.username ?? ''
  const password = c.scalardl.db.password ?? ''
  const data: Record<string, string> = {
    'db-username': user,
    'db-password': password,
    [DB_ENV.username]: user,
    [DB_ENV.password]: password,
  }
  if (c.scalardl.app === 'auditor') {
    data[LICENSE_ENV.key] = c.auditor.license.key ?? ''
    data[LICENSE_ENV.certPem] = fs.existsSync(c.auditor.license.certFile) ? fs.readFileSync(c.auditor.license.certFile, 'utf8') : ''
  }
  return { name: dbSecretName(c), type: 'Opaque', data, describe: Object.keys(data).join(', ') }
}

export function secretManifest(s: SecretSpec, namespace: string): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: s.name, namespace, labels: { 'app.kubernetes.io/managed-by': 'scalardl-eks-runbook' } },
    type: s.type,
    data: Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, b64(v)])),
  })
}

/** What differs between a live Secret and the spec, without revealing any value. */
export function secretDrift(live: KubeObject | undefined, s: SecretSpec): string | undefined {
  if (!live) return `create ${s.name} (${s.describe})`
  if ((live as { type?: string }).type !== s.type) return `recreate ${s.name}: type ${(live as { type?: string }).type}, wanted ${s.type}`
  const data = ((live as { data?: Record<string, string> }).data ?? {}) as Record<string, string>
  const differs = Object.keys(s.data).filter((k) => data[k] !== b64(s.data[k]!))
  return differs.length ? `update ${s.name}: ${differs.join(', ')} differ${differs.length === 1 ? 's' : ''}` : undefined
}
