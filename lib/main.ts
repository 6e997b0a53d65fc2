import path from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * True when the module is the script node was started with (not imported by a test or another
 * script). `name` is the module's own file name without extension: in an ahead-of-time bundle,
 * modules inlined into an entry share its URL (07-verify's bundle holds every check, each of which
 * can also run alone), so the URL alone cannot tell which one was started.
 */
export function isMain(metaUrl: string, name: string): boolean {
  const entry = process.argv[1]
  if (!entry || metaUrl !== pathToFileURL(entry).href) return false
  return path.basename(entry).replace(/\.(ts|mjs|js)$/, '') === name
}

/**
 * `npm run deploy` starts a step's process before its turn, so that loading its modules overlaps
 * the steps it waits for. With RUNBOOK_START_GATE=stdin the step waits for one line on stdin: a
 * JSON object of environment variables to set (the deploy's run id), then runs. If stdin closes
 * first, the deploy did not need the step (a step before it failed): it exits 0, having done
 * nothing. Without the variable it returns at once.
 */
export async function startGate(): Promise<void> {
  if (process.env.RUNBOOK_START_GATE !== 'stdin') return
  delete process.env.RUNBOOK_START_GATE
  const line = await new Promise<string | undefined>((resolve) => {
    let text = ''
    const onData = (d: Buffer) => {
      text += d
      const nl = text.indexOf('\n')
      if (nl >= 0) done(text.slice(0, nl))
    }
    const done = (value: string | undefined) => {
      process.stdin.off('data', onData).off('end', onEnd).pause()
      resolve(value)
    }
    const onEnd = () => done(undefined)
    process.stdin.on('data', onData).on('end', onEnd)
  })
  if (line === undefined) process.exit(0)
  Object.assign(process.env, JSON.parse(line) as Record<string, string>)
}
