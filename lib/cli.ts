// The base of the kubectl, helm and eksctl wrappers: run through the injected runner, raise one
// typed error, and parse JSON from stdout only (these CLIs print warnings on stderr).
import { CommandError } from './errors.ts'
import { assertNoSecretsInArgs, formatCommand, zxRunner, type CommandRunner, type RunOptions, type RunResult } from './exec.ts'
import { registeredSecrets } from './redact.ts'

export interface CliOptions {
  /** The command or its path, e.g. "kubectl" or "/usr/local/bin/helm". */
  command: string
  runner?: CommandRunner
  /** Added to every invocation, e.g. ["--context", "ledger"]. */
  baseArgs?: string[]
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

export class Cli {
  readonly command: string
  protected readonly runner: CommandRunner
  protected readonly baseArgs: string[]

  constructor(protected readonly opts: CliOptions) {
    this.command = opts.command
    this.runner = opts.runner ?? zxRunner
    this.baseArgs = opts.baseArgs ?? []
  }

  /** Hint for a failure of this CLI, from its error output. */
  protected hint(_stderr: string, _args: string[]): string | undefined {
    return undefined
  }

  /** Runs and returns the result whatever the exit code. */
  async exec(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const all = [...this.baseArgs, ...args]
    assertNoSecretsInArgs(this.command, all, registeredSecrets())
    try {
      return await this.runner(this.command, all, { env: this.opts.env, timeoutMs: this.opts.timeoutMs, ...opts })
    } catch (err) {
      throw new CommandError(formatCommand(this.command, all), null, (err as Error).message, `is ${this.command} installed and on PATH?`)
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

  /** Throws the typed error for a failed result. */
  protected ensureOk(res: RunResult, args: string[]): RunResult {
    if (res.exitCode !== 0) {
      const all = [...this.baseArgs, ...args]
      throw new CommandError(formatCommand(this.command, all), res.exitCode, res.stderr || res.stdout, this.hint(res.stderr, args))
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
    throw new CommandError(command, 0, `output was not JSON: ${stdout.slice(0, 200)}`, 'the tool may be too old or too new for this runbook; run 00-preflight')
  }
}
