// `npm run deploy [-- --dry-run --env-file PATH --generate-ledger-key --generate-keys ...]`: runs
// the numbered steps 00 to 07 and stops with the exit code of the first that fails (after letting
// the steps already running finish). Teardown (99) is never part of it.
//
// 00-preflight runs first and alone. Then the deployment, as one run holding the clusters' run
// locks, starts each step as soon as the steps it needs are done (the plan and the routing of
// flags: lib/deploy/plan.ts). On AWS the deployment then takes about as long as its longest
// chain: the Ledger's network, cluster, node groups and releases, then the Auditor's release
// (beside the Ledger's switch to Auditor mode) and the certificates. Steps' lines are prefixed
// with their names.
//
// Each flag goes to the steps that declare it (lib/engine/steps.ts); --env-file, --dry-run and --yes go
// to every step. Steps start from their ahead-of-time bundles where they are fresh (`npm run
// build`; else from their sources through tsx: no bundler is needed at run time).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DIST, fresh, sourceArgs, stepArgs } from '../engine/bundles.ts'
import type { Config } from '../config/load.ts'
import { RunbookError } from '../engine/errors.ts'
import type { RunLock } from '../engine/lock.ts'
import { argsOf, DEPLOY_STEPS, deployPlan, knownFlags, route } from './plan.ts'

/** Prefixes each line a child writes with its label (steps run side by side). */
function prefixLines(child: ChildProcess, label: string): void {
  for (const [from, to] of [
    [child.stdout!, process.stdout],
    [child.stderr!, process.stderr],
  ] as const) {
    let rest = ''
    from.on('data', (d) => {
      const lines = (rest + d).split('\n')
      rest = lines.pop()!
      for (const l of lines) to.write(`${label} │ ${l}\n`)
    })
    from.on('end', () => rest && to.write(`${label} │ ${rest}\n`))
  }
}

/**
 * Runs one step, with these variables set; resolves with its exit code. With a label (the plan's
 * steps, side by side) its lines are prefixed with it; without (00-preflight, alone) it writes to
 * this terminal as it is.
 */
function launch(step: string, args: string[], label?: string, env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...stepArgs(step), ...args], {
      stdio: label ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      env: { ...process.env, ...env },
    })
    if (label) prefixLines(child, label)
    child.on('close', (code) => resolve(code ?? 1))
  })
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  // From its bundle (scripts/deploy.mjs), older than its sources: run the sources instead.
  if (fileURLToPath(import.meta.url).startsWith(DIST + path.sep) && !fresh('deploy/deploy.mjs')) {
    const r = spawnSync(process.execPath, [...sourceArgs('lib/deploy/deploy.ts'), ...argv], { stdio: 'inherit' })
    process.exit(r.status ?? 1)
  }
  // Loaded now, before a rebuild could replace the chunks they come from; awaited after 00-preflight.
  const modules = Promise.all([import('../secrets/parameters.ts'), import('../engine/lock.ts')])
  // No bundler at run time: steps whose bundle is stale (or missing) run from their sources.
  const stale = DEPLOY_STEPS.filter((s) => !fresh(`runbooks/${s}.mjs`))
  if (stale.length)
    console.error(
      `note: ${stale.length} step(s) run from their TypeScript sources (no fresh bundle in dist/; \`npm run build\` makes them start faster)`,
    )
  const routed = route(argv)
  if (routed.unknown.length) {
    console.error(`deploy: no step takes ${routed.unknown.join(', ')}. Flags: ${knownFlags()}`)
    process.exit(2)
  }
  const { common } = routed
  const envFileAt = common.indexOf('--env-file')
  const envFile = envFileAt >= 0 ? common[envFileAt + 1] : undefined

  // Preflight first and alone: nothing is changed, or locked, before it passes. It validates the
  // configuration, so the configuration read here loads.
  const pre = launch('00-preflight', argsOf(routed, '00-preflight'))
  const [{ loadConfigResolved }, lock] = await modules
  const code = await pre
  if (code !== 0) stop('00-preflight', code)
  let config: Config
  try {
    config = await loadConfigResolved(envFile)
  } catch (err) {
    console.error(`✗ deploy: ${(err as Error).message}`)
    process.exit(2)
  }
  const auditor = config.auditor.enabled

  // The deployment is one run: it holds the clusters' run locks and its steps run under them
  // (RUNBOOK_LOCK_RUN_ID), so independent steps can run side by side; another operator's run
  // is refused as before. --dry-run changes nothing, so it takes no lock.
  const locks = common.includes('--dry-run') ? [] : await takeLocks(lock, config, auditor)
  const release = () => Promise.all(locks.map((l) => l.release().catch(() => undefined)))
  process.once('SIGINT', () => void release().finally(() => process.exit(130)))
  process.once('SIGTERM', () => void release().finally(() => process.exit(143)))
  const stepEnv: Record<string, string> = locks.length ? { RUNBOOK_LOCK_RUN_ID: locks[0]!.runId } : {}

  const plan = deployPlan(auditor)
  const started = new Map<string, Promise<number>>()
  const failed: [string, number][] = []
  const done: string[] = []
  const start = (label: string): Promise<number> => {
    if (!started.has(label)) {
      const p = plan.find((x) => x.label === label)!
      started.set(
        label,
        Promise.all(p.needs.map(start)).then(async (codes) => {
          if (codes.some((c) => c !== 0)) return -1 // not run: a step it needs failed
          const code = await launch(p.name, argsOf(routed, p.name, p.extra), p.label, stepEnv)
          if (code === 0) done.push(p.label)
          else failed.push([p.label, code])
          return code
        }),
      )
    }
    return started.get(label)!
  }
  await Promise.all(plan.map((p) => start(p.label)))
  await release()
  if (failed.length) stop(...failed[0]!)
  console.error(
    `\ndeploy: ${done.length + 1} steps done${auditor ? '' : ' (05-auditor skipped: AUDITOR_ENABLED is not true)'}, independent ones side by side (00-preflight, ${done.join(', ')})`,
  )
}

/** The run locks of the clusters the deployment changes, under one run id, held for its steps. */
async function takeLocks(lock: typeof import('../engine/lock.ts'), config: Config, auditor: boolean): Promise<RunLock[]> {
  const runId = randomUUID()
  const locks = [config.clusterName, ...(auditor ? [config.auditor.clusterName] : [])].map(
    (name) => new lock.RunLock(config.region, name, 'deploy', config.lockLeaseMs, undefined, runId),
  )
  try {
    await lock.acquireAll(locks)
  } catch (err) {
    console.error(
      `✗ deploy: ${(err as Error).message}; nothing was changed.${err instanceof RunbookError && err.hint ? `\n    hint: ${err.hint}` : ''}`,
    )
    process.exit(err instanceof lock.NoCredentials ? 2 : 1)
  }
  return locks
}

function stop(step: string, code: number): never {
  console.error(
    `\ndeploy stopped at ${step} (exit ${code}). Fix the cause shown above and rerun: finished steps report ok and change nothing.`,
  )
  process.exit(code)
}

await main()
