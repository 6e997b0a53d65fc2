// Starts the simulator through its CLI, as scripts outside the project do, and runs the real
// kubectl against it.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { bundleOr } from '../../lib/engine/bundles.ts'
import { sessionKubeconfig } from '../../lib/eks/kube-session.ts'
import { alive } from '../../sim/processes.ts'
import { ROOT, tempDir } from './run-step.ts'

export interface Sim {
  dir: string
  env: NodeJS.ProcessEnv
  cli(...args: string[]): { code: number | null; stdout: string; stderr: string }
  /**
   * The real kubectl. A `--kubeconfig` that eksctl wrote (its user runs `aws eks get-token`) is
   * swapped for a copy holding the same token made in-process, as the runbook does, so a test does
   * not pay the AWS CLI's start-up for every call; `asIs` keeps the file (and its exec plugin).
   */
  kubectl(
    args: string[],
    o?: { input?: string; context?: string; asIs?: boolean },
  ): Promise<{ code: number | null; stdout: string; stderr: string }>
  down(): void
  pids(): number[]
}

export function startSim(flags: string[] = []): Sim {
  const dir = tempDir('sim-')
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [...bundleOr('sim/cli.mjs', 'sim/cli.ts'), ...args, '--state-dir', dir], {
      encoding: 'utf8',
      cwd: ROOT,
    })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  const up = cli('up', ...flags)
  if (up.code !== 0) throw new Error(`sim up failed: ${up.stderr}`)
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' }
  for (const line of fs.readFileSync(path.join(dir, 'env'), 'utf8').split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1)
  }
  const withToken = async (args: string[]): Promise<string[]> => {
    const i = args.indexOf('--kubeconfig')
    const given = i >= 0 ? args[i + 1] : env.KUBECONFIG
    if (!given || !fs.existsSync(given)) return args
    const file = await sessionKubeconfig(given, env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'ap-northeast-1', {
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
        sessionToken: env.AWS_SESSION_TOKEN,
      },
      env,
    })
    return i >= 0 ? [...args.slice(0, i + 1), file, ...args.slice(i + 2)] : ['--kubeconfig', file, ...args]
  }
  const kubectl: Sim['kubectl'] = async (args, o = {}) => {
    const all = [...(o.context ? ['--context', o.context] : []), ...(o.asIs ? args : await withToken(args))]
    return new Promise((resolve) => {
      const child = spawn('kubectl', all, { env, stdio: ['pipe', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.stdin.end(o.input ?? '')
      child.on('close', (code) => resolve({ code, stdout, stderr }))
    })
  }
  const pids = () => {
    const out: number[] = []
    for (const f of ['sim.json', 'moto.json']) {
      try {
        out.push(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).pid)
      } catch {
        // not there
      }
    }
    return out
  }
  return { dir, env, cli, kubectl, down: () => void cli('down'), pids }
}

/** Runs a command (a stand-in on the simulator's PATH) with the simulator's environment. */
export function runIn(sim: Sim, command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: sim.env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Stops the simulator and fails if any process it started is still alive. */
export function stopSim(sim: Sim): void {
  const pids = sim.pids()
  sim.down()
  const left = pids.filter((pid) => alive(pid))
  if (left.length) throw new Error(`the simulator left processes running: ${left.join(', ')}`)
}

export { alive }

/** Polls until fn returns a truthy value or the deadline passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let delay = 50
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 500)
  }
}
