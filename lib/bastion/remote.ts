// Working on the bastion through AWS APIs only: the runbook shipped there (`push`) and a step run
// there (`run`), both through SSM Run Command. The runbook travels as a tarball in a staging S3
// bucket (tagged, encrypted, public access blocked, objects expire after a day), fetched on the
// bastion with a presigned URL that lasts 15 minutes, so the bastion's role needs no S3 access.
// No secret travels: the bastion's .env refers to Parameter Store (npm run secrets -- store) for
// every secret, and push refuses a secret that is not stored there.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm'
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts'
import dotenv from 'dotenv'
import { isAwsError } from '../aws/clients.ts'
import { CLUSTER_TAG } from '../aws/tags.ts'
import type { Config, ConfigProblem } from '../config/load.ts'
import { privateTempDir, writePrivateFile } from '../engine/files.ts'
import { ROOT } from '../engine/root.ts'
import { parameterName, secretRefs, STORED_SECRETS } from '../secrets/parameters.ts'
import { usedSecrets } from '../secrets/local-keys.ts'
import { shellQuote } from './bootstrap.ts'

/** Where the runbook lives on the bastion (root's home: SSM runs commands as root). */
const REMOTE_DIR = '"${HOME:-/root}/scalardl-eks-runbook"'
/** Files the configuration names that are not secret and go with the runbook. */
const SHIPPED_FILES = ['LEDGER_CERTIFICATE_FILE', 'AUDITOR_CERTIFICATE_FILE', 'SCALARDL_AUDITOR_LICENSE_CERT_FILE']

export const stagingBucket = (account: string, region: string) => `scalardl-runbook-staging-${account}-${region}`

/**
 * The .env for the bastion: every key of the local one, secrets replaced by their Parameter Store
 * references (each must be stored: a problem names the one that is not), and the certificate
 * files it names shipped beside it. Returns the text and the files to ship (name in the bundle -> local path).
 */
