// The step runner: check each task, apply what does not hold (or plan it in --dry-run),
// stop at the first failure, print one recap line, journal the run, and exit 0/1/2.
import { randomUUID } from 'node:crypto'
import { parseArgs, usage, UsageError, type CommonArgs } from './args.ts'
import { AwsSession } from '../aws/clients.ts'
import { ConfigError, type Config, type ConfigProblem } from '../config/load.ts'
import { loadConfigResolved } from '../secrets/parameters.ts'
import { describeError, hintFor, RunbookError } from './errors.ts'
import { appendJournal } from './journal.ts'
import { acquireAll, LockHeld, NoCredentials, RunLock } from './lock.ts'
import { formatDuration, Logger } from './log.ts'
import { redact, registerEnvSecrets } from './redact.ts'
import {
  flatTasks,
  isSideBySide,
  type StepDefinition,
  type StepItem,
  type StepResult,
  type StepStatus,
  type TaskContext,
  type TaskResult,
  type TaskStatus,
} from './task.ts'

export const EXIT = { done: 0, failed: 1, usage: 2 } as const

function emptySummary(): Record<TaskStatus, number> {
  return { ok: 0, changed: 0, planned: 0, failed: 0, skipped: 0 }
}

function stepStatus(summary: Record<TaskStatus, number>): StepStatus {
  if (summary.failed) return 'failed'
  if (summary.planned) return 'planned'
  if (summary.changed) return 'changed'
  return 'ok'
}

export function recapLine(r: StepResult): string {
  const s = r.summary
  return `RECAP ${r.step}: ok=${s.ok} changed=${s.changed} planned=${s.planned} failed=${s.failed} skipped=${s.skipped}  (${formatDuration(r.durationMs)})`
}

/** A step's items as flat task indices; side-by-side lanes as nested lists. */
type Plan = (number | Plan[])[]

/**
 * Runs the tasks of a step against a prepared context. Pure of process concerns, for tests.
 * Tasks run in order; side-by-side lanes at once. The first failure stops the step (the lanes
 * running beside it finish their current task), unless the step continues on failure.
 */
export async function executeStep<S>(def: StepDefinition<S>, ctx: TaskContext, state: S): Promise<StepResult> {
  const started = Date.now()
  const summary = emptySummary()
  const flat = flatTasks(def.tasks)
  const results: TaskResult[] = []
  let stopped = false
  let next = 0
  const plan = (items: StepItem<S>[]): Plan => items.map((i) => (isSideBySide(i) ? i.lanes.map(plan) : next++))
  const record = (i: number, status: TaskStatus, detail: string, since: number) => {
    summary[status]++
    results[i] = { title: flat[i]!.title, status, detail, durationMs: Date.now() - since }
    ctx.log.task(status, flat[i]!.title, detail)
  }

  const early = def.concurrent ? flat.map((t) => t.check(ctx, state)) : []
  early.forEach((p) => p.catch(() => undefined)) // awaited below, in order

  /** Check, then apply (or plan) what does not hold; false when the task failed. */
  const runTask = async (i: number): Promise<boolean> => {
    const task = flat[i]!
    const since = Date.now()
    const fail = (err: unknown, fallbackHint?: string) => {
      record(i, 'failed', describeError(err), since)
      const hint = hintFor(err, fallbackHint)
      if (hint) ctx.log.info(`    hint: ${hint}`)
      if (!def.continueOnFailure) stopped = true
      return false
    }
    let check
    try {
      check = await (early[i] ?? task.check(ctx, state))
    } catch (err) {
      return fail(err, task.hint)
    }
    if (check.holds) return (record(i, 'ok', check.detail ?? '', since), true)
    if (check.conflict) return fail(Object.assign(new Error(check.conflict), { hint: check.hint ?? task.hint }))
    if (!task.apply) return fail(Object.assign(new Error(check.detail ?? 'does not hold'), { hint: check.hint ?? task.hint }))
    if (ctx.dryRun) return (record(i, 'planned', check.detail ?? '', since), true)
    try {
      const done = await task.apply(ctx, state, check.reading)
      return (record(i, 'changed', done || check.detail || '', since), true)
    } catch (err) {
      return fail(err, task.hint)
    }
  }
  const leaves = (n: number | Plan[]): number[] => (typeof n === 'number' ? [n] : n.flatMap((lane) => lane.flatMap(leaves)))
  const skip = (n: number | Plan[]) => leaves(n).forEach((i) => record(i, 'skipped', 'an earlier task failed', Date.now()))
  const run = async (items: Plan): Promise<void> => {
    for (const n of items) {
      if (stopped) skip(n)
      else if (typeof n === 'number') await runTask(n)
      else await Promise.all(n.map(run))
    }
  }
  await run(plan(def.tasks))
  return { step: def.name, status: stepStatus(summary), summary, tasks: results, durationMs: Date.now() - started }
}

