// `npm run secrets -- store [--env-file PATH] [--dry-run]`: puts this configuration's secrets (GITHUB_TOKEN,
// the database credentials, the Auditor's licence key, and the private key files) into SSM
// Parameter Store as SecureString parameters under /scalardl-runbook/<CLUSTER_NAME>/, tagged for
// the cluster, and prints the lines that refer to them (lib/secrets/parameters.ts), for the .env
// on the bastion. A parameter that already holds the value is left as it is. Values go to AWS in
// the API call's body only: never in argv, output or a file. --dry-run reads what is stored and
// says what would change, changing nothing.
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { AddTagsToResourceCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { CLUSTER_TAG } from '../lib/aws/tags.ts'
import { ConfigError, loadEnvFile, parseConfig } from '../lib/config.ts'
import { parameterName, secretRefs, STORED_SECRETS } from '../lib/secrets/parameters.ts'

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
const wanted = new Map<string, string>()
for (const key of Object.keys(STORED_SECRETS)) {
  const raw = process.env[key]?.trim()
  if (!raw || refs.has(key)) continue
  if (key.endsWith('_FILE')) {
    if (!fs.existsSync(raw)) continue
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
