// 07-verify's runner: every check at once, each with its own timeout; a checklist on stderr,
// `--json` on stdout, `--report FILE.md`; exit 0 all pass, 1 any fails, 2 cannot run. It runs on
// the steps' engine: their argument parser and usage text with 07's flags from the one table
// (lib/engine/steps.ts), their Logger, exit codes and journal (a record per run, each check as a task).
// A checklist is not a list of tasks, so its `--json` stays the documented array of checks.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import { parseArgs, usage as stepUsage, UsageError, type CommonArgs } from '../engine/args.ts'
import { STEP_FLAGS } from '../engine/steps.ts'
import { ConfigError, type Config } from '../config/load.ts'
import { loadConfigResolved } from '../secrets/parameters.ts'
import { ensureKubeconfig } from '../eks/kubeconfig.ts'
import { describeError } from '../engine/errors.ts'
import { appendJournal } from '../engine/journal.ts'
import { formatDuration, Logger } from '../engine/log.ts'
import { EXIT } from '../engine/runner.ts'
import { redact, redactText, registerEnvSecrets } from '../engine/redact.ts'
import { VerifyContext, type Check, type CheckResult } from './check.ts'

const TIMEOUT_MS = Number(process.env.VERIFY_CHECK_TIMEOUT_MS ?? 20000)

const STEP = '07-verify'
const DESCRIPTION = 'Step 7: the guide\'s confirmation checklist; what on-call runs to answer "is Scalar DL healthy?"'

function usage(names: string[]): string {
  return stepUsage(
    STEP,
    DESCRIPTION,
    STEP_FLAGS[STEP].stringFlags,
    [
      `Checks: ${names.join(', ')}`,
      '--json prints [{name, status: pass|fail|error, detail, hint, durationMs}] on stdout.',
      '--dry-run says which checks would run (after validating the configuration) and reads nothing; --yes is accepted: 07 changes nothing.',
      'Exit codes of 07: 0 every check passed, 1 a check failed, 2 cannot run (configuration, credentials, unreachable cluster).',
    ].join('\n'),
  )
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms))),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** The checks whose data arrives after a deployment settles (CloudWatch), which --settle asks again. */
const SETTLING = new Set(['logs', 'metrics'])

async function settle(first: CheckResult[], checks: Check[], v: VerifyContext, boundMs: number, log: Logger): Promise<CheckResult[]> {
  let results = first
  const deadline = Date.now() + boundMs
  const started = Date.now()
  let delay = 2000
  for (;;) {
    const waiting = results.filter((r) => r.status !== 'pass' && SETTLING.has(r.name))
    if (!waiting.length || Date.now() + delay > deadline) return results
    log.info(
      `… waiting for ${waiting.map((r) => r.name).join(' and ')} to settle (${Math.round((Date.now() - started) / 1000)} s of at most ${boundMs / 1000} s; last seen: ${waiting.map((r) => r.detail).join('; ')})`,
    )
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 30_000)
    const again = await Promise.all(checks.filter((c) => waiting.some((w) => w.name === c.name)).map((c) => runCheck(c, v)))
    results = results.map((r) => again.find((a) => a.name === r.name) ?? r)
  }
}

export async function runCheck(check: Check, v: VerifyContext): Promise<CheckResult> {
  const started = Date.now()
  try {
    const out = await withTimeout(check.run(v), TIMEOUT_MS, `the ${check.name} check`)
    return {
      name: check.name,
      status: out.ok ? 'pass' : 'fail',
      detail: redactText(out.detail),
      hint: out.ok ? '' : check.hint,
      durationMs: Date.now() - started,
    }
  } catch (err) {
    return { name: check.name, status: 'error', detail: describeError(err), hint: check.hint, durationMs: Date.now() - started }
  }
}

export function markdownReport(results: CheckResult[], config: Config): string {
  const failed = results.filter((r) => r.status !== 'pass')
  const lines = [
    `# Scalar DL verification: ${config.clusterName} (${config.region})`,
    '',
    `${new Date().toISOString()} · ${failed.length ? `**${failed.length} of ${results.length} checks failed**` : `all ${results.length} checks passed`}`,
    '',
    '| check | status | detail |',
    '|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.status === 'pass' ? 'pass' : `**${r.status}**`} | ${r.detail.replace(/\|/g, '\\|')} |`),
  ]
  if (failed.length) lines.push('', '## What to do', '', ...failed.map((r) => `- **${r.name}**: ${r.hint}`))
  return lines.join('\n') + '\n'
}

