// 07-verify's runner: every check at once, each with its own timeout; a checklist on stderr,
// `--json` on stdout, `--report FILE.md`; exit 0 all pass, 1 any fails, 2 cannot run.
import fs from 'node:fs'
import chalk from 'chalk'
import { parseArgs, UsageError, type CommonArgs } from '../args.ts'
import { STEP_FLAGS } from '../steps.ts'
import { ConfigError, type Config } from '../config.ts'
import { loadConfigResolved } from '../secrets/parameters.ts'
import { ensureKubeconfig } from '../eks/kubeconfig.ts'
import { describeError } from '../errors.ts'
import { redact, redactText, registerEnvSecrets } from '../redact.ts'
import { VerifyContext, type Check, type CheckResult } from './check.ts'

const TIMEOUT_MS = Number(process.env.VERIFY_CHECK_TIMEOUT_MS ?? 20000)

function usage(names: string[]): string {
  return [
    '07-verify: the guide\'s confirmation checklist; what on-call runs to answer "is Scalar DL healthy?"',
    '',
    'Usage: npx tsx runbooks/07-verify.ts [--env-file PATH] [--only name,name] [--json] [--report FILE.md] [--settle SECONDS] [--watch SECONDS] [--dry-run] [--yes] [--help]',
    '',
    `  checks: ${names.join(', ')}`,
    '  --only     run only these checks',
    '  --json     print [{name, status: pass|fail|error, detail, hint, durationMs}] on stdout',
    '  --report   also write a Markdown report to paste into an incident',
    '  --settle   ask the checks of data still arriving (logs, metrics) again while they fail, for up to SECONDS',
    '  --watch    then run the checklist again every SECONDS and print what changed; Ctrl-C ends it with the last exit code',
    '  --dry-run  say which checks would run (after validating the configuration); read nothing',
    '  --yes      accepted, as by every step: 07 changes nothing, so there is nothing to confirm',
    '',
    'Exit codes: 0 every check passed, 1 a check failed, 2 cannot run (configuration, credentials, unreachable cluster).',
  ].join('\n')
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

async function settle(first: CheckResult[], checks: Check[], v: VerifyContext, boundMs: number): Promise<CheckResult[]> {
  let results = first
  const deadline = Date.now() + boundMs
  const started = Date.now()
  let delay = 2000
  for (;;) {
    const waiting = results.filter((r) => r.status !== 'pass' && SETTLING.has(r.name))
    if (!waiting.length || Date.now() + delay > deadline) return results
    process.stderr.write(
      `  … waiting for ${waiting.map((r) => r.name).join(' and ')} to settle (${Math.round((Date.now() - started) / 1000)} s of at most ${boundMs / 1000} s; last seen: ${waiting.map((r) => r.detail).join('; ')})\n`,
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

async function cannotRun(reason: string, json: boolean): Promise<never> {
  process.stderr.write(chalk.red(`✗ 07-verify cannot run: ${redactText(reason)}\n`))
  if (json)
    await new Promise<void>((r) =>
      process.stdout.write(
        JSON.stringify([
          {
            name: 'preconditions',
            status: 'error',
            detail: redactText(reason),
            hint: 'RUNBOOK.md, 07-verify: "cannot run"',
            durationMs: 0,
          },
        ]) + '\n',
        () => r(),
      ),
    )
  process.exit(2)
}

export async function verify(all: Check[], argv = process.argv.slice(2)): Promise<never> {
  const names = all.map((c) => c.name)
  let args: CommonArgs
  try {
    args = parseArgs(argv, [], Object.keys(STEP_FLAGS['07-verify'].stringFlags))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`07-verify: ${err.message}\n${usage(names)}\n`)
    process.exit(2)
  }
  if (args.help) {
    process.stderr.write(usage(names) + '\n')
    process.exit(0)
  }
  for (const flag of ['settle', 'watch'])
    if (args.flags[flag] !== undefined && !/^\d{1,5}$/.test(String(args.flags[flag]))) {
      process.stderr.write(`07-verify: --${flag} takes a whole number of seconds, not "${args.flags[flag]}"\n${usage(names)}\n`)
      process.exit(2)
    }
  if (args.flags.watch !== undefined && Number(args.flags.watch) < 1) {
    process.stderr.write(`07-verify: --watch needs at least 1 second between rounds\n${usage(names)}\n`)
    process.exit(2)
  }
  const only = args.flags.only
    ? String(args.flags.only)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : names
  const bad = only.filter((n) => !names.includes(n))
  if (bad.length) {
    process.stderr.write(`07-verify: unknown check ${bad.join(', ')}\n${usage(names)}\n`)
    process.exit(2)
  }
  registerEnvSecrets()
  let config: Config
  try {
    config = await loadConfigResolved(args.envFile)
  } catch (err) {
    if (err instanceof ConfigError)
      return cannotRun(`${err.message}: ${err.problems.map((p) => `${p.key} ${p.message}`).join('; ')}`, args.json)
    throw err
  }
  if (args.dryRun) {
    // The common flag of every step: what would be checked, nothing read (npm run deploy -- --dry-run ends here).
    const planned = all.filter((c) => only.includes(c.name) && (c.applies?.(config) ?? true))
    process.stderr.write(
      chalk.bold(
        `▶ 07-verify  Step 7: Scalar DL health checklist · cluster ${config.clusterName} · region ${config.region} · DRY RUN: nothing is read\n`,
      ),
    )
    for (const c of planned) process.stderr.write(`  ~ would check ${c.name}: ${c.title}\n`)
    if (args.json)
      await new Promise<void>((r) =>
        process.stdout.write(
          JSON.stringify(planned.map((c) => ({ name: c.name, status: 'planned', detail: c.title, hint: '', durationMs: 0 }))) + '\n',
          () => r(),
        ),
      )
    process.exit(0)
  }
  const v = new VerifyContext(config)
  // From any machine with access: the kubeconfig `aws eks update-kubeconfig` would write, if 03 never ran here.
  // (AWS not reachable: the precondition below says so, with the reason.)
  const kube = await ensureKubeconfig(v.aws.eks, config).catch(() => undefined)
  if (kube === 'no-cluster') return cannotRun(`no EKS cluster ${config.clusterName} in ${config.region} to check: run 03-eks`, args.json)
  // Preconditions, at once: AWS credentials and endpoint, and the cluster's API.
  const [awsOk, kubeOk] = await Promise.allSettled([
    withTimeout(v.aws.identity(), 10000, 'AWS'),
    withTimeout(v.cluster(), 15000, 'the Kubernetes API'),
  ])
  if (awsOk.status === 'rejected')
    return cannotRun(`AWS is not reachable or the credentials do not work: ${describeError(awsOk.reason)}`, args.json)
  if (kubeOk.status === 'rejected') return cannotRun(`the Kubernetes API is not reachable: ${describeError(kubeOk.reason)}`, args.json)

  const checks = all.filter((c) => only.includes(c.name) && (c.applies?.(config) ?? true))
  const started = Date.now()
  let results = await Promise.all(checks.map((c) => runCheck(c, v)))
  // --settle: right after a deployment, CloudWatch data is still arriving (the agents publish every
  // minute, and the log groups fill as they do). Those checks are asked again while they fail, up
  // to the bound, saying so.
  const settleMs = Number(args.flags.settle ?? 0) * 1000
  if (settleMs > 0) results = await settle(results, checks, v, settleMs)
  const width = Math.max(...results.map((r) => r.name.length))
  process.stderr.write(
    chalk.bold(`▶ 07-verify  Step 7: Scalar DL health checklist · cluster ${config.clusterName} · region ${config.region}\n`),
  )
  for (const r of results) {
    const mark = r.status === 'pass' ? chalk.green('✓ pass ') : chalk.red(r.status === 'fail' ? '✗ FAIL ' : '✗ ERROR')
    process.stderr.write(`  ${mark} ${r.name.padEnd(width)}  ${r.detail}\n`)
    if (r.status !== 'pass') process.stderr.write(chalk.gray(`           hint: ${r.hint}\n`))
  }
  const failed = results.filter((r) => r.status !== 'pass').length
  process.stderr.write(`VERIFY 07-verify: ${results.length - failed} of ${results.length} checks passed  (${Date.now() - started} ms)\n`)
  if (args.flags.report) fs.writeFileSync(String(args.flags.report), markdownReport(results, config))
  if (args.json) await new Promise<void>((r) => process.stdout.write(JSON.stringify(redact(results)) + '\n', () => r()))
  if (args.flags.watch !== undefined) await watch(results, checks, v, Number(args.flags.watch) * 1000)
  process.exit(failed ? 1 : 0)
}

/**
 * --watch: the checklist again every `everyMs`, printing only what changed since the round before
 * (a check that passes now, or fails, or fails differently), for watching a recovery. Ends on
 * Ctrl-C (SIGINT) or SIGTERM with the exit code of the last round.
 */
async function watch(first: CheckResult[], checks: Check[], v: VerifyContext, everyMs: number): Promise<never> {
  let last = first
  let stop = false
  const end = () => {
    stop = true
  }
  process.once('SIGINT', end)
  process.once('SIGTERM', end)
  process.stderr.write(`watching: the checklist again every ${everyMs / 1000} s, changes only; Ctrl-C ends it\n`)
  for (let round = 2; !stop; round++) {
    const waited = Date.now()
    while (!stop && Date.now() - waited < everyMs) await new Promise((r) => setTimeout(r, Math.min(200, everyMs)))
    if (stop) break
    // A fresh read of the cluster each round (a context keeps its one snapshot); the AWS session stays.
    const fresh = new VerifyContext(v.config, v.aws)
    const now = await Promise.all(checks.map((c) => runCheck(c, fresh)))
    const at = new Date().toISOString().slice(11, 19)
    const changed = now.filter((r) => {
      const before = last.find((b) => b.name === r.name)
      return !before || before.status !== r.status || (r.status !== 'pass' && before.detail !== r.detail)
    })
    const failing = now.filter((r) => r.status !== 'pass').length
    if (!changed.length) process.stderr.write(`${at} round ${round}: no change (${now.length - failing} of ${now.length} passing)\n`)
    for (const r of changed) {
      const before = last.find((b) => b.name === r.name)?.status ?? 'new'
      process.stderr.write(`${at} round ${round}: ${r.name} ${before} -> ${r.status}  ${r.detail}\n`)
    }
    if (changed.length) process.stderr.write(`${at} round ${round}: ${now.length - failing} of ${now.length} passing\n`)
    last = now
  }
  const failed = last.filter((r) => r.status !== 'pass').length
  process.stderr.write(`watch ended: the last round had ${last.length - failed} of ${last.length} checks passing\n`)
  process.exit(failed ? 1 : 0)
}
