// Human output, on stderr (stdout is kept for --json). Colours and the spinner only on a
// terminal; plain ✓/✗ lines in CI and in pipes.
import chalk from 'chalk'
import { redactText } from './redact.ts'
import type { TaskStatus } from './status.ts'

interface Output {
  write(text: string): unknown
  isTTY?: boolean
}

const MARK: Record<TaskStatus, string> = { ok: '✓', changed: '~', planned: '+', failed: '✗', skipped: '-' }
const COLOUR: Record<TaskStatus, (s: string) => string> = {
  ok: chalk.green,
  changed: chalk.yellow,
  planned: chalk.cyan,
  failed: chalk.red,
  skipped: chalk.gray,
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)}s`
  const m = Math.floor(s / 60)
  return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`
}

interface Progress {
  /** Report the status last seen. */
  update(status: string): void
  done(): void
}

export class Logger {
  readonly interactive: boolean
  private spinnerLine = false

  constructor(
    private readonly out: Output = process.stderr,
    interactive?: boolean,
  ) {
    this.interactive = interactive ?? (Boolean(out.isTTY) && !process.env.CI)
  }

  private line(text: string): void {
    this.clearSpinner()
    this.out.write(redactText(text) + '\n')
  }

  private clearSpinner(): void {
    if (this.spinnerLine) {
      this.out.write('\r\x1b[2K')
      this.spinnerLine = false
    }
  }

  header(step: string, description: string, context: string): void {
    this.line(`${chalk.bold(`▶ ${step}`)}  ${description}`)
    this.line(chalk.gray(`  ${context}`))
  }

  task(status: TaskStatus, title: string, detail?: string): void {
    const label = COLOUR[status](`${MARK[status]} ${status.padEnd(7)}`)
    this.line(`  ${label} ${title}${detail ? chalk.gray(`  ${detail}`) : ''}`)
  }

  info(text: string): void {
    this.line(`  ${text}`)
  }

  warn(text: string): void {
    this.line(`  ${chalk.yellow('!')} ${text}`)
  }

  error(text: string): void {
    this.line(chalk.red(text))
  }

  plain(text: string): void {
    this.line(text)
  }

  /**
   * Progress of a wait: a spinner with the elapsed time and last status on a terminal,
   * otherwise a plain line when the status changes and at most every 15 s.
   */
  progress(what: string): Progress {
    const start = Date.now()
    let status = ''
    let lastPrinted = 0
    let frame = 0
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
    const render = () => {
      const elapsed = formatDuration(Date.now() - start)
      const text = `    … waiting for ${what} (${elapsed}${status ? `, last seen: ${status}` : ''})`
      if (this.interactive) {
        this.out.write(`\r\x1b[2K${chalk.cyan(frames[frame++ % frames.length])} ${redactText(text.trim())}`)
        this.spinnerLine = true
      } else {
        this.line(text)
      }
      lastPrinted = Date.now()
    }
    const timer = this.interactive ? setInterval(render, 120) : undefined
    timer?.unref()
    return {
      update: (next: string) => {
        const changed = next !== status
        status = next
        if (!this.interactive && (changed || Date.now() - lastPrinted > 15000)) render()
      },
      done: () => {
        if (timer) clearInterval(timer)
        this.clearSpinner()
      },
    }
  }
}