export async function remoteEnv(
  envFile: string,
  config: Config,
  ssm: SSMClient,
): Promise<{ text: string; files: Map<string, string>; problems: ConfigProblem[] }> {
  const cluster = config.clusterName
  const local = dotenv.parse(fs.readFileSync(envFile, 'utf8'))
  const refs = secretRefs(local)
  // A secret the configuration does not use (the Auditor's without AUDITOR_ENABLED=true) is
  // neither required nor sent: its line is left out of the bastion's .env.
  const used = usedSecrets(config)
  const secrets = Object.keys(STORED_SECRETS).filter((k) => local[k]?.trim() && !refs.has(k) && used.has(k))
  const names = secrets.map((k) => parameterName(cluster, k))
  const stored = new Set(
    names.length ? ((await ssm.send(new GetParametersCommand({ Names: names }))).Parameters ?? []).map((p) => p.Name) : [],
  )
  const problems: ConfigProblem[] = []
  const out: Record<string, string> = { ...local }
  for (const k of Object.keys(STORED_SECRETS)) if (!used.has(k) && !refs.has(k)) delete out[k]
  for (const k of secrets) {
    const name = parameterName(cluster, k)
    if (!stored.has(name))
      problems.push({
        key: k,
        message: `has a value here but no parameter ${name}: push never sends a secret`,
        fix: 'npm run secrets -- store (it puts the secrets of .env into Parameter Store), then push again',
      })
    out[k] = `ssm:${name}`
  }
  const files = new Map<string, string>()
  for (const k of SHIPPED_FILES) {
    const p = local[k]?.trim()
    if (!p) continue
    const abs = path.resolve(path.dirname(envFile), p)
    if (!fs.existsSync(abs)) continue
    const name = `pushed-files/${path.basename(abs)}`
    files.set(name, abs)
    out[k] = name
  }
  const text = `# Written by npm run bastion -- push from ${envFile}: secrets refer to Parameter Store.\n${Object.entries(out)
    .map(([k, v]) => `${k}=${/[\s#"'$]/.test(v) ? JSON.stringify(v) : v}`)
    .join('\n')}\n`
  return { text, files, problems }
}

/** The runbook as it is here: tracked files (as in the working tree) and untracked files under config/. */
function bundleFiles(root = ROOT): string[] {
  const list = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean)
  return [...new Set([...list(['ls-files', '-z']), ...list(['ls-files', '-z', '--others', '--exclude-standard', 'config/'])])]
    .filter((f) => fs.existsSync(path.join(root, f)))
    .sort()
}

/** A gzipped tar of the runbook, the bastion's .env and the shipped files; its SHA-256 names it. */
export function buildBundle(envText: string, files: Map<string, string>, root = ROOT): { file: string; sha: string } {
  const dir = privateTempDir('scalardl-push-')
  const extra = path.join(dir, 'extra')
  writePrivateFile(path.join(extra, '.env'), envText)
  for (const [name, local] of files) {
    fs.mkdirSync(path.dirname(path.join(extra, name)), { recursive: true })
    fs.copyFileSync(local, path.join(extra, name))
  }
  const list = path.join(dir, 'files')
  fs.writeFileSync(list, bundleFiles(root).join('\n'))
  const file = path.join(dir, 'runbook.tgz')
  execFileSync('tar', ['-czf', file, '-C', root, '-T', list, '-C', extra, '.env', ...files.keys()])
  return { file, sha: createHash('sha256').update(fs.readFileSync(file)).digest('hex') }
}

/** The staging bucket, made once per account and region: tagged, encrypted, private, objects expire after a day. */
export async function ensureStagingBucket(s3: S3Client, bucket: string, region: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }))
    return false
  } catch (e) {
    if (!isAwsError(e, 'NotFound', 'NoSuchBucket') && (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404)
      throw e
  }
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
    }),
  )
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: bucket,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
    }),
  )
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    }),
  )
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: {
        Rules: [{ ID: 'expire-pushed-runbooks', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }],
      },
    }),
  )
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: CLUSTER_TAG, Value: 'staging' }] } }))
  return true
}

export async function accountOf(sts: STSClient): Promise<string> {
  return (await sts.send(new GetCallerIdentityCommand({}))).Account!
}

/** Uploads the bundle and returns a URL that fetches it for 15 minutes. */
export async function stage(
  s3: S3Client,
  bucket: string,
  cluster: string,
  bundle: { file: string; sha: string },
): Promise<{ key: string; url: string }> {
  const key = `${cluster}/runbook-${bundle.sha.slice(0, 16)}.tgz`
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: fs.readFileSync(bundle.file), ServerSideEncryption: 'AES256' }))
  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 900 })
  return { key, url }
}

const q = shellQuote

/** What push runs on the bastion: fetch, check, unpack over the previous copy, npm ci, the bundles, and say where it is. */
export function pushScript(url: string, sha: string): string {
  return [
    'set -euo pipefail',
    `dir=${REMOTE_DIR}`,
    'mkdir -p "$dir" && cd "$dir"',
    `curl -fsSL --retry 3 -o .push.tgz ${q(url)}`,
    `echo ${q(`${sha}  .push.tgz`)} | sha256sum -c --quiet`,
    'tar -xzf .push.tgz && rm -f .push.tgz && chmod 600 .env',
    'npm ci --omit=dev --no-audit --no-fund',
    // The steps' ahead-of-time bundles (dist/): each step then starts in a fraction of a second.
    'npm run --silent build || echo "bundles not built: the steps run from their TypeScript sources"',
    `echo "runbook ${sha.slice(0, 16)} in $dir"`,
  ].join('\n')
}

/**
 * How much of the end of a run's human output comes back through SSM, in bytes, under what
 * GetCommandInvocation returns: the first 24,000 characters of stdout and 8,000 of stderr.
 */
export const RUN_OUTPUT_TAIL = { stdout: 20_000, stderr: 7_000 }

/**
 * What run runs on the bastion: the step (or the deployment), from the pushed copy, with its
 * flags. SSM returns a command's output only once it has ended, and only the beginning of each
 * stream, where a step's human output is on stderr and its outcome at its end. So the whole
 * output goes to a log on the bastion, and what comes back is its end, after a line saying where
 * the log is and how much was left out (from the next full line on): on stdout, both streams as
 * they came; with --json, the JSON on stdout and the end of the human output on stderr.
 */
/** Where a run's whole output is kept on the bastion, under the runbook's directory. */
export const remoteLog = (name: string) => `.runbook/remote/${name}`

/** A run's log name: its time, its step, and a few random characters (two runs in one second). */
export const runLogName = (step: string, now = new Date()) =>
  `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${step.replace(/[^\w-]/g, '')}-${Math.random().toString(36).slice(2, 6)}.log`

/** The most one follow request brings back: under SSM's 24,000 characters of stdout. */
const FOLLOW_CHUNK = 20_000

/** What `run` sends to read a running step's log from byte `offset` on (nothing while it does not exist yet). */
export function followScript(logName: string, offset: number): string {
  return [
    `cd ${REMOTE_DIR} 2>/dev/null || exit 0`,
    `[ -f ${q(remoteLog(logName))} ] || exit 0`,
    `tail -c +${offset + 1} ${q(remoteLog(logName))} | head -c ${FOLLOW_CHUNK}`,
  ].join('\n')
}

/**
 * The shell command that runs a step on the bastion: its bundle (`push` builds them; a step starts
 * from it in a third of the time: `npm run bench`), unless a source was changed after it was built
 * (then the TypeScript source through tsx, as the deploy launcher does with a stale bundle).
 */
export function stepCommand(step: string, flags: string[]): string {
  const args = flags.map(q).join(' ')
  if (step === 'deploy') return `node scripts/deploy.mjs ${args}`.trimEnd()
  const bundle = `dist/runbooks/${step}.mjs`
  return [
    `if [ -f ${bundle} ] && [ -z "$(find lib runbooks checks -newer ${bundle} -print -quit 2>/dev/null)" ];`,
    `then node ${bundle} ${args};`,
    `else npx tsx runbooks/${step}.ts ${args}; fi`,
  ].join(' ')
}

export function runScript(step: string, flags: string[], logName = runLogName(step)): string {
  const command = stepCommand(step, flags)
  const json = flags.includes('--json')
  const limit = json ? RUN_OUTPUT_TAIL.stderr : RUN_OUTPUT_TAIL.stdout
  return [
    'umask 077', // the log is the operator's alone, as the journal
    `cd ${REMOTE_DIR} || exit 1`,
    'mkdir -p .runbook/remote',
    `log="$PWD/${remoteLog(logName)}"`,
    json ? `{ ${command}; } > "$log.json" 2> "$log"` : `{ ${command}; } > "$log" 2>&1`,
    'rc=$?',
    'size=$(wc -c < "$log")',
    `if [ "$size" -gt ${limit} ]; then`,
    `  echo "[the first $((size - ${limit})) of $size bytes are left out here: the whole output is in $log on the bastion (npm run bastion -- shell)]"`,
    `  tail -c ${limit} "$log" | tail -n +2`,
    'else',
    '  cat "$log"',
    '  echo "[the whole output is also in $log on the bastion]"',
    `fi${json ? ' >&2' : ''}`,
    ...(json ? ['cat "$log.json"'] : []),
    'exit $rc',
  ].join('\n')
}
