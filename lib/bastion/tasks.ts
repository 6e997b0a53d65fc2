// The bastion's tools as a task of 01-vpc: a new bastion gets them at first boot (its user data);
// one whose bootstrap tag differs from the wanted bootstrap (bastion/tools.json changed, or
// KUBERNETES_VERSION moved kubectl) gets the new bootstrap through SSM Run Command, in place.
import { CreateTagsCommand } from '@aws-sdk/client-ec2'
import { isArm } from '../aws/bastion.ts'
import type { Config, ConfigProblem } from '../config.ts'
import { RunbookError } from '../errors.ts'
import type { NetworkState, TargetOf } from '../network/target.ts'
import type { Task } from '../task.ts'
import { BOOTSTRAP_TAG, loadManifest, renderBootstrap, type Bootstrap } from './bootstrap.ts'
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

export function bastionToolsTask(target: TargetOf): Task<NetworkState, Bootstrap> {
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
      if (!s.bastion) return { holds: false, detail: `at the bastion's first boot: ${tools}`, reading: want }
      const has = s.bastion.Tags?.find((x) => x.Key === BOOTSTRAP_TAG)?.Value
      if (has === want.version) return { holds: true, detail: `bootstrap ${want.version}: ${tools}` }
      return {
        holds: false,
        detail: `bootstrap ${has ?? '(none)'} -> ${want.version} (${tools}) through SSM Run Command on ${s.bastion.InstanceId}, in place`,
        reading: want,
      }
    },
    async apply(ctx, s, read) {
      const want = read ?? (wantedBootstrap(ctx.config) as Bootstrap)
      const id = s.bastion!.InstanceId!
      const output = { stdout: '', stderr: '' }
      const { code, commandId } = await runRemote(
        ctx.aws.ssm,
        id,
        want.script,
        `scalardl-runbook bootstrap ${want.version}`,
        { stdout: (x) => (output.stdout += x), stderr: (x) => (output.stderr += x) },
        { timeoutMs: Math.min(ctx.config.waitTimeoutMs, 900_000), log: ctx.log },
      )
      if (code !== 0)
        throw new RunbookError(
          `bootstrap ${want.version} on ${id} (SSM command ${commandId}) exited ${code}: ${(output.stderr || output.stdout).slice(-500)}`,
          'see /var/log/scalardl-runbook-bootstrap.log on the bastion',
        )
      await ctx.aws.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: BOOTSTRAP_TAG, Value: want.version }] }))
      return `bootstrap ${want.version} ran on ${id} (SSM command ${commandId})`
    },
    hint: 'the bastion must be online in Systems Manager (its role has AmazonSSMManagedInstanceCore); the log is /var/log/scalardl-runbook-bootstrap.log on it',
  }
}
