// A script run on an instance through SSM Run Command (AWS-RunShellScript), followed to its end:
// 01's bootstrap of the bastion and `npm run bastion -- push|run` share it. SSM only, so a step
// that needs it loads no more of the SDK.
import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm'
import { isAwsError, READ_COMMENT } from '../aws/clients.ts'
import type { Logger } from '../engine/log.ts'
import { waitFor } from '../engine/wait.ts'

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
  o: {
    timeoutMs?: number
    log?: Logger
    /**
     * Follow a log the script writes while it runs: `read(offset)` is the script that prints the
     * log from that byte on; `print` gets each new run of whole lines. Then the command's own
     * output is not printed (the log has it), but for `keepStdout` (a --json result).
     */
    follow?: { read: (offset: number) => string; print: (s: string) => void; keepStdout?: boolean }
  } = {},
): Promise<{ code: number; commandId: string; status?: string; followed?: boolean }> {
  const timeoutMs = o.timeoutMs ?? 3_600_000
  const commandId = await send(ssm, instanceId, script, comment, timeoutMs)
  let running = true
  const following = o.follow ? follow(ssm, instanceId, o.follow, () => running) : undefined
  const ended = await waitFor(
    { what: `${comment} on ${instanceId} (SSM command ${commandId})`, timeoutMs, log: o.log, maxIntervalMs: 2000 },
    () => invocation(ssm, commandId, instanceId),
  )
  running = false
  // The rest of the log, read to its end; a follow that failed leaves the command's own output to print.
  const followed = following
    ? await following.then(
        () => true,
        () => false,
      )
    : false
  if (ended?.StandardOutputContent && (!followed || o.follow?.keepStdout)) out.stdout(ended.StandardOutputContent)
  if (ended?.StandardErrorContent && !followed) out.stderr(ended.StandardErrorContent)
  const code = ended?.Status === 'Success' ? 0 : ended?.ResponseCode && ended.ResponseCode > 0 ? ended.ResponseCode : 1
  return { code, commandId, status: ended?.Status, followed }
}

/** Sends a script to the instance through AWS-RunShellScript; returns the command's id. */
async function send(ssm: SSMClient, instanceId: string, script: string, comment: string, timeoutMs: number): Promise<string> {
  const sent = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [instanceId],
      DocumentName: 'AWS-RunShellScript',
      Comment: comment.slice(0, 100),
      Parameters: { commands: [script], executionTimeout: [String(Math.ceil(timeoutMs / 1000))] },
    }),
  )
  return sent.Command!.CommandId!
}

/** One reading of a command's invocation, as the wait helper polls it: done once it has ended. */
async function invocation(ssm: SSMClient, commandId: string, instanceId: string) {
  let inv
  try {
    inv = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }))
  } catch (e) {
    // Just sent: SSM may not know the invocation yet.
    if (isAwsError(e, 'InvocationDoesNotExist')) return { done: false, status: 'not registered yet' }
    throw e
  }
  const status = inv.Status ?? 'Pending'
  return { done: ['Success', 'Failed', 'Cancelled', 'TimedOut'].includes(status), status, value: inv }
}

/**
 * One short command that only reads, followed to its end; its stdout (SSM returns it only then).
 * Its comment starts with READ_COMMENT, which the call journal counts as a read (lib/aws/clients.ts).
 */
export async function runShort(ssm: SSMClient, instanceId: string, script: string, what = 'follow'): Promise<string> {
  const id = await send(ssm, instanceId, script, `${READ_COMMENT}${what}`, 60_000)
  const inv = await waitFor({ what: `a read of ${what}`, timeoutMs: 90_000, maxIntervalMs: 1000 }, () => invocation(ssm, id, instanceId))
  if (inv?.Status !== 'Success') throw new Error(`reading ${what}: ${inv?.Status}`)
  return inv.StandardOutputContent ?? ''
}

/**
 * Reads the log while the command runs (every 1 s at first, then up to every 10 s) and, once it
 * has ended, to its end. Only whole lines are printed; the offset counts their bytes, so a cut in
 * the middle of a line (or of a character) is read again next time.
 */
async function follow(
  ssm: SSMClient,
  instanceId: string,
  f: { read: (offset: number) => string; print: (s: string) => void },
  running: () => boolean,
): Promise<void> {
  let offset = 0
  let pause = 1000
  const readMore = async (last = false): Promise<number> => {
    const chunk = await runShort(ssm, instanceId, f.read(offset))
    const end = chunk.lastIndexOf('\n')
    // Once the command has ended, a last line without its newline is whole too.
    const whole = end >= 0 ? chunk.slice(0, end + 1) : last && chunk ? `${chunk}\n` : ''
    if (whole) {
      f.print(whole)
      offset += Buffer.byteLength(end >= 0 ? whole : chunk)
    }
    return whole.length
  }
  while (running()) {
    const started = Date.now()
    while (running() && Date.now() - started < pause) await new Promise((r) => setTimeout(r, 100))
    if (!running()) break
    await readMore()
    pause = Math.min(pause * 2, 10_000)
  }
  while ((await readMore(true)) > 0);
}
