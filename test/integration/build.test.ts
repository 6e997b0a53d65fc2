// The ahead-of-time bundles (scripts/build.ts) and `npm run deploy`'s launcher (scripts/deploy.mjs),
// in a copy of the project so that touching a source here cannot disturb the bundles other tests
// run from: the launcher runs the deployment from its bundle; a bundle older than one of its
// sources hands over to the sources; nothing is built at run time.
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
  test('the launcher runs from the sources without bundles, from its bundle once built, and from the sources again when a source is newer; it never builds', () => {
    // No bundle: the launcher and the steps run from their sources through tsx (no bundler needed).
    const first = node(['scripts/deploy.mjs', '--no-such-flag'])
    assert.equal(first.status, 2, first.stderr)
    assert.match(first.stderr, /no step takes --no-such-flag/)
    assert.ok(!fs.existsSync(bundle), 'the launcher builds nothing')

    const build = node(['--import', 'tsx', 'scripts/build.ts'])
    assert.equal(build.status, 0, build.stderr)
    assert.ok(fs.existsSync(bundle), 'dist/deploy/deploy.mjs built')
    for (const step of ['00-preflight', '07-verify']) assert.ok(fs.existsSync(path.join(copy, 'dist', 'runbooks', `${step}.mjs`)), step)
    const built = fs.statSync(bundle).mtimeMs

    // Fresh: the same answer from the bundle, which is left as it is.
    const fromBundle = node(['scripts/deploy.mjs', '--no-such-flag'])
    assert.equal(fromBundle.status, 2, fromBundle.stderr)
    assert.match(fromBundle.stderr, /no step takes --no-such-flag/)
    assert.equal(fs.statSync(bundle).mtimeMs, built)

    // A source changed after the bundle was made: the bundle hands over (the new message shows
    // the sources ran); the bundles stay as they were until the next build.
    const source = path.join(copy, 'lib', 'deploy', 'deploy.ts')
    fs.writeFileSync(source, fs.readFileSync(source, 'utf8').replace('deploy: no step takes', 'deploy (changed): no step takes'))
    const later = new Date(built + 2000)
    fs.utimesSync(source, later, later)
    const stale = node(['scripts/deploy.mjs', '--no-such-flag'])
    assert.equal(stale.status, 2, stale.stderr)
    assert.match(stale.stderr, /deploy \(changed\): no step takes --no-such-flag/)
    assert.equal(fs.statSync(bundle).mtimeMs, built, 'not rebuilt')
  })

  test('every package the product imports at run time is a dependency, not a devDependency (npm ci --omit=dev leaves a working runbook)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    const files = (dir: string): string[] =>
      fs
        .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.(ts|mjs)$/.test(e.name) ? [path.join(dir, e.name)] : []))
    const bare = new Set<string>()
    for (const f of [...files('lib'), ...files('runbooks'), ...files('checks'), 'scripts/deploy.mjs']) {
      const text = fs
        .readFileSync(path.join(ROOT, f), 'utf8')
        .replace(/(?:^|\n)\s*(?:import|export) type [^;]*?from\s+['"][^'"]+['"]/g, '\n')
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s(?:[^'"]*?\sfrom\s)?['"]([^'".][^'"]*)['"]/g)) {
        const spec = m[1]!
        if (spec.startsWith('node:')) continue
        bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!)
      }
    }
    assert.ok(bare.has('zx') && bare.has('@aws-sdk/client-ec2'), [...bare].join(' '))
    const missing = [...bare].filter((p) => !pkg.dependencies[p])
    assert.deepEqual(missing, [], 'imported at run time but not in dependencies')
    // The launcher runs the sources through tsx when there is no fresh bundle.
    assert.ok(pkg.dependencies.tsx, 'tsx is a dependency')
  })
})
