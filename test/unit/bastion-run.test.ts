// What `npm run bastion -- run STEP` runs on the bastion: the step's bundle while it is fresh,
// the TypeScript source once a source is newer than the bundle; its whole output kept there, and
// its end brought back within what SSM returns. (The same, through SSM on the simulated bastion:
// test/e2e/bastion-checks.ts, on the README's operator path.)
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { RUN_OUTPUT_TAIL, runScript, stepCommand } from '../../lib/bastion/remote.ts'
import { tempDir } from '../helpers/run-step.ts'

test('run on the bastion: the fresh bundle, else the source through tsx; flags stay literal', () => {
  const dir = tempDir('bastion-run-')
  const bin = path.join(dir, 'bin')
  for (const tool of ['node', 'npx']) {
    fs.mkdirSync(bin, { recursive: true })
    fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho ${tool} "$@"\n`, { mode: 0o755 })
  }
  const run = () =>
    spawnSync('sh', ['-c', stepCommand('07-verify', ['--json', "it's"])], {
      cwd: dir,
      env: { PATH: `${bin}:/usr/bin:/bin` },
      encoding: 'utf8',
    }).stdout.trim()
  for (const d of ['lib', 'runbooks', 'checks', 'dist/runbooks']) fs.mkdirSync(path.join(dir, d), { recursive: true })
  fs.writeFileSync(path.join(dir, 'runbooks', '07-verify.ts'), '')
  assert.equal(run(), "npx tsx runbooks/07-verify.ts --json it's", 'no bundle: the source')
  const bundle = path.join(dir, 'dist', 'runbooks', '07-verify.mjs')
  fs.writeFileSync(bundle, '')
  const old = new Date(Date.now() - 60_000)
  fs.utimesSync(path.join(dir, 'runbooks', '07-verify.ts'), old, old)
  assert.equal(run(), "node dist/runbooks/07-verify.mjs --json it's", 'a fresh bundle')
  fs.writeFileSync(path.join(dir, 'lib', 'changed.ts'), '')
  fs.utimesSync(bundle, old, old)
  assert.equal(run(), "npx tsx runbooks/07-verify.ts --json it's", 'a source changed after the build: the source')
  assert.equal(stepCommand('deploy', ['--dry-run']), "node scripts/deploy.mjs '--dry-run'")
})

test('run keeps the whole output on the bastion and brings back its end, within what SSM returns', () => {
  // The script run sends, run by bash in a home of its own, with a deployment that says 60,000 bytes.
  const home = tempDir('rb-run-script-')
  const dir = path.join(home, 'scalardl-eks-runbook', 'scripts')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(
    path.join(dir, 'deploy.mjs'),
    "for (let i = 0; i < 1000; i++) console.error(`line ${String(i).padStart(4, '0')} ✓ ${'x'.repeat(45)}`); console.log('deploy: 9 steps done'); process.exit(3)\n",
  )
  const r = spawnSync('bash', ['-c', runScript('deploy', [])], { env: { ...process.env, HOME: home }, encoding: 'utf8' })
  assert.equal(r.status, 3, 'the exit code of the deployment')
  const [log] = fs.readdirSync(path.join(home, 'scalardl-eks-runbook', '.runbook', 'remote'))
  const file = path.join(home, 'scalardl-eks-runbook', '.runbook', 'remote', log!)
  const size = fs.statSync(file).size
  const head = new RegExp(
    `^\\[the first ${size - RUN_OUTPUT_TAIL.stdout} of ${size} bytes are left out here: the whole output is in ${file} on the bastion`,
  )
  assert.match(r.stdout, head)
  const lines = r.stdout.trimEnd().split('\n').slice(1)
  assert.match(lines[0]!, /^line \d{4} ✓ x{45}$/, 'from the next full line on')
  assert.equal(lines.at(-1), 'deploy: 9 steps done', 'the end')
  assert.ok(r.stdout.length < 24_000, 'within the 24,000 characters SSM returns')
})
