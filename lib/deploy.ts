// `npm run deploy [-- --dry-run --env-file PATH --generate-keys ...]`: runs the numbered steps
// 00 to 07 and stops at the first that fails, with its exit code. Teardown (99) is never part of it.
//
// With AUDITOR_ENABLED=true the Auditor's environment (05-auditor --infra-only: its VPC, NAT
// gateway, EKS cluster and nodes, which need nothing of the Ledger and lock only the Auditor's
// cluster) is built while steps 01 to 04 build the Ledger's: both take minutes on AWS, and the
// deployment then takes about as long as the Ledger's side alone. 05-auditor then does the rest.
//
// Each flag goes to the steps that declare it (--generate-ledger-key to 04, --generate-keys to 05);
// --env-file, --dry-run and --yes go to every step. Steps start from their ahead-of-time bundles.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { ensureBuilt, fresh, stepArgs } from '../scripts/build.ts'
import { isTrue, loadEnvFile } from './config.ts'
import { ROOT } from './root.ts'
import type { StepDefinition } from './task.ts'

const COMMON_BOOLEAN = new Set(['--dry-run', '--yes'])
const COMMON_VALUE = new Set(['--env-file'])

interface Step {
  name: string
  flags: Set<string>
  valueFlags: Set<string>
}

/** Reads each step's flags from its definition (from its bundle when fresh). */
async function loadSteps(): Promise<Step[]> {
  const files = fs
    .readdirSync(path.join(ROOT, 'runbooks'))
    .filter((f) => /^0\d-[\w-]+\.ts$/.test(f))
    .sort()
  return Promise.all(
    files.map(async (f) => {
      const name = f.replace(/\.ts$/, '')
      const mod = (await import(fresh(`runbooks/${name}.mjs`) ?? path.join(ROOT, 'runbooks', f))) as { step?: StepDefinition<unknown> } // 07-verify has no step definition: no flags of its own
      return { name, flags: new Set(Object.keys(mod.step?.flags ?? {}).map((k) => `--${k}`)), valueFlags: new Set(Object.keys(mod.step?.stringFlags ?? {}).map((k) => `--${k}`)) }
    }),
  )
}

/** Splits argv into what every step gets and what each step declares; unknown flags are errors. */
export function route(argv: string[], steps: Step[]): { common: string[]; own: Map<string, string[]>; unknown: string[] } {
  const common: string[] = []
  const own = new Map(steps.map((s) => [s.name, [] as string[]]))
  const unknown: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--json') continue // deploy prints the steps' human output; run a step alone for its JSON
    if (COMMON_BOOLEAN.has(a)) common.push(a)
    else if (COMMON_VALUE.has(a)) common.push(a, argv[++i] ?? '')
    else {
      const takers = steps.filter((s) => s.flags.has(a) || s.valueFlags.has(a))
      if (!takers.length) unknown.push(a)
      const value = takers.some((s) => s.valueFlags.has(a)) ? [argv[++i] ?? ''] : []
      for (const s of takers) own.get(s.name)!.push(a, ...value)
    }
  }
  return { common, own, unknown }
}

/** Runs one step; with a label, its output lines are prefixed (it runs beside another). */
function run(step: string, args: string[], label?: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...stepArgs(step), ...args], { stdio: label ? ['ignore', 'pipe', 'pipe'] : 'inherit', cwd: process.cwd() })
    if (label) {
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
    child.on('close', (code) => resolve(code ?? 1))
  })
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  await ensureBuilt().catch((err) => console.error(`note: running the steps from their sources (could not build dist/: ${(err as Error).message})`))
  const steps = await loadSteps()
  const { common, own, unknown } = route(argv, steps)
  if (unknown.length) {
    console.error(`deploy: no step takes ${unknown.join(', ')}. Flags: --env-file PATH, --dry-run, --yes, and each step's own (${steps.flatMap((s) => [...s.flags].map((f) => `${f} (${s.name})`)).join(', ')})`)
    process.exit(2)
  }
  const envFileAt = common.indexOf('--env-file')
  const env = { ...process.env }
  try {
    loadEnvFile(envFileAt >= 0 ? common[envFileAt + 1] : undefined, env)
  } catch {
    // the first step reports a missing env file with its fix
  }
  const auditor = isTrue(env.AUDITOR_ENABLED)
  const has = (name: string) => steps.some((s) => s.name === name)
  const argsOf = (name: string, extra: string[] = []) => [...common, ...(own.get(name) ?? []), ...extra]
  const done: string[] = []
  const stop = (step: string, code: number): never => {
    console.error(`\ndeploy stopped at ${step} (exit ${code}). Fix the cause shown above and rerun: finished steps report ok and change nothing.`)
    process.exit(code)
  }
  const sequence = async (names: string[], label?: string): Promise<[string, number] | undefined> => {
    for (const name of names.filter(has)) {
      const code = await run(name, argsOf(name), label && name)
      if (code !== 0) return [name, code]
      done.push(name)
    }
    return undefined
  }

  const first = await sequence(['00-preflight'])
  if (first) stop(...first)
  const ledger = ['01-vpc', '02-database', '03-eks', '04-scalardl']
  if (auditor && has('05-auditor')) {
    // Independent until 05's peering: the Ledger's steps and the Auditor's environment side by side.
    const [a, b] = await Promise.all([sequence(ledger, 'ledger'), run('05-auditor', argsOf('05-auditor', ['--infra-only']), '05-auditor --infra-only').then((c): [string, number] | undefined => (c === 0 ? undefined : ['05-auditor --infra-only', c]))])
    if (a ?? b) stop(...(a ?? b)!)
    const rest = await sequence(['05-auditor', '06-monitoring', '07-verify'])
    if (rest) stop(...rest)
  } else {
    const rest = await sequence([...ledger, '06-monitoring', '07-verify'])
    if (rest) stop(...rest)
  }
  console.error(`\ndeploy: ${done.length} steps done${auditor ? ' (the Auditor\'s environment built beside steps 01 to 04)' : ' (05-auditor skipped: AUDITOR_ENABLED is not true)'} (${done.join(', ')})`)
}

await main()
