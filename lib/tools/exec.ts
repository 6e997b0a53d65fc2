// The command runner the CLI wrappers take, so tests can point them at the simulator or at a
// fake. The default runs the command with zx, without a shell interpreting the arguments' content
// (zx quotes each one), and never throws on a non-zero exit: the wrappers decide.
import { $ } from 'zx/core'
import { RunbookError } from '../engine/errors.ts'
import { redactText } from '../engine/redact.ts'

export interface RunOptions {
  /** Written to the command's stdin: the way secrets reach a command, never argv. */
  input?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

export interface RunResult {
  stdout: string
  stderr: string
  exitCode: number | null
}

export type CommandRunner = (command: string, args: string[], opts?: RunOptions) => Promise<RunResult>

export const zxRunner: CommandRunner = async (command, args, opts = {}) => {
  const env = opts.env ?? process.env
  const p = $({
    quiet: true,
    nothrow: true,
    input: opts.input,
    // zx runs the command through bash with stdin on a socket pair. A bash at shell level 1 with
    // stdin on a socket takes itself for a remote shell and sources ~/.bashrc (pyenv init, nvm,
    // ...): slow, and it can hang on such tools' lock files. SHLVL=1 makes its level 2.
    env: env.SHLVL ? env : { ...env, SHLVL: '1' },
    timeout: opts.timeoutMs,
  })`${command} ${args}`
  const out = await p
  return { stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode }
}

/** A command line for messages, redacted. */
export function formatCommand(command: string, args: string[]): string {
  return redactText([command, ...args].map((a) => (/^[\w/.\-+@:=,%]+$/.test(a) ? a : JSON.stringify(a))).join(' '))
}

/**
 * Refuses to put a secret on a command line, where `ps` and shell history would show it.
 * Secrets go on stdin (RunOptions.input) or in files with mode 600.
 */
export function assertNoSecretsInArgs(command: string, args: string[], secrets: (string | undefined)[]): void {
  for (const s of secrets) {
    if (s && args.some((a) => a.includes(s))) {
      throw new RunbookError(`refusing to pass a secret on the command line of ${command}`, 'pass it on stdin or in a file with mode 600')
    }
  }
}
