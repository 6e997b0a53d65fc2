// Working from the bastion, through AWS APIs only (SSM Session Manager and Run Command):
//   npm run bastion -- push [--env-file PATH]            the runbook as it is here (tracked files, config/
//                                                       edits) and a .env whose secrets refer to Parameter
//                                                       Store, unpacked on the bastion, then npm ci there
//   npm run bastion -- run [--env-file PATH] STEP|deploy [flags...]   a step (or npm run deploy) run there;
//                                                       its lines as they come (read from its log there), and its exit code
//   npm run bastion -- shell [--print]                   a Session Manager shell (or the exact command)
// The bastion is the instance 01-vpc made for CLUSTER_NAME (found by its tags).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { EC2Client } from '@aws-sdk/client-ec2'
import { S3Client } from '@aws-sdk/client-s3'
import { SSMClient } from '@aws-sdk/client-ssm'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { IAMClient } from '@aws-sdk/client-iam'
import { bastionRoleName, findBastion } from '../lib/aws/bastion.ts'
import { runBudgetSeconds } from '../lib/bastion/budget.ts'
import { bastionRefusals } from '../lib/bastion/can-run.ts'
import {
  accountOf,
  buildBundle,
  ensureStagingBucket,
  followScript,
  pushScript,
  remoteEnv,
  remoteLog,
  runLogName,
  runScript,
  stage,
  stagingBucket,
} from '../lib/bastion/remote.ts'
import { logTail, readBootstrap, waitForBootstrap } from '../lib/bastion/bootstrap-state.ts'
import { runRemote } from '../lib/bastion/run-command.ts'
import { wantedBootstrap } from '../lib/bastion/tasks.ts'
import { ConfigError, loadConfig, type ConfigProblem } from '../lib/config/load.ts'
import { Logger } from '../lib/engine/log.ts'
import { ROOT } from '../lib/engine/root.ts'

const usage = [
  'usage: npm run bastion -- push [--env-file PATH]',
  '       npm run bastion -- run [--env-file PATH] STEP|deploy [flags]   (e.g. run 04-scalardl --dry-run)',
  '       npm run bastion -- shell [--print] [--env-file PATH]',
].join('\n')
const [verb, ...args] = process.argv.slice(2)
// `run` takes --env-file only before STEP: what follows STEP is the step's.
const runEnvFile = verb === 'run' && args[0] === '--env-file' ? args[1] : undefined
const rest = runEnvFile ? args.slice(2) : args
const option = (name: string) => {
  const i = rest.indexOf(name)
  return i >= 0 ? rest[i + 1] : undefined
}
if (!verb || verb === '--help' || verb === 'help') {
  console.log(usage)
  process.exit(verb ? 0 : 2)
}
if (!['push', 'run', 'shell'].includes(verb)) {
  console.error(usage)
  process.exit(2)
}
const STEPS = fs
  .readdirSync(path.join(ROOT, 'runbooks'))
  .filter((f) => /^\d\d-.*\.ts$/.test(f))
  .map((f) => f.replace(/\.ts$/, ''))

function stop(problems: ConfigProblem[], what = 'bastion'): never {
  console.error(`✗ ${what}: ${problems.length} problem${problems.length > 1 ? 's' : ''}`)
  for (const p of problems) console.error(`  ${p.key}: ${p.message}\n    fix: ${p.fix}`)
  process.exit(2)
}

// `run` passes its flags to the step; the configuration is this host's .env (or --env-file before STEP).
const envFile = verb === 'run' ? runEnvFile : option('--env-file')
let config
try {
  config = loadConfig(envFile)
} catch (e) {
  if (!(e instanceof ConfigError)) throw e
  stop(e.problems)
}
if (verb === 'run' && !STEPS.includes(rest[0] ?? '') && rest[0] !== 'deploy')
  stop([{ key: 'STEP', message: `${rest[0] ?? '(none)'} is not a step`, fix: `one of ${STEPS.join(', ')}, or deploy` }])

const ec2 = new EC2Client({ region: config.region })
const bastion = await findBastion(ec2, config.clusterName)
ec2.destroy()
if (bastion?.State?.Name !== 'running') {
  console.error(
    `✗ bastion: ${bastion ? `${bastion.InstanceId} is ${bastion.State?.Name}` : `no bastion for ${config.clusterName} in ${config.region}`}: run 01-vpc (BASTION_ENABLED=true)`,
  )
  process.exit(1)
}
const id = bastion.InstanceId!

if (verb === 'shell') {
  const args = ['ssm', 'start-session', '--target', id, '--region', config.region]
  const command = `aws ${args.join(' ')}`
  // The AWS CLI hands the session to this plugin (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html).
  const plugin = spawnSync('session-manager-plugin', ['--version'], { encoding: 'utf8' })
  const print = rest.includes('--print')
  if (print || plugin.error) {
    if (plugin.error && !print)
      console.error(
        'the Session Manager plugin is not installed here: https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html',
      )
    console.log(command)
    process.exit(print ? 0 : 1)
  }
  console.error(`bastion: ${command}`)
  process.exit(spawnSync('aws', args, { stdio: 'inherit' }).status ?? 1)
}

