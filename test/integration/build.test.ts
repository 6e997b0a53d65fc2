// The ahead-of-time bundles (scripts/build.ts) and `npm run deploy`'s launcher (scripts/deploy.mjs),
// in a copy of the project so that touching a source here cannot disturb the bundles other tests
// run from: the launcher runs the deployment from its bundle; a bundle older than one of its
// sources hands over to the sources, which rebuild it.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { ROOT, tempDir } from '../helpers/run-step.ts'

const copy = tempDir('rb-build-')
after(() => fs.rmSync(copy, { recursive: true, force: true }))

for (const entry of ['package.json', 'lib', 'runbooks', 'checks', 'sim', 'scripts', 'config']) {
  if (fs.existsSync(path.join(ROOT, entry))) fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true })
}
fs.copyFileSync(path.join(ROOT, 'package-lock.json'), path.join(copy, 'package-lock.json'))
fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'))

const node = (args: string[]) =>
  spawnSync(process.execPath, args, { cwd: copy, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } })
const bundle = path.join(copy, 'dist', 'deploy', 'deploy.mjs')

describe('ahead-of-time bundles and the deploy launcher', () => {
  test('the launcher runs the deployment from its bundle; a stale bundle hands over to the sources, which rebuild it', () => {
    // No bundle yet: the launcher runs the sources through tsx, which build every bundle first.
    const first = node(['scripts/deploy.mjs', '--no-such-flag'])
    assert.equal(first.status, 2, first.stderr)
    assert.match(first.stderr, /no step takes --no-such-flag/)
    assert.ok(fs.existsSync(bundle), 'dist/deploy/deploy.mjs built')
    for (const step of ['00-preflight', '07-verify']) assert.ok(fs.existsSync(path.join(copy, 'dist', 'runbooks', `${step}.mjs`)), step)
    const built = fs.statSync(bundle).mtimeMs

    // Fresh: the same answer from the bundle, which is left as it is.
    const fromBundle = node(['scripts/deploy.mjs', '--no-such-flag'])
    assert.equal(fromBundle.status, 2, fromBundle.stderr)
    assert.match(fromBundle.stderr, /no step takes --no-such-flag/)
    assert.equal(fs.statSync(bundle).mtimeMs, built)

    // A source changed after the bundle was made: the bundle hands over (the new message shows
    // the sources ran), and the bundles are rebuilt from them.
    const source = path.join(copy, 'lib', 'deploy.ts')
    fs.writeFileSync(source, fs.readFileSync(source, 'utf8').replace('deploy: no step takes', 'deploy (changed): no step takes'))
    const later = new Date(built + 2000)
    fs.utimesSync(source, later, later)
    const stale = node(['scripts/deploy.mjs', '--no-such-flag'])
    assert.equal(stale.status, 2, stale.stderr)
    assert.match(stale.stderr, /deploy \(changed\): no step takes --no-such-flag/)
    assert.ok(fs.statSync(bundle).mtimeMs > built, 'rebuilt')
    assert.match(fs.readFileSync(bundle, 'utf8'), /deploy \(changed\)/)
  })
})
