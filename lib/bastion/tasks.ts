// The bastion's tools as a task of 01-vpc: a new bastion gets them at first boot (its user data),
// and 01 waits until the bootstrap's own marker says they are installed; one whose bootstrap failed,
// or whose installed bootstrap differs from the wanted one (bastion/tools.json changed, or
// KUBERNETES_VERSION moved kubectl), gets the bootstrap through SSM Run Command, in place.
import { CreateTagsCommand } from '@aws-sdk/client-ec2'
import { isArm } from '../aws/bastion.ts'
import type { Config, ConfigProblem } from '../config/load.ts'
import { RunbookError } from '../engine/errors.ts'
import type { NetworkState, TargetOf } from '../network/target.ts'
import type { Task } from '../engine/task.ts'
import { BOOTSTRAP_TAG, loadManifest, renderBootstrap, type Bootstrap } from './bootstrap.ts'
import { BOOTSTRAP_LOG, logTail, readBootstrap, waitForBootstrap, type BootstrapReading, type BootstrapState } from './bootstrap-state.ts'
import { runRemote } from './run-command.ts'

/** The bootstrap this configuration wants, or why it has none (an arm64 bastion, or no kubectl pinned near KUBERNETES_VERSION). */
export function wantedBootstrap(c: Pick<Config, 'kubernetesVersion' | 'bastion'>): Bootstrap | string {
  if (isArm(c.bastion.instanceType))
    return `the pinned tools are x86_64 builds and BASTION_INSTANCE_TYPE ${c.bastion.instanceType} is arm64: install kubectl, helm, eksctl and Node.js 24 by hand (RUNBOOK, 01-vpc)`
  return renderBootstrap(c.kubernetesVersion)
}

/**
 * A bastion the runbook would launch without its tools is refused before any call (00 and 01 exit
 * 2): KUBERNETES_VERSION needs a kubectl pinned within one minor in bastion/tools.json. (An arm64
 * bastion is said and left to the operator: the pins are x86_64 builds.)
 */
export function bootstrapProblems(c: Config): ConfigProblem[] {
  if (!c.bastion.enabled || isArm(c.bastion.instanceType)) return []
  const want = renderBootstrap(c.kubernetesVersion)
  if (typeof want !== 'string') return []
  const pinned = Object.keys(loadManifest().kubectl).join(', ')
  return [
    {
      key: 'KUBERNETES_VERSION',
      message: `${want}: the bastion would have no kubectl it can use`,
      fix: `set KUBERNETES_VERSION within one minor of a pinned kubectl (${pinned}), or pin its kubectl in bastion/tools.json (URL and SHA-256 from dl.k8s.io)`,
    },
  ]
}

/** What 01-vpc read of the bastion's bootstrap (check), handed to apply. */
interface ToolsReading {
  want: Bootstrap
  /** Undefined for a bastion launched in this run and not read yet. */
  now?: BootstrapState
}

const RERUN_HINT = `fix the cause the log names (a download, a checksum, a package), then rerun 01-vpc: it runs the bootstrap again through SSM Run Command; the whole log is ${BOOTSTRAP_LOG} on the bastion (npm run bastion -- shell)`

function failure(want: Bootstrap, id: string, code: number, r: BootstrapReading, how: string): RunbookError {
  return new RunbookError(`bootstrap ${want.version} on ${id} failed (${how}, exit ${code}); ${logTail(r)}`, RERUN_HINT)
}

/**
 * The bastion's tools, known to have worked: the bootstrap's own marker on the bastion (read
 * through SSM Run Command) says the wanted version is installed. A bastion launched with it as user
 * data is waited for while cloud-init runs it; one whose bootstrap failed is reported with the end
 * of its log and, on the next run, bootstrapped again through SSM Run Command, as is one with
 * another version (bastion/tools.json changed, or KUBERNETES_VERSION moved kubectl). The
 * `scalardl-runbook/bootstrap` tag stays a record of the version launched or last sent.
 */