// Before anything is sent: may the bastion's role run the steps? (IAM's SimulatePrincipalPolicy.)
{
  const sts = new STSClient({ region: config.region })
  const caller = await sts.send(new GetCallerIdentityCommand({}))
  sts.destroy()
  const iam = new IAMClient({ region: config.region })
  const refusals = await bastionRefusals(iam, config, caller.Account!, caller.Arn!.split(':')[1]).catch((e: Error) => e)
  iam.destroy()
  if (refusals instanceof Error)
    console.error(
      `bastion ${verb}: could not ask IAM what the bastion's role may do (${refusals.name}: ${refusals.message}); going on without that check`,
    )
  else if (refusals.length)
    stop(
      refusals.map((r) => ({
        key: 'BASTION_OPERATOR_POLICY',
        message: `the bastion's role ${bastionRoleName(config.clusterName)} may not ${r.action} on ${r.resource} (IAM: ${r.decision}; operator policy statement ${r.sid}), so the steps would fail there`,
        fix: config.bastion.operatorPolicy
          ? 'rerun 01-vpc: it puts the operator policy and the permissions boundary on the bastion role (npm run iam-policy shows the policy)'
          : 'set BASTION_OPERATOR_POLICY=true (the default) and rerun 01-vpc, or give the bastion role that permission yourself',
      })),
      `bastion ${verb}`,
    )
}

const ssm = new SSMClient({ region: config.region })

/**
 * Push needs the bastion's tools (npm): it waits for the bootstrap to have finished (its marker,
 * read through SSM Run Command, as 01-vpc reads it) instead of racing cloud-init, and refuses with
 * the end of the bootstrap's log when it failed.
 */
async function bootstrapFinished(instanceId: string): Promise<void> {
  const want = wantedBootstrap(config!)
  if (typeof want === 'string') return // not installed by the runbook (an arm64 bastion): the operator's
  const refuse = (message: string): never => {
    console.error(
      `✗ bastion push: ${message}\n  fix: rerun 01-vpc (npx tsx runbooks/01-vpc.ts): it waits for the bootstrap, or runs it again through SSM Run Command, and says why it failed`,
    )
    process.exit(1)
  }
  try {
    let now = await readBootstrap(ssm, instanceId, want.version)
    if (now.state === 'running' || now.state === 'offline') {
      console.error(`bastion push: the bastion's bootstrap ${want.version} has not finished (${now.status}): waiting for it`)
      now = await waitForBootstrap(ssm, instanceId, want.version, { timeoutMs: config!.waitTimeoutMs, log: new Logger() })
    }
    if (now.state === 'failed')
      refuse(
        `the bootstrap ${want.version} on ${instanceId} failed (exit ${now.code}), so its tools (npm) are not there; ${logTail(now.reading)}`,
      )
    if (now.state === 'absent' && !now.reading.installed)
      refuse(`no bootstrap has finished on ${instanceId} (no marker), so its tools (npm) are not there; ${logTail(now.reading)}`)
    if (now.state === 'absent')
      console.error(
        `bastion push: the bastion has the tools of bootstrap ${now.reading.installed}, this configuration wants ${want.version}: rerun 01-vpc to bring them in line`,
      )
  } catch (e) {
    refuse((e as Error).message)
  }
}
const out = { stdout: (s: string) => process.stdout.write(s), stderr: (s: string) => process.stderr.write(s) }

if (verb === 'push') {
  await bootstrapFinished(id)
  const file = envFile ?? '.env'
  if (!fs.existsSync(file))
    stop([{ key: '--env-file', message: `${file} does not exist`, fix: 'copy .env.example to .env and fill it in' }])
  const env = await remoteEnv(file, config, ssm)
  if (env.problems.length) stop(env.problems, 'bastion push')
  const sts = new STSClient({ region: config.region })
  const s3 = new S3Client({ region: config.region, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) })
  const bucket = stagingBucket(await accountOf(sts), config.region)
  if (await ensureStagingBucket(s3, bucket, config.region))
    console.error(`bastion push: made the staging bucket ${bucket} (encrypted, private, objects expire after a day)`)
  const bundle = buildBundle(env.text, env.files)
  const { key, url } = await stage(s3, bucket, config.clusterName, bundle)
  fs.rmSync(path.dirname(bundle.file), { recursive: true, force: true })
  console.error(`bastion push: s3://${bucket}/${key} -> ${id}`)
  const { code } = await runRemote(ssm, id, pushScript(url, bundle.sha), `scalardl-runbook push ${bundle.sha.slice(0, 16)}`, out, {
    timeoutMs: 900_000,
    log: new Logger(),
  })
  if (code === 0)
    console.error(
      `\nbastion push: done. Next: npm run bastion -- run deploy (or one step: run 02-database), or npm run bastion -- shell, then sudo -i (Session Manager opens the shell as ssm-user; the runbook is in root's home) and cd ~/scalardl-eks-runbook`,
    )
  process.exit(code)
}

// run
const [step, ...flags] = rest
// SSM hands a command's output back only when it has ended: its log on the bastion is read while it runs.
const logName = runLogName(step!)
const budget = runBudgetSeconds(step!, flags, config)
const json = flags.includes('--json')
console.error(
  `bastion run: ${step} on ${id}, its lines as they come (read from its log there every few seconds); SSM stops it after ${budget} s`,
)
const result = await runRemote(ssm, id, runScript(step!, flags, logName), `scalardl-runbook ${step}`, out, {
  log: new Logger(),
  timeoutMs: budget * 1000,
  follow: { read: (offset) => followScript(logName, offset), print: json ? out.stderr : out.stdout, keepStdout: json },
})
if (result.followed) console.error(`[the whole output is also in ~/scalardl-eks-runbook/${remoteLog(logName)} on the bastion]`)
if (result.status === 'TimedOut')
  console.error(
    `bastion run: SSM stopped ${step} after ${budget} s (its executionTimeout, from the plan). It may have stopped half-way; every step resumes where it stopped: npm run bastion -- run ${[step, ...flags].join(' ')}`,
  )
process.exit(result.code)
