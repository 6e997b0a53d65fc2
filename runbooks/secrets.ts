// `npm run secrets -- store [--env-file PATH] [--dry-run]`: puts this configuration's secrets (GITHUB_TOKEN,
// the database credentials, the Auditor's licence key, and the private key files) that the
// configuration uses (not the Auditor's without AUDITOR_ENABLED=true) into SSM
// Parameter Store as SecureString parameters under /scalardl-runbook/<CLUSTER_NAME>/, tagged for
// the cluster, and prints the lines that refer to them (lib/secrets/parameters.ts), for the .env
// on the bastion. A key file (or, with the Auditor, a certificate) the configuration needs but that
// does not exist yet is made first, here (EC P-256, mode 600; certificates self-signed). A
// parameter that already holds the value is left as it is. Values go to AWS in
// the API call's body only: never in argv, output or a file. --dry-run reads what is stored and
// says what would change, changing nothing.
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { AddTagsToResourceCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { CLUSTER_TAG } from '../lib/aws/tags.ts'
import { ConfigError, loadEnvFile, parseConfig } from '../lib/config/load.ts'
import { keyFileStates, makeMissingKeyFiles, usedSecrets } from '../lib/secrets/local-keys.ts'
import { parameterName, secretRefs, STORED_SECRETS } from '../lib/secrets/parameters.ts'

/** The key file a certificate key certifies. */
const keyOf = (certKey: string) => (certKey === 'AUDITOR_CERTIFICATE_FILE' ? 'AUDITOR_PRIVATE_KEY_FILE' : 'LEDGER_PRIVATE_KEY_FILE')

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'env-file': { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean' } },
})
const usage = 'usage: npm run secrets -- store [--env-file PATH] [--dry-run]'
const dryRun = values['dry-run'] === true
if (values.help) {
  console.log(usage)
  process.exit(0)
}
if (positionals[0] !== 'store' || positionals.length !== 1) {
  console.error(usage)
  process.exit(2)
}

let config
const refs = new Map<string, string>()
try {
  const source = loadEnvFile(values['env-file'])
  for (const [k, v] of secretRefs(process.env)) refs.set(k, v)
  // The keys that already refer to Parameter Store are not checked here (nothing is stored for them).
  config = parseConfig(Object.fromEntries(Object.entries(process.env).filter(([k]) => !refs.has(k))), source)
} catch (e) {
  if (!(e instanceof ConfigError)) throw e
  console.error(`✗ secrets: ${e.message}`)
  for (const p of e.problems) console.error(`  ${p.key}: ${p.message}\n    fix: ${p.fix}`)
  process.exit(2)
}
// The key files (and, for Auditor mode, certificates) the configuration needs but that do not
// exist yet are made here, on the operator's machine, before the keys are stored.
const used = usedSecrets(config)
// (Not those already in Parameter Store, nor a certificate of a key that is: its key is not here.)
const keyFiles = keyFileStates(config).filter((f) => !refs.has(f.key) && !(f.kind === 'certificate' && refs.has(keyOf(f.key))))
const invalid = keyFiles.filter((f) => f.state === 'invalid')
if (invalid.length) {
  console.error(`✗ secrets: ${invalid.length} key or certificate file(s) are not usable:`)
  for (const f of invalid)
    console.error(`  ${f.key}: ${f.problem}\n    fix: point ${f.key} at a valid file, or move ${f.file} away and rerun to make a new one`)
  process.exit(2)
}
for (const f of keyFiles.filter((x) => x.state === 'missing')) {
  const what = f.kind === 'key' ? 'EC P-256 private key, mode 600' : `self-signed certificate of ${f.of} for ${f.holder}, mode 600`
  console.error(dryRun ? `  ~ planned make ${f.key} ${f.file} (${what})` : `  ~ changed made ${f.key} ${f.file} (${what})`)
}
// Only those read above: not a key that is in Parameter Store, nor a certificate of one.
if (!dryRun) await makeMissingKeyFiles(keyFiles)
const unused = Object.keys(STORED_SECRETS).filter((k) => !used.has(k) && process.env[k]?.trim())
if (unused.length) console.error(`  · not used by this configuration, so not stored: ${unused.join(', ')}`)

const wanted = new Map<string, string>()
for (const key of Object.keys(STORED_SECRETS)) {
  const raw = process.env[key]?.trim()
  if (!raw || refs.has(key) || !used.has(key)) continue
  if (key.endsWith('_FILE')) {
    // Made above unless --dry-run: what it would store is the file to be made.
    if (!fs.existsSync(raw)) {
      if (dryRun) console.error(`  ~ planned ${key} → ${parameterName(config.clusterName, key)} (SecureString, once made)`)
      continue
    }
    wanted.set(key, fs.readFileSync(raw, 'utf8'))
  } else wanted.set(key, raw)
}
if (!wanted.size) {
  console.error(
    `✗ secrets: nothing to store: none of ${Object.keys(STORED_SECRETS).join(', ')} has a local value${refs.size ? ' (some already refer to Parameter Store)' : ''}`,
  )
  process.exit(2)
}

const ssm = new SSMClient({ region: config.region })
const names = new Map([...wanted.keys()].map((k) => [k, parameterName(config.clusterName, k)]))
const current = new Map(
  ((await ssm.send(new GetParametersCommand({ Names: [...names.values()], WithDecryption: true }))).Parameters ?? []).map((p) => [
    p.Name!,
    p.Value,
  ]),
)
const lines: string[] = []
for (const [key, value] of wanted) {
  const name = names.get(key)!
  if (current.get(name) === value) {
    console.error(`  ✓ ok      ${key} → ${name} (unchanged)`)
  } else if (dryRun) {
    console.error(`  ~ planned ${key} → ${name} (SecureString, ${current.has(name) ? 'a different value' : 'not stored yet'})`)
  } else {
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: value,
        Type: 'SecureString',
        Overwrite: true,
        Description: `scalardl-eks-runbook: ${key} of ${config.clusterName}`,
      }),
    )
    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: 'Parameter',
        ResourceId: name,
        Tags: [{ Key: CLUSTER_TAG, Value: config.clusterName }],
      }),
    )
    console.error(`  ~ changed ${key} → ${name} (SecureString)`)
  }
  lines.push(`${key}=ssm:${name}`)
}
ssm.destroy()
if (dryRun) console.error('\nDRY RUN: nothing was stored. Without --dry-run, these lines would refer to the parameters:')
else console.error('\nOn the bastion, put these lines in .env instead of the values (and leave the key files off its disk):')
console.log(lines.join('\n'))
