// `npm run deploy [-- --dry-run --env-file PATH ...]`: runs the numbered steps in order (00 to
// 07, those present) and stops at the first that fails, with its exit code. 05-auditor runs only
// with AUDITOR_ENABLED=true. Teardown (99) is never part of it.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { stepArgs } from './bundles.ts'
import { ensureBuilt } from '../scripts/build.ts'
import { isTrue, loadEnvFile } from './config.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dir = path.join(root, 'runbooks')
const steps = fs
  .readdirSync(dir)
  .filter((f) => /^0\d-[\w-]+\.ts$/.test(f))
  .sort()
const args = process.argv.slice(2).filter((a) => a !== '--json')
const envFileAt = args.indexOf('--env-file')
const env = { ...process.env }
try {
  loadEnvFile(envFileAt >= 0 ? args[envFileAt + 1] : undefined, env)
} catch {
  // the first step reports a missing env file with its fix
}
const auditor = isTrue(env.AUDITOR_ENABLED)
const selected = steps.filter((f) => auditor || !f.startsWith('05-auditor'))

// Steps start from their ahead-of-time bundles (half the start-up); built here when stale.
await ensureBuilt().catch((err) => console.error(`note: running the steps from their sources (could not build dist/: ${(err as Error).message})`))

for (const file of selected) {
  const res = spawnSync(process.execPath, [...stepArgs(file.replace(/\.ts$/, '')), ...args], { stdio: 'inherit' })
  const code = res.status ?? 1
  if (code !== 0) {
    console.error(`\ndeploy stopped at ${file} (exit ${code}). Fix the cause shown above and rerun: finished steps report ok and change nothing.`)
    process.exit(code)
  }
}
console.error(`\ndeploy: ${selected.length} steps done${auditor ? '' : ' (05-auditor skipped: AUDITOR_ENABLED is not true)'} (${selected.map((s) => s.replace(/\.ts$/, '')).join(', ')})`)
