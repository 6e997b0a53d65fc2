// What `npm run bastion -- run STEP` runs on the bastion: the step's bundle while it is fresh,
// the TypeScript source once a source is newer than the bundle.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { stepCommand } from '../../lib/bastion/remote.ts'
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
