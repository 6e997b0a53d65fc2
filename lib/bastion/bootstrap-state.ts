// Whether the bastion's bootstrap is known to have worked, read on the bastion through SSM Run
// Command: the markers bastion/bootstrap.sh writes ($STATE/bootstrap-version last, once all is
// installed; bootstrap-failed when it stopped short; bootstrap-running while it runs), what
// cloud-init says while the instance boots, and the end of the bootstrap's log. 01-vpc judges the
// bastion by it (not by the instance's tag, written at launch before anything ran), and
// `npm run bastion -- push` waits for it.
import type { SSMClient } from '@aws-sdk/client-ssm'
import { isAwsError } from '../aws/clients.ts'
import { RunbookError } from '../engine/errors.ts'
import type { Logger } from '../engine/log.ts'
import { waitFor } from '../engine/wait.ts'
import { runShort } from './run-command.ts'

export const BOOTSTRAP_LOG = '/var/log/scalardl-runbook-bootstrap.log'
/** How many lines of the bootstrap's log are brought back when it failed. */
const LOG_TAIL_LINES = 25
const HEADER = 'scalardl-runbook-bootstrap-state 1'

/**
 * What the bastion says: read only (cat, tail, kill -0, cloud-init status), the same prefix and log
 * as bootstrap.sh (BOOTSTRAP_PREFIX and BOOTSTRAP_LOG where set, as on the simulated host).
 */
const READ_SCRIPT = [
  'PREFIX="${BOOTSTRAP_PREFIX:-/usr/local}"',
  `LOG="\${BOOTSTRAP_LOG:-${BOOTSTRAP_LOG}}"`,
  'S="$PREFIX/lib/scalardl-runbook"',
  `echo '${HEADER}'`,
  'echo "installed=$(cat "$S/bootstrap-version" 2>/dev/null)"',
  'echo "failed=$(cat "$S/bootstrap-failed" 2>/dev/null)"',
  'running=""',
  'if [ -f "$S/bootstrap-running" ]; then',
  '  read -r v p < "$S/bootstrap-running" || true',
  '  if [ -n "${p:-}" ] && kill -0 "$p" 2>/dev/null; then running="$v"; else running="$v stopped"; fi',
  'fi',
  'echo "running=$running"',
  // cloud-init's own view, its `status` subcommand (cloud-init(1), https://man.archlinux.org/man/extra/cloud-init/cloud-init.1.en):
  // `status: running` (or `not started`) while it boots the instance, then `done`, or `error` when a
  // stage such as the user data script failed (canonical/cloud-init#5903 shows the same status as JSON).
  'echo "cloud-init=$(cloud-init status 2>/dev/null | sed -n \'s/^status: //p\' | head -n 1)"',
  `echo "log=$LOG"`,
  `tail -n ${LOG_TAIL_LINES} "$LOG" 2>/dev/null || true`,
].join('\n')

export interface BootstrapReading {
  /** The version whose marker says all is installed. */
  installed?: string
  /** The version that stopped short, and its exit code. */
  failed?: { version: string; code: number }
  /** The version running now; `stopped` when its process is gone without an end (killed). */
  running?: { version: string; stopped: boolean }
  /** `cloud-init status` (running, not started, done, error), when the instance has cloud-init. */
  cloudInit?: string
  /** Where the log is on the bastion, and its last lines. */
  log: string
  logTail: string
}

function parseReading(out: string): BootstrapReading | undefined {
  const lines = out.split('\n')
  if (lines[0]?.trim() !== HEADER) return undefined
  const field = (k: string) =>
    lines
      .find((l) => l.startsWith(`${k}=`))
      ?.slice(k.length + 1)
      .trim() || undefined
  const logAt = lines.findIndex((l) => l.startsWith('log='))
  const failed = field('failed')?.split(/\s+/)
  const running = field('running')?.split(/\s+/)
  return {
    installed: field('installed'),
    failed: failed?.[0] ? { version: failed[0], code: Number(failed[1] ?? 1) } : undefined,
    running: running?.[0] ? { version: running[0], stopped: running[1] === 'stopped' } : undefined,
    cloudInit: field('cloud-init'),
    log: field('log') ?? BOOTSTRAP_LOG,
    logTail:
      logAt >= 0
        ? lines
            .slice(logAt + 1)
            .join('\n')
            .trimEnd()
        : '',
  }
}

