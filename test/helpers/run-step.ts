// Runs a runbook script as the operator would: its own process, flags, environment, exit code.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { fresh } from '../../lib/engine/bundles.ts'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const TSX = import.meta.resolve('tsx')

interface StepRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  json?: any
}

/** A clean environment: no developer's AWS profile or .env leaks into a test. */
export function baseEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NO_WARNINGS: '1', CI: 'true', LANG: 'C.UTF-8' }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v
  return env
}

const made: string[] = []
// A test file's temporary directories go when its process ends (the simulators it started are
// stopped by then), unless KEEP_TEST_DIRS=1 keeps them for a look.
process.on('exit', () => {
  if (process.env.KEEP_TEST_DIRS === '1') return
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true })
})

export function tempDir(prefix = 'rb-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  made.push(dir)
  return dir
}

/**
 * node's arguments to run a script of runbooks/ as `npm test` has built it: its ahead-of-time
 * bundle when fresh (a quarter of tsx's start-up), else the TypeScript source through tsx (a test
 * run alone, before any build, or a source edited since).
 */
export function scriptArgs(script: string): string[] {
  const file = path.isAbsolute(script) ? script : path.join(ROOT, script)
  const rel = path.relative(ROOT, file)
  const bundle = rel.startsWith('runbooks/') ? fresh(rel.replace(/\.ts$/, '.mjs')) : undefined
  return bundle ? [bundle] : ['--import', TSX, file]
}

export function spawnStep(script: string, args: string[], env: NodeJS.ProcessEnv, cwd = tempDir()): ChildProcess {
  return spawn(process.execPath, [...scriptArgs(script), ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
}

export function collect(child: ChildProcess): Promise<StepRun> {
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      let json
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined
      } catch {
        json = undefined
      }
      resolve({ code, signal, stdout, stderr, json })
    })
  })
}

export function runStep(script: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<StepRun> {
  return collect(spawnStep(script, args, env, cwd))
}
