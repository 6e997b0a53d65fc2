// The deployment's plan and flag routing (lib/deploy/plan.ts), without running a deployment: each
// flag reaches the steps that take it and every step accepts what it is given (the defect was
// --dry-run and --yes passed to a 07-verify that rejected them), the plan's order respects what
// each step needs, and each step parses exactly the flags of the shared table.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseArgs } from '../../lib/engine/args.ts'
import { runBudgetSeconds, SSM_MAX_SECONDS } from '../../lib/bastion/budget.ts'
import { parseConfig } from '../../lib/config/load.ts'
import { argsOf, DEPLOY_STEPS, deployPlan, knownFlags, route } from '../../lib/deploy/plan.ts'
import { flagsOf, STEP_FLAGS, type StepName } from '../../lib/engine/steps.ts'

/** What a step's own parser (lib/engine/args.ts, as runStep and 07's verify call it) makes of argv; throws on a flag it rejects. */
function parsedBy(step: StepName, argv: string[]) {
  const f = flagsOf(step)
  const readOnly = step === '00-preflight' || step === '07-verify'
  return parseArgs(argv, [...Object.keys(f.flags ?? {}), ...(readOnly ? [] : ['force-unlock'])], Object.keys(f.stringFlags ?? {}))
}

describe('deploy plan and flag routing', () => {
  test('common flags go to every step, own flags to the steps that declare them, with their values; --json is dropped', () => {
    const r = route([
      '--dry-run',
      '--env-file',
      'prod.env',
      '--generate-ledger-key',
      '--allow-no-system-nodes',
      '--report',
      'out.md',
      '--json',
    ])
    assert.deepEqual(r.unknown, [])
    assert.deepEqual(r.common, ['--dry-run', '--env-file', 'prod.env'])
    assert.deepEqual(r.own.get('04-scalardl'), ['--generate-ledger-key'])
    assert.deepEqual(r.own.get('03-eks'), ['--allow-no-system-nodes'])
    assert.deepEqual(r.own.get('05-auditor'), ['--allow-no-system-nodes'])
    assert.deepEqual(r.own.get('07-verify'), ['--report', 'out.md'])
    assert.deepEqual(r.own.get('01-vpc'), [])
  })

  test("a flag no step takes is unknown (teardown's are not the deployment's), and the message lists every flag there is", () => {
    const r = route(['--no-such-flag', '--delete-data', '--yes'])
    assert.deepEqual(r.unknown, ['--no-such-flag', '--delete-data'])
    assert.deepEqual(r.common, ['--yes'])
    assert.match(knownFlags(), /--generate-ledger-key \(04-scalardl\)/)
    assert.match(knownFlags(), /--prepare \(05-auditor\)/)
    assert.doesNotMatch(knownFlags(), /99-teardown/)
  })

  for (const auditor of [false, true])
    test(`${auditor ? 'with' : 'without'} the Auditor: each step needs only steps planned before it, and 07 comes last`, () => {
      const plan = deployPlan(auditor)
      const labels = plan.map((p) => p.label)
      assert.equal(new Set(labels).size, labels.length, 'labels are unique')
      plan.forEach((p, i) => {
        for (const n of p.needs) assert.ok(labels.slice(0, i).includes(n), `${p.label} needs ${n}, planned before it`)
      })
      assert.equal(labels.at(-1), '07-verify')
      assert.deepEqual(
        [...new Set(plan.map((p) => p.name))].sort(),
        DEPLOY_STEPS.filter((s) => s !== '00-preflight' && (auditor || s !== '05-auditor')),
        'every step but 00 (run first, alone), 05 only with the Auditor',
      )
      if (auditor) {
        assert.deepEqual(
          plan.find((p) => p.label === '05-auditor --prepare')!.needs,
          ['01-vpc'],
          "the Auditor's side starts beside the Ledger's cluster",
        )
        assert.ok(plan.find((p) => p.label === '07-verify')!.needs.includes('05-auditor'))
      } else assert.ok(!labels.some((l) => l.startsWith('05')))
    })

  test('a dry run without the Auditor gives every step, 07-verify included, a command line it accepts', () => {
    const routed = route(['--dry-run', '--yes', '--env-file', '.env', '--generate-ledger-key'])
    for (const step of ['00-preflight', ...deployPlan(false).map((p) => p.name)] as StepName[]) {
      const p = deployPlan(false).find((x) => x.name === step)
      const args = parsedBy(step, argsOf(routed, step, p?.extra))
      assert.equal(args.dryRun, true, step)
      assert.equal(args.yes, true, step)
      assert.equal(args.envFile, '.env', step)
    }
    assert.equal(parsedBy('04-scalardl', argsOf(routed, '04-scalardl')).flags['generate-ledger-key'], true)
  })

  test('with the Auditor, 05 runs as --prepare then --prepared, and each run accepts its command line', () => {
    const routed = route(['--generate-keys', '--generate-ledger-key'])
    const runs = deployPlan(true).filter((p) => p.name === '05-auditor')
    assert.deepEqual(
      runs.map((p) => parsedBy('05-auditor', argsOf(routed, p.name, p.extra)).flags),
      [
        { 'generate-keys': true, 'allow-no-system-nodes': false, prepare: true, prepared: false, 'force-unlock': false },
        { 'generate-keys': true, 'allow-no-system-nodes': false, prepare: false, prepared: true, 'force-unlock': false },
      ],
    )
  })

  test("each step's definition takes exactly the flags of the shared table", async () => {
    for (const step of Object.keys(STEP_FLAGS) as StepName[]) {
      if (step === '07-verify') continue // no step definition: lib/verify/runner.ts parses with the table itself
      const mod = (await import(`../../runbooks/${step}.ts`)) as { step: { flags?: object; stringFlags?: object } }
      const f = flagsOf(step)
      assert.deepEqual(Object.keys(mod.step.flags ?? {}), Object.keys(f.flags ?? {}), step)
      assert.deepEqual(Object.keys(mod.step.stringFlags ?? {}), Object.keys(f.stringFlags ?? {}), step)
    }
  })
})

describe('how long SSM lets a step run on the bastion (npm run bastion -- run)', () => {
  const base = parseConfig({ AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'b' })
  const c = (auditor: boolean) => ({ ...base, auditor: { ...base.auditor, enabled: auditor } })
  test("a step's own bound, its --settle on top; deploy: the plan's steps summed, the Auditor's when enabled; teardown doubled with the Auditor", () => {
    assert.equal(runBudgetSeconds('03-eks', [], c(false)), 3600)
    assert.equal(runBudgetSeconds('07-verify', ['--settle', '900'], c(false)), 1200 + 900)
    const ledger = runBudgetSeconds('deploy', [], c(false))
    // 00 600 + 01 1800 + 02 900 + 03 3600 + 04 2400 + 06 1800 + 07 1200 and its --settle 900
    assert.equal(ledger, 13_200)
    assert.equal(runBudgetSeconds('deploy', [], c(true)), ledger + 2 * 5400)
    assert.equal(runBudgetSeconds('99-teardown', [], c(true)), 2 * runBudgetSeconds('99-teardown', [], c(false)))
    assert.ok(runBudgetSeconds('deploy', [], c(true)) <= SSM_MAX_SECONDS)
  })
})
