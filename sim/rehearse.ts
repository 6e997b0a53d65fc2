// `npm run rehearse`: the runbook end to end against the local simulator. Starts a private moto
// server, puts the sim/bin stand-ins first on PATH, runs the steps in order, then runs them again
// to show a rerun changes nothing, and stops moto. Nothing leaves this machine.
//   npm run rehearse [-- --keep]   (--keep leaves moto running and prints how to reach it)
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startMoto } from './moto.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const STEPS = ['00-preflight', '01-vpc', '02-database']
const keep = process.argv.includes('--keep')

const moto = await startMoto()
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scalardl-rehearsal-'))
const env: NodeJS.ProcessEnv = {
  ...process.env,
  ...moto.env('ap-northeast-1'),
  CLUSTER_NAME: 'rehearsal',
  RUNBOOK_STATE_DIR: stateDir,
  PATH: `${path.join(root, 'sim', 'bin')}${path.delimiter}${process.env.PATH}`,
  NODE_NO_WARNINGS: '1',
}
delete env.AWS_PROFILE

/** Runs one step with --json; returns its exit code and reported status. */
function run(step: string): { code: number; status?: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'runbooks', `${step}.ts`), '--env-file', path.join(root, '.env.example'), '--json'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: root,
    encoding: 'utf8',
  })
  let status: string | undefined
  try {
    status = JSON.parse(res.stdout).status
  } catch {
    // reported below through the exit code
  }
  return { code: res.status ?? 1, status }
}

let failed = false
try {
  console.error(`rehearsal: moto on ${moto.url} (pid ${moto.pid}), state in ${stateDir}`)
  for (const pass of ['first run', 'rerun: nothing should change']) {
    console.error(`\n=== ${pass} ===\n`)
    for (const step of STEPS) {
      const r = run(step)
      if (r.code !== 0 || (pass.startsWith('rerun') && r.status !== 'ok')) {
        console.error(`\n${step} ${r.code !== 0 ? `exited ${r.code}` : `reported "${r.status}" on a rerun instead of "ok"`}`)
        failed = true
        break
      }
    }
    if (failed) break
  }
} finally {
  if (keep) {
    console.error(`\nmoto keeps running (pid ${moto.pid}). Reach it with:\n  export AWS_ENDPOINT_URL=${moto.url} AWS_REGION=ap-northeast-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing CLUSTER_NAME=rehearsal\nStop it with: kill ${moto.pid}`)
  } else {
    await moto.stop()
  }
}
console.error(failed ? '\nrehearsal FAILED' : '\nrehearsal passed: every step ran, and the rerun changed nothing')
process.exit(failed ? 1 : 0)
