// Smoke test of `npm run rehearse -- --auditor`: the README's main job, Ledger and Auditor end to
// end (every step twice, the checklist, the teardown twice), leaving nothing behind.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { ROOT } from '../helpers/run-step.ts'

test('npm run rehearse -- --auditor passes, every check green, and stops the simulator it started', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'sim', 'rehearse.ts'), '--auditor'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 300_000 })
  assert.equal(r.status, 0, r.stderr.slice(-3000))
  assert.match(r.stderr, /rehearsal passed: 8 steps ran, and the rerun changed nothing; teardown left nothing/)
  assert.match(r.stderr, /RECAP 01-vpc: ok=\d+ changed=0 planned=0 failed=0 skipped=0/)
  assert.match(r.stderr, /RECAP 05-auditor: ok=\d+ changed=0 planned=0 failed=0 skipped=0/)
  assert.match(r.stderr, /VERIFY 07-verify: 9 of 9 checks passed/)
  assert.match(r.stderr, /peering +1 connection\(s\) active/)
  const dir = /simulator state in (\S+);/.exec(r.stderr)![1]!
  const left = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' }).stdout.trim()
  assert.equal(left, '', `processes of the rehearsal are still running: ${left}`)
})
