// A script run on an instance through SSM Run Command (AWS-RunShellScript), followed to its end:
// 01's bootstrap of the bastion and `npm run bastion -- push|run` share it. SSM only, so a step
// that needs it loads no more of the SDK.
import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm'
import { isAwsError } from '../aws/clients.ts'
import type { Logger } from '../log.ts'
import { waitFor } from '../wait.ts'

/**
 * Sends a script to the bastion and follows it with the one wait helper (its status meanwhile),
 * then prints its output and returns its exit code. SSM hands the output back only once the
 * command has ended, and only the first 24,000 characters of stdout and 8,000 of stderr
 * (boto/botocore@0e6e2404 botocore/data/ssm/2014-11-06/service-2.json:8386, 8394): a long run
 * keeps its whole output on the instance (lib/bastion/remote.ts runScript).
 */
export async function runRemote(
  ssm: SSMClient,
  instanceId: string,
  script: string,
  comment: string,
  out: { stdout: (s: string) => void; stderr: (s: string) => void },
  o: { timeoutMs?: number; log?: Logger } = {},
): Promise<{ code: number; commandId: string }> {
  const timeoutMs = o.timeoutMs ?? 3_600_000
  const sent = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [instanceId],
      DocumentName: 'AWS-RunShellScript',
      Comment: comment.slice(0, 100),
      Parameters: { commands: [script], executionTimeout: [String(Math.ceil(timeoutMs / 1000))] },
    }),
  )
  const commandId = sent.Command!.CommandId!
  const ended = await waitFor(
    { what: `${comment} on ${instanceId} (SSM command ${commandId})`, timeoutMs, log: o.log, maxIntervalMs: 2000 },
    async () => {
      let inv
      try {
        inv = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }))
      } catch (e) {
        // Just sent: SSM may not know the invocation yet.
        if (isAwsError(e, 'InvocationDoesNotExist')) return { done: false, status: 'not registered yet' }
        throw e
      }
      const status = inv.Status ?? 'Pending'
      const done = ['Success', 'Failed', 'Cancelled', 'TimedOut'].includes(status)
      return { done, status, value: inv }
    },
  )
  if (ended?.StandardOutputContent) out.stdout(ended.StandardOutputContent)
  if (ended?.StandardErrorContent) out.stderr(ended.StandardErrorContent)
  const code = ended?.Status === 'Success' ? 0 : ended?.ResponseCode && ended.ResponseCode > 0 ? ended.ResponseCode : 1
  return { code, commandId }
}
