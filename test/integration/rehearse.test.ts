// Smoke test of `npm run rehearse`: the README's main job, end to end, leaving nothing behind.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { test } from 'node:test'
import { ROOT } from '../helpers/run-step.ts'

test('npm run rehearse passes and stops the simulator it started', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'sim', 'rehearse.ts')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 240_000 })
  assert.equal(r.status, 0, r.stderr.slice(-3000))
  assert.match(r.stderr, /rehearsal passed: \d+ steps ran, and the rerun changed nothing/)
  assert.match(r.stderr, /RECAP 01-vpc: ok=\d+ changed=0 planned=0 failed=0 skipped=0/)
  const dir = /simulator state in (\S+);/.exec(r.stderr)![1]!
  const left = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' }).stdout.trim()
  assert.equal(left, '', `processes of the rehearsal are still running: ${left}`)
})
