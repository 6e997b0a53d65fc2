// Secrets kept in SSM Parameter Store instead of on disk: the configuration names them as
// `KEY=ssm:/scalardl-runbook/<CLUSTER_NAME>/<name>` (SecureString parameters that `npm run secrets
// -- store` writes from a local .env and key files), and a step resolves them when it loads its
// configuration: values into its own environment (registered as secrets, so redacted), key files
// into a private file (mode 600, in a mode-700 directory on a memory file system where there is
// one, /dev/shm, removed when the step exits). Nothing secret is written to the bastion's disk.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm'
import { ConfigError, loadEnvFile, parseConfig, type Config, type ConfigProblem } from '../config/load.ts'
import { privateTempDir, writePrivateFile } from '../engine/files.ts'
import { registerEnvSecrets, registerSecret } from '../engine/redact.ts'

/** The keys that may live in Parameter Store, and the name of each under the cluster's path. */
export const STORED_SECRETS: Record<string, string> = {
  GITHUB_TOKEN: 'github-token',
  SCALARDL_DB_USERNAME: 'db-username',
  SCALARDL_DB_PASSWORD: 'db-password',
  SCALARDL_AUDITOR_LICENSE_KEY: 'auditor-license-key',
  LEDGER_PRIVATE_KEY_FILE: 'ledger-private-key',
  AUDITOR_PRIVATE_KEY_FILE: 'auditor-private-key',
}

export const PARAMETER_ROOT = '/scalardl-runbook'
const REF = /^ssm:(\/[A-Za-z0-9_.\-/]+)$/

export const parameterName = (cluster: string, key: string) => `${PARAMETER_ROOT}/${cluster}/${STORED_SECRETS[key]}`

/** The keys whose value is a Parameter Store reference, with the parameter each names. */
export function secretRefs(env: NodeJS.ProcessEnv): Map<string, string> {
  const refs = new Map<string, string>()
  for (const key of Object.keys(STORED_SECRETS)) {
    const m = REF.exec((env[key] ?? '').trim())
    if (m) refs.set(key, m[1]!)
  }
  return refs
}

/** A key file's content in a private file on a memory file system where there is one (/dev/shm). */
function secretFile(key: string, content: string): string {
  const dir = privateTempDir('scalardl-secrets-', fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir())
  const file = path.join(dir, key.toLowerCase().replace(/_file$/, '.pem'))
  writePrivateFile(file, content)
  return file
}

/**
 * Loads the configuration with its Parameter Store references resolved. Every other key is
 * validated first, so a bad configuration still exits 2 before any call to AWS; then one
 * GetParameters call reads the referenced parameters (decrypted); a missing one is a problem of
 * its key, with the fix.
 */
export async function loadConfigResolved(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const source = loadEnvFile(envFile, env)
  const refs = secretRefs(env)
  if (!refs.size) {
    registerEnvSecrets(env)
    return parseConfig(env, source)
  }
  // Everything but the references first (they are checked once resolved).
  const rest = { ...env }
  for (const key of refs.keys()) delete rest[key]
  try {
    parseConfig(rest, source)
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    const problems = e.problems.filter((p) => !refs.has(p.key))
    if (problems.length) throw new ConfigError(problems, source)
  }
  const region = env.AWS_REGION ?? ''
  const ssm = new SSMClient({ region })
  const names = [...new Set(refs.values())]
  const found = new Map<string, string>()
  const problems: ConfigProblem[] = []
  try {
    // GetParameters takes at most 10 names; there are 6 keys.
    const out = await ssm.send(new GetParametersCommand({ Names: names, WithDecryption: true }))
    for (const p of out.Parameters ?? []) if (p.Name && p.Value !== undefined) found.set(p.Name, p.Value)
  } catch (e) {
    for (const key of refs.keys())
      problems.push({
        key,
        message: `names ${refs.get(key)}, which could not be read from SSM Parameter Store: ${(e as Error).name}: ${(e as Error).message}`,
        fix: 'check the credentials and region, and that this principal may call ssm:GetParameters (and kms:Decrypt) on it',
      })
    throw new ConfigError(problems, source)
  } finally {
    ssm.destroy()
  }
  for (const [key, name] of refs) {
    const value = found.get(name)
    if (value === undefined) {
      problems.push({
        key,
        message: `names ${name}, which is not in SSM Parameter Store (region ${region})`,
        fix: `run npm run secrets -- store where the value is (a .env and key files), or set ${key} to the value itself`,
      })
      continue
    }
    if (key.endsWith('_FILE')) {
      registerSecret(value)
      env[key] = secretFile(key, value)
    } else env[key] = value
  }
  if (problems.length) throw new ConfigError(problems, source)
  registerEnvSecrets(env)
  return parseConfig(env, source)
}
