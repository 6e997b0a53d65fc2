// How long `npm run bastion -- run` lets SSM run a step before stopping it (the command's
// executionTimeout), from the plan: each step's own bound on AWS, and for `deploy` the sum over
// the steps its plan runs (lib/deploy/plan.ts), the Auditor's included when enabled. Generous on
// purpose: a step stopped by SSM half-way is what this guards against, not a slow one. SSM's
// own limit is 172,800 s (AWS-RunShellScript's executionTimeout).
import type { Config } from '../config/load.ts'
import { deployPlan } from '../deploy/plan.ts'

/** Each step's bound on AWS, in seconds: eksctl waits up to 25 min for a control plane, node groups take 10 to 20. */
const STEP_SECONDS: Record<string, number> = {
  '00-preflight': 600,
  '01-vpc': 1800,
  '02-database': 900,
  '03-eks': 3600,
  '04-scalardl': 2400,
  '05-auditor': 5400,
  '06-monitoring': 1800,
  '07-verify': 1200,
  // Two clusters' node groups, one after the other, with the Auditor.
  '99-teardown': 3600,
}

export const SSM_MAX_SECONDS = 172_800

/** The executionTimeout for `run STEP|deploy [flags]` under this configuration, in seconds. */
export function runBudgetSeconds(step: string, flags: string[], c: Config): number {
  /** A step's bound, and the --settle its flags give 07 on top. */
  const of = (name: string, args: string[] = []) => {
    const own = STEP_SECONDS[name] ?? 1800
    const settle = args.includes('--settle') ? Number(args[args.indexOf('--settle') + 1]) || 0 : 0
    return name === '99-teardown' && c.auditor.enabled ? own * 2 : own + settle
  }
  const seconds =
    step === 'deploy'
      ? of('00-preflight') + deployPlan(c.auditor.enabled).reduce((sum, s) => sum + of(s.name, s.extra), 0)
      : of(step, flags)
  return Math.min(seconds, SSM_MAX_SECONDS)
}
