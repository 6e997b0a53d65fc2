// The base of the kubectl, helm and eksctl wrappers: run through the injected runner, raise one
// typed error, and parse JSON from stdout only (these CLIs print warnings on stderr).
import { CommandError } from '../engine/errors.ts'
import { assertNoSecretsInArgs, formatCommand, zxRunner, type CommandRunner, type RunOptions, type RunResult } from './exec.ts'
import { registeredSecrets } from '../engine/redact.ts'
import { sleep } from '../engine/wait.ts'

export interface ToolOptions {
  /** The command or its path, e.g. "kubectl" or "/usr/local/bin/helm". */
  command: string
  runner?: CommandRunner
  /** Added to every invocation, e.g. ["--context", "ledger"]. */
  baseArgs?: string[]
  /** Added before baseArgs, worked out afresh for each invocation (e.g. a kubeconfig holding a short-lived token). */
  argsNow?: () => Promise<string[]>
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  /** Retries of transient failures (default: TRANSIENT_RETRY); { attempts: 1 } turns them off. */
  retry?: RetryPolicy
  /** Told about each retry (default: a plain line on stderr). */
  onRetry?: (what: string) => void
}

interface RetryPolicy {
  /** Runs in all, the first included. */
  attempts: number
  /** First delay; doubled each time, with jitter. */
  baseDelayMs: number
  maxDelayMs: number
  /** "another operation is in progress": waited out up to this long in all. */
  busyWaitMs: number
}

export const TRANSIENT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 8000, busyWaitMs: 90_000 }

/**
 * Failures worth retrying: the API or a network hop was briefly unavailable, or AWS throttled.
 * Everything else (NotFound, Forbidden, invalid input, AlreadyExists, a failed Job, ...) is
 * permanent and surfaces at once.
 */
const TRANSIENT = [
  /connection refused/i,
  /connection reset by peer/i,
  // Go's client, writing on a connection the server side reset (a kept-alive one, reused).
  /use of closed network connection|broken pipe/i,
  /i\/o timeout|TLS handshake timeout|Client\.Timeout exceeded|context deadline exceeded/i,
  /unexpected EOF|http2: server sent GOAWAY|\bEOF\b$/im,
  /the server is currently unable to handle the request|ServiceUnavailable/i,
  /Internal error occurred|the server was unable to return a response|InternalError/i,
  /etcdserver: (leader changed|request timed out)/i,
  /\b(Throttling|ThrottlingException|RequestLimitExceeded|TooManyRequests)\b|Rate exceeded|too many requests/i,
  /\b(502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout)\b/i,
  // kubectl's client-side validation and discovery, when the API server did not answer in time.
  /failed to download openapi|couldn't get (current server API group list|resource list)/i,
]
/** helm's lock on a release: another install, upgrade or rollback is running. */
const BUSY = /another operation \(install\/upgrade\/rollback\) is in progress/i

/** Why a failure is transient (the matching line), or undefined when it is permanent. */
export function transientReason(output: string): { reason: string; busy: boolean } | undefined {
  if (BUSY.test(output)) return { reason: 'another operation is in progress on the release', busy: true }
  const line = output.split('\n').find((l) => TRANSIENT.some((p) => p.test(l)))
  return line ? { reason: line.trim().slice(0, 200), busy: false } : undefined
}

export class Tool {
  readonly command: string
  protected readonly runner: CommandRunner
  protected readonly baseArgs: string[]

  constructor(protected readonly opts: ToolOptions) {
    this.command = opts.command
    this.runner = opts.runner ?? zxRunner
    this.baseArgs = opts.baseArgs ?? []
  }

  /** Hint for a failure of this CLI, from its error output. */
  protected hint(_stderr: string, _args: string[]): string | undefined {
    return undefined
  }

  /**
   * Runs and returns the result whatever the exit code. A transient failure (see TRANSIENT) is
   * retried with backoff, a bounded number of times; helm's "another operation is in progress"
   * is waited out up to busyWaitMs. The last result is returned as it is.
   */
  async exec(args: string[], opts: RunOptions = {}, policy: RetryPolicy = this.opts.retry ?? TRANSIENT_RETRY): Promise<RunResult> {
    const all = [...((await this.opts.argsNow?.()) ?? []), ...this.baseArgs, ...args]
    assertNoSecretsInArgs(this.command, all, registeredSecrets())
    const started = Date.now()
    let delay = policy.baseDelayMs
    for (let attempt = 1; ; attempt++) {
      let res: RunResult
      try {
        res = await this.runner(this.command, all, { env: this.opts.env, timeoutMs: this.opts.timeoutMs, ...opts })
      } catch (err) {
        throw new CommandError(formatCommand(this.command, all), null, (err as Error).message, `is ${this.command} installed and on PATH?`)
      }
      if (res.exitCode === 0) return res
      const why = transientReason(`${res.stderr}\n${res.stdout}`)
      const more = why?.busy ? Date.now() - started + delay < policy.busyWaitMs : attempt < policy.attempts
      if (!why || !more) return res
      const wait = Math.min(delay, policy.maxDelayMs) * (0.75 + Math.random() * 0.5)
      ;(this.opts.onRetry ?? ((w) => process.stderr.write(`    … ${w}\n`)))(
        `${formatCommand(this.command, all).slice(0, 120)} failed (${why.reason}); retry ${attempt} in ${Math.round(wait)} ms`,
      )
      await sleep(wait)
      delay *= 2
    }
  }

  /** Runs and throws CommandError on a non-zero exit. */
  async run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return this.ensureOk(await this.exec(args, opts), args)
  }

  /** Runs and parses stdout as JSON. */
  async json<T>(args: string[], opts: RunOptions = {}): Promise<T> {
    return this.parse<T>(await this.exec(args, opts), args)
  }

  /** What a failed run said about why: its error output, else its output. */
  protected failureOutput(res: RunResult): string {
    return res.stderr || res.stdout
  }

  /** Throws the typed error for a failed result. */
  protected ensureOk(res: RunResult, args: string[]): RunResult {
    if (res.exitCode !== 0) {
      const all = [...this.baseArgs, ...args]
      const output = this.failureOutput(res)
      throw new CommandError(formatCommand(this.command, all), res.exitCode, output, this.hint(output, args))
    }
    return res
  }

  /** Parses the stdout of a result already obtained, throwing the typed error on failure. */
  protected parse<T>(res: RunResult, args: string[]): T {
    this.ensureOk(res, args)
    return parseJsonOutput<T>(res.stdout, formatCommand(this.command, [...this.baseArgs, ...args]))
  }
}

export function parseJsonOutput<T>(stdout: string, command: string): T {
  try {
    return JSON.parse(stdout) as T
  } catch {
    throw new CommandError(
      command,
      0,
      `output was not JSON: ${stdout.slice(0, 200)}`,
      'the tool may be too old or too new for this runbook; run 00-preflight',
    )
  }
}
