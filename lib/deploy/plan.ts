// What `npm run deploy` runs, and with which flags: the plan of the numbered steps (which step
// waits for which) and the routing of the command line to them. Pure, for lib/deploy/deploy.ts (which
// runs the plan) and for tests.
import { flagsOf, STEP_FLAGS, type StepFlags, type StepName } from '../engine/steps.ts'

/** Flags every step takes (lib/engine/args.ts), passed to each. */
const COMMON_BOOLEAN = new Set(['--dry-run', '--yes'])
const COMMON_VALUE = new Set(['--env-file'])

/** The steps a deployment runs, in order: every numbered step but the teardown. */
export const DEPLOY_STEPS = (Object.keys(STEP_FLAGS) as StepName[]).filter((s) => s.startsWith('0'))

interface Routed {
  /** What every step gets (--env-file, --dry-run, --yes). */
  common: string[]
  /** Each step's own flags, with their values. */
  own: Map<StepName, string[]>
  /** Flags no step takes. */
  unknown: string[]
}

/** Splits argv into what every step gets and what each step declares (STEP_FLAGS). */
export function route(argv: string[]): Routed {
  const common: string[] = []
  const own = new Map(DEPLOY_STEPS.map((s) => [s, [] as string[]]))
  const unknown: string[] = []
  const takes = (s: StepName, kind: keyof StepFlags, a: string) => a.startsWith('--') && Object.hasOwn(flagsOf(s)[kind] ?? {}, a.slice(2))
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--json') continue // deploy prints the steps' human output; run a step alone for its JSON
    if (COMMON_BOOLEAN.has(a)) common.push(a)
    else if (COMMON_VALUE.has(a)) common.push(a, argv[++i] ?? '')
    else {
      const takers = DEPLOY_STEPS.filter((s) => takes(s, 'flags', a) || takes(s, 'stringFlags', a))
      if (!takers.length) unknown.push(a)
      const value = takers.some((s) => takes(s, 'stringFlags', a)) ? [argv[++i] ?? ''] : []
      for (const s of takers) own.get(s)!.push(a, ...value)
    }
  }
  return { common, own, unknown }
}

/** Every flag a deployment takes, for the message on an unknown one. */
export function knownFlags(): string {
  const own = DEPLOY_STEPS.flatMap((s) => {
    const f = flagsOf(s)
    return [...Object.keys(f.flags ?? {}), ...Object.keys(f.stringFlags ?? {})].map((k) => `--${k} (${s})`)
  })
  return `--env-file PATH, --dry-run, --yes, and each step's own (${own.join(', ')})`
}

interface PlannedStep {
  name: StepName
  /** How the step is shown and known in the plan (05-auditor runs twice: --prepare, then the rest). */
  label: string
  /** Labels of the steps that must have succeeded first. */
  needs: string[]
  /** Flags of this run of the step. */
  extra: string[]
}

/**
 * The deployment after 00-preflight (which runs first and alone). Each step starts when the steps
 * it needs are done. On AWS the long poles are the two EKS clusters with their node groups: the
 * Auditor's environment is built beside the Ledger's (once 01 has made the Ledger's VPC and
 * bastion: the Auditor's API endpoint is private, reached through the peering with that VPC), the
 * database endpoint beside the Ledger's cluster, monitoring beside the releases, 07 last.
 */
export function deployPlan(auditor: boolean): PlannedStep[] {
  const step = (name: StepName, needs: string[], label: string = name, extra: string[] = []): PlannedStep => ({ name, label, needs, extra })
  return [
    step('01-vpc', []),
    step('02-database', ['01-vpc']),
    step('03-eks', ['01-vpc']),
    ...(auditor ? [step('05-auditor', ['01-vpc'], '05-auditor --prepare', ['--prepare'])] : []),
    step('04-scalardl', ['02-database', '03-eks']),
    // After its --prepare succeeded in this run, 05 does not check again what that made.
    ...(auditor ? [step('05-auditor', ['04-scalardl', '05-auditor --prepare'], '05-auditor', ['--prepared'])] : []),
    step('06-monitoring', ['03-eks', ...(auditor ? ['05-auditor --prepare'] : [])]),
    // The deployment's closing checklist: CloudWatch data of a new deployment takes minutes to arrive (07 --settle).
    step('07-verify', ['04-scalardl', '06-monitoring', ...(auditor ? ['05-auditor'] : [])], '07-verify', ['--settle', '900']),
  ]
}

/** A step's command line in the deployment: the common flags, its own, and those of its run in the plan. */
export function argsOf(routed: Routed, name: StepName, extra: string[] = []): string[] {
  return [...routed.common, ...(routed.own.get(name) ?? []), ...extra]
}