async function cannotRun(log: Logger, reason: string, json: boolean): Promise<never> {
  log.error(`✗ ${STEP} cannot run: ${redactText(reason)}`)
  if (json)
    await writeStdout([
      {
        name: 'preconditions',
        status: 'error',
        detail: redactText(reason),
        hint: 'ONCALL.md, "Cannot run (exit 2)"',
        durationMs: 0,
      },
    ])
  process.exit(EXIT.usage)
}

async function writeStdout(value: unknown): Promise<void> {
  await new Promise<void>((r) => process.stdout.write(JSON.stringify(redact(value)) + '\n', () => r()))
}

/** The checklist on stderr, as the steps print their tasks, and its closing line. */
function printResults(log: Logger, results: CheckResult[], ms: number): void {
  for (const r of results) {
    log.task(r.status === 'pass' ? 'ok' : 'failed', r.status === 'error' ? `${r.name} (error)` : r.name, r.detail)
    if (r.status !== 'pass') log.info(`    hint: ${r.hint}`)
  }
  const failed = results.filter((r) => r.status !== 'pass').length
  log.plain(`VERIFY ${STEP}: ${results.length - failed} of ${results.length} checks passed  (${formatDuration(ms)})`)
}

/** One journal record per checklist run: each check as a task (ok or failed), as the steps record theirs. */
function journal(log: Logger, v: VerifyContext, argv: string[], results: CheckResult[], durationMs: number): void {
  const failed = results.filter((r) => r.status !== 'pass').length
  try {
    appendJournal(v.config.stateDir, {
      ts: new Date().toISOString(),
      runId: randomUUID(),
      step: STEP,
      cluster: v.config.clusterName,
      region: v.config.region,
      dryRun: false,
      argv,
      status: failed ? 'failed' : 'ok',
      summary: { ok: results.length - failed, changed: 0, planned: 0, failed, skipped: 0 },
      tasks: results.map((r) => ({
        title: r.name,
        status: r.status === 'pass' ? 'ok' : 'failed',
        detail: r.detail,
        durationMs: r.durationMs,
      })),
      durationMs,
      awsCalls: v.aws.summary(),
    })
  } catch (err) {
    log.warn(`could not write the journal in ${v.config.stateDir}: ${describeError(err)}`)
  }
}

