// The Secrets Scalar DL needs in its namespace, built in-process and applied through stdin: the
// GitHub token and the keys never reach a command line, a values file or the journal.
import YAML from 'yaml'
import type { Config } from '../config.ts'
import type { KubeObject } from '../kubectl.ts'

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
  return { name: PULL_SECRET, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': JSON.stringify({ auths: { 'ghcr.io': { username, password: token, auth } } }) }, describe: `ghcr.io credentials of ${username}` }
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

export function dbSecret(c: Config): SecretSpec {
  return { name: dbSecretName(c), type: 'Opaque', data: { 'db-username': c.scalardl.db.username ?? '', 'db-password': c.scalardl.db.password ?? '' }, describe: 'db-username, db-password' }
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
