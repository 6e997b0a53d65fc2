// The one wait helper: polls with a backing-off interval until a deadline, shows progress,
// and on timeout says what it last saw. The interval grows with the time already waited (a
// fortieth of it, between a floor and a ceiling), so a wait ends at most about 2.5 % after the
// thing it waits for, whether that takes seconds (the simulator) or 15 minutes (EKS, polled every
// 15 s at most), without polling AWS more than needed.
import { RunbookError } from './errors.ts'
import type { Logger } from './log.ts'
import { formatDuration } from './log.ts'

interface Poll<T> {
  /** true when the wait is over; status is what was seen, for progress and for the timeout message. */
  done: boolean
  status: string
  value?: T
  /** Stop waiting at once: the state can no longer become the wanted one (e.g. a failed NAT gateway). */
  failed?: string
}

interface WaitOptions {
  /** What is being waited for, e.g. "NAT gateway nat-0123 to be available". */
  what: string
  timeoutMs: number
  log?: Logger
  /** Shortest interval (default 200 ms); the interval is a fortieth of the time waited so far, at least this. */
  intervalMs?: number
  /** Longest interval (default 15 s). */
  maxIntervalMs?: number
  hint?: string
}

export class WaitTimeoutError extends RunbookError {
  constructor(
    what: string,
    readonly lastSeen: string,
    elapsedMs: number,
    hint?: string,
  ) {
    super(
      `timed out after ${formatDuration(elapsedMs)} waiting for ${what}; last seen: ${lastSeen || 'nothing yet'}`,
      hint ?? 'rerun the step: it picks up where the wait stopped',
    )
    this.name = 'WaitTimeoutError'
  }
}

/** The one sleep: for back-off between attempts (lib/tools/tool.ts) and between polls here. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function waitFor<T>(opts: WaitOptions, poll: () => Promise<Poll<T>>): Promise<T | undefined> {
  const start = Date.now()
  const deadline = start + opts.timeoutMs
  const minInterval = opts.intervalMs ?? 200
  const maxInterval = opts.maxIntervalMs ?? 15000
  let progress: ReturnType<Logger['progress']> | undefined
  let last = ''
  try {
    for (;;) {
      const p = await poll()
      last = p.status
      if (p.done) return p.value
      if (p.failed) throw new RunbookError(`${opts.what}: ${p.failed}`, opts.hint)
      const now = Date.now()
      if (now >= deadline) throw new WaitTimeoutError(opts.what, last, now - start, opts.hint)
      progress ??= opts.log?.progress(opts.what)
      progress?.update(last)
      const interval = Math.min(maxInterval, Math.max(minInterval, (now - start) / 40))
      await sleep(Math.min(interval, deadline - now))
    }
  } finally {
    progress?.done()
  }
}