export async function verify(all: Check[], argv = process.argv.slice(2)): Promise<never> {
  const log = new Logger()
  const names = all.map((c) => c.name)
  const refuse = (message: string): never => {
    log.error(`${STEP}: ${message}`)
    log.plain(usage(names))
    process.exit(EXIT.usage)
  }
  let args: CommonArgs
  try {
    args = parseArgs(argv, [], Object.keys(STEP_FLAGS[STEP].stringFlags))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    return refuse(err.message)
  }
  if (args.help) {
    log.plain(usage(names))
    process.exit(EXIT.done)
  }
  for (const flag of ['settle', 'watch'])
    if (args.flags[flag] !== undefined && !/^\d{1,5}$/.test(String(args.flags[flag])))
      refuse(`--${flag} takes a whole number of seconds, not "${args.flags[flag]}"`)
  if (args.flags.watch !== undefined && Number(args.flags.watch) < 1) refuse('--watch needs at least 1 second between rounds')
  const only = args.flags.only
    ? String(args.flags.only)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : names
  const bad = only.filter((n) => !names.includes(n))
  if (bad.length) refuse(`unknown check ${bad.join(', ')}`)
  registerEnvSecrets()
  let config: Config
  try {
    config = await loadConfigResolved(args.envFile)
  } catch (err) {
    if (err instanceof ConfigError)
      return cannotRun(log, `${err.message}: ${err.problems.map((p) => `${p.key} ${p.message}`).join('; ')}`, args.json)
    throw err
  }
  const planned = all.filter((c) => only.includes(c.name) && (c.applies?.(config) ?? true))
  const context = `cluster ${config.clusterName} · region ${config.region} · config ${config.source}`
  if (args.dryRun) {
    // The common flag of every step: what would be checked, nothing read (npm run deploy -- --dry-run ends here).
    log.header(STEP, 'Step 7: Scalar DL health checklist', `${context} · DRY RUN: nothing is read`)
    for (const c of planned) log.task('planned', c.name, c.title)
    if (args.json) await writeStdout(planned.map((c) => ({ name: c.name, status: 'planned', detail: c.title, hint: '', durationMs: 0 })))
    process.exit(EXIT.done)
  }
  const v = new VerifyContext(config)
  // From any machine with access: the kubeconfig `aws eks update-kubeconfig` would write, if 03 never ran here.
  // (AWS not reachable: the precondition below says so, with the reason.)
  const kube = await ensureKubeconfig(v.aws.eks, config).catch(() => undefined)
  if (kube === 'no-cluster')
    return cannotRun(log, `no EKS cluster ${config.clusterName} in ${config.region} to check: run 03-eks`, args.json)
  // Preconditions, at once: AWS credentials and endpoint, and the cluster's API.
  const [awsOk, kubeOk] = await Promise.allSettled([
    withTimeout(v.aws.identity(), 10000, 'AWS'),
    withTimeout(v.cluster(), 15000, 'the Kubernetes API'),
  ])
  if (awsOk.status === 'rejected')
    return cannotRun(log, `AWS is not reachable or the credentials do not work: ${describeError(awsOk.reason)}`, args.json)
  if (kubeOk.status === 'rejected') return cannotRun(log, `the Kubernetes API is not reachable: ${describeError(kubeOk.reason)}`, args.json)

  const started = Date.now()
  let results = await Promise.all(planned.map((c) => runCheck(c, v)))
  // --settle: right after a deployment, CloudWatch data is still arriving (the agents publish every
  // minute, and the log groups fill as they do). Those checks are asked again while they fail, up
  // to the bound, saying so.
  const settleMs = Number(args.flags.settle ?? 0) * 1000
  if (settleMs > 0) results = await settle(results, planned, v, settleMs, log)
  log.header(STEP, 'Step 7: Scalar DL health checklist', context)
  printResults(log, results, Date.now() - started)
  journal(log, v, argv, results, Date.now() - started)
  if (args.flags.report) fs.writeFileSync(String(args.flags.report), markdownReport(results, config))
  if (args.json) await writeStdout(results)
  if (args.flags.watch !== undefined) await watch(results, planned, v, Number(args.flags.watch) * 1000, log, argv)
  process.exit(results.some((r) => r.status !== 'pass') ? EXIT.failed : EXIT.done)
}

/**
 * --watch: the checklist again every `everyMs`, printing only what changed since the round before
 * (a check that passes now, or fails, or fails differently), for watching a recovery; a round
 * that changed something is journaled. Ends on Ctrl-C (SIGINT) or SIGTERM with the exit code of
 * the last round.
 */
async function watch(
  first: CheckResult[],
  checks: Check[],
  v: VerifyContext,
  everyMs: number,
  log: Logger,
  argv: string[],
): Promise<never> {
  let last = first
  let stop = false
  const end = () => {
    stop = true
  }
  process.once('SIGINT', end)
  process.once('SIGTERM', end)
  log.plain(`watching: the checklist again every ${everyMs / 1000} s, changes only; Ctrl-C ends it`)
  for (let round = 2; !stop; round++) {
    const waited = Date.now()
    while (!stop && Date.now() - waited < everyMs) await new Promise((r) => setTimeout(r, Math.min(200, everyMs)))
    if (stop) break
    // A fresh read of the cluster each round (a context keeps its one snapshot); the AWS session stays.
    const fresh = new VerifyContext(v.config, v.aws)
    const started = Date.now()
    const now = await Promise.all(checks.map((c) => runCheck(c, fresh)))
    const at = new Date().toISOString().slice(11, 19)
    const changed = now.filter((r) => {
      const before = last.find((b) => b.name === r.name)
      return !before || before.status !== r.status || (r.status !== 'pass' && before.detail !== r.detail)
    })
    const failing = now.filter((r) => r.status !== 'pass').length
    if (!changed.length) log.plain(`${at} round ${round}: no change (${now.length - failing} of ${now.length} passing)`)
    for (const r of changed) {
      const before = last.find((b) => b.name === r.name)?.status ?? 'new'
      log.plain(`${at} round ${round}: ${r.name} ${before} -> ${r.status}  ${r.detail}`)
    }
    if (changed.length) {
      log.plain(`${at} round ${round}: ${now.length - failing} of ${now.length} passing`)
      journal(log, fresh, argv, now, Date.now() - started)
    }
    last = now
  }
  const failed = last.filter((r) => r.status !== 'pass').length
  log.plain(`watch ended: the last round had ${last.length - failed} of ${last.length} checks passing`)
  process.exit(failed ? EXIT.failed : EXIT.done)
}
