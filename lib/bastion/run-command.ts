// A script run on an instance through SSM Run Command (AWS-RunShellScript), followed to its end:
// 01's bootstrap of the bastion and `npm run bastion -- push|run` share it. SSM only, so a step
// that needs it loads no more of the SDK.
import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm'
import { isAwsError } from '../aws/clients.ts'
import type { Logger } from '../log.ts'
import { waitFor } from '../wait.ts'

/**
 * Sends a script to the bastion and follows it with the one wait helper: new output as it arrives
 * (GetCommandInvocation holds the first 24,000 characters of each stream), then the exit code.
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
  const seen = { stdout: 0, stderr: 0 }
  const code = await waitFor(
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
      const stdout = inv.StandardOutputContent ?? ''
      const stderr = inv.StandardErrorContent ?? ''
      if (stdout.length > seen.stdout) out.stdout(stdout.slice(seen.stdout))
      if (stderr.length > seen.stderr) out.stderr(stderr.slice(seen.stderr))
      seen.stdout = stdout.length
      seen.stderr = stderr.length
      const status = inv.Status ?? 'Pending'
      const done = ['Success', 'Failed', 'Cancelled', 'TimedOut'].includes(status)
      return { done, status, value: status === 'Success' ? 0 : inv.ResponseCode && inv.ResponseCode > 0 ? inv.ResponseCode : 1 }
    },
  )
  return { code: code ?? 1, commandId }
}