export function bastionToolsTask(target: TargetOf): Task<NetworkState, ToolsReading> {
  return {
    title: 'Bastion tools (Node.js 24 LTS, kubectl, helm, eksctl, git, AWS CLI) at the pinned versions, checksums verified',
    async check(ctx, s) {
      const t = target(ctx)
      if (!t.bastion.enabled) return { holds: true, detail: 'no bastion (BASTION_ENABLED=false)' }
      const want = wantedBootstrap(ctx.config)
      if (typeof want === 'string') return { holds: true, detail: `not installed by the runbook: ${want}` }
      const tools = Object.entries(want.tools)
        .map(([n, v]) => `${n} ${v}`)
        .join(', ')
      if (!s.bastion) return { holds: false, detail: `at the bastion's first boot: ${tools}`, reading: { want } }
      const id = s.bastion.InstanceId!
      const now = await readBootstrap(ctx.aws.ssm, id, want.version)
      switch (now.state) {
        case 'done':
          return { holds: true, detail: `bootstrap ${want.version} installed (its marker on ${id}): ${tools}` }
        case 'running':
        case 'offline':
          return { holds: false, detail: `wait for the bootstrap ${want.version} on ${id} (${now.status})`, reading: { want, now } }
        case 'failed':
          return {
            holds: false,
            detail: `bootstrap ${want.version} failed on ${id} (exit ${now.code}): run it again through SSM Run Command`,
            reading: { want, now },
          }
        default:
          return {
            holds: false,
            detail: `bootstrap ${now.reading.installed ?? '(none)'} -> ${want.version} (${tools}) through SSM Run Command on ${id}, in place`,
            reading: { want, now },
          }
      }
    },
    async apply(ctx, s, read) {
      const want = read?.want ?? (wantedBootstrap(ctx.config) as Bootstrap)
      const id = s.bastion!.InstanceId!
      const timeoutMs = Math.min(ctx.config.waitTimeoutMs, 900_000)
      let now = read?.now
      // Launched with it as user data (or a bootstrap running): cloud-init runs it once, so its end is waited for.
      if (!now || now.state === 'running' || now.state === 'offline') {
        now = await waitForBootstrap(ctx.aws.ssm, id, want.version, { timeoutMs, log: ctx.log })
        if (now.state === 'done') return `bootstrap ${want.version} finished on ${id} at first boot (its marker says so)`
        if (now.state === 'failed')
          throw failure(
            want,
            id,
            now.code,
            now.reading,
            now.reading.cloudInit ? `cloud-init: ${now.reading.cloudInit}` : 'while 01 waited for it',
          )
      }
      // Failed before, another version, or none: the bootstrap again, through SSM Run Command.
      const output = { stdout: '', stderr: '' }
      const { code, commandId } = await runRemote(
        ctx.aws.ssm,
        id,
        want.script,
        `scalardl-runbook bootstrap ${want.version}`,
        { stdout: (x) => (output.stdout += x), stderr: (x) => (output.stderr += x) },
        { timeoutMs, log: ctx.log },
      )
      const after = await readBootstrap(ctx.aws.ssm, id, want.version)
      if (code !== 0 || after.state !== 'done') {
        const r = after.state === 'offline' ? undefined : after.reading
        throw r
          ? failure(want, id, code || 1, r, `SSM command ${commandId}`)
          : new RunbookError(
              `bootstrap ${want.version} on ${id} (SSM command ${commandId}) exited ${code}: ${(output.stderr || output.stdout).slice(-500)}`,
              RERUN_HINT,
            )
      }
      await ctx.aws.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: BOOTSTRAP_TAG, Value: want.version }] }))
      return `bootstrap ${want.version} ran on ${id} (SSM command ${commandId}); its marker says it is installed`
    },
    hint: `the bastion must be online in Systems Manager (its role has AmazonSSMManagedInstanceCore); the bootstrap's log is ${BOOTSTRAP_LOG} on it`,
  }
}