/**
 * The bootstrap as judged for the wanted version: `done` (its marker says so), `running` (it runs,
 * or cloud-init has not finished booting the instance: wait), `failed` (it stopped short: its log
 * says why), `absent` (neither is coming: another version or none is installed, it was killed, or
 * the instance was not launched with it), `offline` (the SSM agent does not answer yet).
 */
export type BootstrapState =
  | { state: 'done'; reading: BootstrapReading }
  | { state: 'running'; reading: BootstrapReading; status: string }
  | { state: 'failed'; reading: BootstrapReading; code: number }
  | { state: 'absent'; reading: BootstrapReading }
  | { state: 'offline'; status: string }

function judge(r: BootstrapReading, want: string): BootstrapState {
  if (r.installed === want) return { state: 'done', reading: r }
  if (r.running && !r.running.stopped) return { state: 'running', reading: r, status: `bootstrap ${r.running.version} running` }
  if (r.failed?.version === want) return { state: 'failed', reading: r, code: r.failed.code }
  if (r.cloudInit === 'running' || r.cloudInit === 'not started')
    return { state: 'running', reading: r, status: `cloud-init ${r.cloudInit}, bootstrap ${want} not started yet` }
  return { state: 'absent', reading: r }
}

/** One reading through SSM Run Command (a read: it changes nothing on the bastion). */
export async function readBootstrap(ssm: SSMClient, instanceId: string, want: string): Promise<BootstrapState> {
  let out: string
  try {
    out = await runShort(ssm, instanceId, READ_SCRIPT, 'bootstrap state')
  } catch (e) {
    // SendCommand to an instance whose SSM agent has not registered yet (it starts with the instance):
    // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html (InvalidInstanceId).
    if (isAwsError(e, 'InvalidInstanceId', 'InvalidInstanceIdException'))
      return { state: 'offline', status: `the SSM agent on ${instanceId} is not online yet` }
    throw e
  }
  const r = parseReading(out)
  if (!r)
    throw new RunbookError(
      `reading the bootstrap's marker on ${instanceId} through SSM Run Command printed nothing it could read (${JSON.stringify(out.slice(0, 200))})`,
      'the bastion must run SSM commands (its role has AmazonSSMManagedInstanceCore); npm run bastion -- shell, then see /var/log/amazon/ssm/amazon-ssm-agent.log',
    )
  return judge(r, want)
}

/** Waits, with progress, while the bootstrap runs (or cloud-init boots, or the agent comes online); the state it ends in. */
export async function waitForBootstrap(
  ssm: SSMClient,
  instanceId: string,
  want: string,
  o: { timeoutMs: number; log?: Logger },
): Promise<Exclude<BootstrapState, { state: 'running' } | { state: 'offline' }>> {
  const end = await waitFor(
    {
      what: `the bootstrap ${want} on ${instanceId} to finish`,
      timeoutMs: o.timeoutMs,
      log: o.log,
      intervalMs: 1000,
      maxIntervalMs: 10_000,
      hint: `rerun the step to wait again; the bootstrap's log is ${BOOTSTRAP_LOG} on the bastion (npm run bastion -- shell)`,
    },
    async () => {
      const s = await readBootstrap(ssm, instanceId, want)
      if (s.state === 'running' || s.state === 'offline') return { done: false, status: s.status }
      return { done: true, status: s.state, value: s }
    },
  )
  return end!
}

/** The end of the log, as printed for the operator: indented, each line. */
export function logTail(r: BootstrapReading): string {
  const tail = r.logTail || '(the log is empty or missing)'
  return `the end of ${r.log}:\n${tail
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}`
}