async function askName(question: string): Promise<string> {
  const rl = (await import('node:readline/promises')).createInterface({ input: process.stdin, output: process.stderr })
  const answer = await rl.question(question)
  rl.close()
  return answer.trim()
}

async function writeStdout(text: string): Promise<void> {
  await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()))
}

/** The --json result of a run refused before any task (exit 2): status failed, no task, its problems. */
async function writeRefusal(step: string, started: number, problems: ConfigProblem[]): Promise<void> {
  const result = { step, status: 'failed', summary: emptySummary(), tasks: [], durationMs: Date.now() - started, problems }
  await writeStdout(JSON.stringify(redact(result)) + '\n')
}

/** The entry point of every runbook script: parse flags, validate configuration, run, exit. */
export async function runStep<S>(def: StepDefinition<S>, argv = process.argv.slice(2)): Promise<never> {
  const started = Date.now()
  const log = new Logger()
  let args: CommonArgs
  const flagHelp = {
    ...def.flags,
    ...(def.readOnly ? {} : { 'force-unlock': "remove this cluster's run lock left by a dead run (asks for confirmation), then exit" }),
  }
  try {
    args = parseArgs(argv, Object.keys(flagHelp), Object.keys(def.stringFlags ?? {}))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    log.error(`${def.name}: ${err.message}`)
    log.plain(usage(def.name, def.description, { ...flagHelp, ...def.stringFlags }, def.help))
    // Asked for JSON, a caller gets it even when the rest of the command line is wrong.
    if (argv.includes('--json'))
      await writeRefusal(def.name, started, [{ key: 'command line', message: err.message, fix: `${def.name} --help lists the flags` }])
    process.exit(EXIT.usage)
  }
  if (args.help) {
    log.plain(usage(def.name, def.description, { ...flagHelp, ...def.stringFlags }, def.help))
    process.exit(EXIT.done)
  }
  registerEnvSecrets()

  const refuse = async (err: ConfigError): Promise<never> => {
    log.error(`✗ ${def.name}: ${err.message}; nothing was changed.`)
    for (const p of err.problems) {
      log.plain(`  ${p.key}: ${p.message}`)
      if (p.fix) log.plain(`      fix: ${p.fix}`)
    }
    if (args.json) await writeRefusal(def.name, started, err.problems)
    process.exit(EXIT.usage)
  }
  let config: Config
  try {
    config = await loadConfigResolved(args.envFile)
    const problems = def.validate?.(config, args.flags) ?? []
    if (problems.length) throw new ConfigError(problems, config.source)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return refuse(err)
  }

  if (def.confirm && !args.dryRun) {
    const refusal = await def.confirm(config, args.flags, args.yes)
    if (refusal) {
      log.error(`✗ ${def.name}: ${refusal}; nothing was changed.`)
      if (args.json)
        await writeRefusal(def.name, started, [
          {
            key: '--confirm',
            message: refusal,
            fix: `pass --yes --confirm ${config.clusterName}, or run it on a terminal and type the cluster name`,
          },
        ])
      process.exit(EXIT.usage)
    }
  }
  const aws = new AwsSession(config.region, args.dryRun)
  const ctx: TaskContext = { config, dryRun: args.dryRun, yes: args.yes, log, aws, flags: args.flags }
  const state = (def.state?.() ?? {}) as S
  if (def.preflight) {
    let problems
    try {
      problems = await def.preflight(ctx)
    } catch (err) {
      log.error(`✗ ${def.name}: could not check the configuration against AWS: ${describeError(err)}; nothing was changed.`)
      process.exit(EXIT.failed)
    }
    if (problems.length) return refuse(new ConfigError(problems, config.source))
  }
  log.header(
    def.name,
    def.description,
    `cluster ${config.clusterName} · region ${config.region} · config ${config.source}${args.dryRun ? ' · DRY RUN: nothing will be changed' : ''}`,
  )

  // One mutating run per cluster at a time (not in --dry-run, which changes nothing).
  let locks: RunLock[] = []
  const releaseAll = () => Promise.all(locks.map((l) => l.release()))
  if (!def.readOnly && !args.dryRun) {
    const names = def.locks?.(config, args.flags) ?? [config.clusterName]
    // Under `npm run deploy`, the deploy holds the locks for its steps (RUNBOOK_LOCK_RUN_ID).
    const lockOf = (name: string) =>
      new RunLock(
        config.region,
        name,
        def.name,
        config.lockLeaseMs,
        args.flags['force-unlock'] ? undefined : process.env.RUNBOOK_LOCK_RUN_ID,
      )
    if (args.flags['force-unlock']) {
      const ok =
        args.yes ||
        (process.stdin.isTTY &&
          (await askName(`Remove the run lock of ${names.join(' and ')}? Only if the run holding it is dead. Type the cluster name: `)) ===
            config.clusterName)
      if (!ok) {
        log.error(`✗ ${def.name}: --force-unlock needs confirmation: type the cluster name at a terminal, or add --yes`)
        process.exit(EXIT.usage)
      }
      for (const name of names) {
        const by = await lockOf(name).forceUnlock()
        log.info(
          by
            ? `removed the lock of ${name} held by ${by.step} (${by.holder}) since ${new Date(by.acquiredAt).toISOString()}`
            : `${name} was not locked`,
        )
      }
      log.info('rerun the step')
      process.exit(EXIT.done)
    }
    const wanted = names.map(lockOf)
    try {
      await acquireAll(wanted)
    } catch (err) {
      if (err instanceof NoCredentials)
        return refuse(new ConfigError([{ key: 'AWS credentials', message: err.message, fix: err.hint! }], config.source))
      const held = err instanceof LockHeld
      log.error(
        `✗ ${def.name}: ${held ? err.message : `could not take the run lock: ${err instanceof RunbookError ? err.message : describeError(err)}`}; nothing was changed.`,
      )
      const hint = hintFor(err)
      if (hint) log.info(`    hint: ${hint}`)
      if (args.json)
        await writeStdout(
          JSON.stringify(
            redact({
              step: def.name,
              status: 'failed',
              summary: { ...emptySummary(), failed: 1 },
              tasks: [{ title: 'Run lock', status: 'failed', detail: err instanceof RunbookError ? err.message : describeError(err) }],
              durationMs: Date.now() - started,
            }),
          ) + '\n',
        )
      process.exit(EXIT.failed)
    }
    locks = wanted
    const giveBack = () => void releaseAll().finally(() => process.exit(130))
    process.once('SIGINT', giveBack)
    process.once('SIGTERM', giveBack)
  }
  const variant = Object.keys(def.variants ?? {}).find((f) => args.flags[f])
  const chosen = variant ? { ...def, tasks: def.variants![variant]! } : def

  let result: StepResult
  try {
    result = await executeStep(chosen, ctx, state)
  } catch (err) {
    // A bug outside any task: still report it in the contract's shape.
    log.error(describeError(err))
    result = {
      step: def.name,
      status: 'failed',
      summary: { ...emptySummary(), failed: 1 },
      tasks: [{ title: 'runner', status: 'failed', detail: describeError(err) }],
      durationMs: 0,
    }
  }
  result.durationMs = Date.now() - started
  await releaseAll().catch((err) => log.warn(`could not release the run lock: ${describeError(err)} (it expires after LOCK_LEASE_SECONDS)`))

  const report = def.report?.(result, ctx, state)
  if (report) log.plain(report)
  log.plain(recapLine(result))
  if (result.status === 'ok') log.info('nothing to change: everything already holds')

  try {
    appendJournal(config.stateDir, {
      ts: new Date().toISOString(),
      runId: randomUUID(),
      step: def.name,
      cluster: config.clusterName,
      region: config.region,
      dryRun: args.dryRun,
      argv,
      status: result.status,
      summary: result.summary,
      tasks: result.tasks,
      durationMs: result.durationMs,
      awsCalls: aws.summary(),
    })
  } catch (err) {
    log.warn(`could not write the journal in ${config.stateDir}: ${describeError(err)}`)
  }
  // The --json contract's task shape is {title, status, detail}; durations are in the journal.
  if (args.json)
    await writeStdout(
      JSON.stringify(redact({ ...result, tasks: result.tasks.map(({ title, status, detail }) => ({ title, status, detail })) })) + '\n',
    )
  process.exit(result.status === 'failed' ? EXIT.failed : EXIT.done)
}
