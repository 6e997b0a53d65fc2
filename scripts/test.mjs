// Runs test files with node's test runner, beside one moto zygote (sim/moto-zygote.py): the suite
// starts about sixty moto servers, and each would pay about 2.4 s of CPU for Python's imports and
// the warm-up before its first answer. Forked from the zygote, a server starts in about 40 ms with
// the same backends. Without a Python that imports moto (moto_server installed another way), the
// servers are spawned as before, and this says so.
// Usage: node scripts/test.mjs [node --test flags] FILES...
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moto-zygote-'))
const socket = path.join(dir, 'zygote.sock')

/** Starts the zygote; resolves true once its socket is there, false if it ends first. */
function startZygote() {
  const log = fs.openSync(path.join(dir, 'zygote.log'), 'a')
  const zygote = spawn(process.env.MOTO_PYTHON ?? 'python3', [path.join(root, 'sim', 'moto-zygote.py'), socket], {
    stdio: ['ignore', log, log],
  })
  fs.closeSync(log)
  const up = new Promise((resolve) => {
    const deadline = Date.now() + 30_000
    const poll = () => {
      if (fs.existsSync(socket)) return resolve(true)
      if (zygote.exitCode !== null || zygote.signalCode || Date.now() > deadline) return resolve(false)
      setTimeout(poll, 50)
    }
    zygote.once('error', () => resolve(false))
    poll()
  })
  return { zygote, up }
}

const { zygote, up } = startZygote()
const env = { ...process.env }
if (await up) env.MOTO_ZYGOTE = socket
else {
  const said = fs.readFileSync(path.join(dir, 'zygote.log'), 'utf8').trim().split('\n').slice(-3).join('\n')
  console.error(`moto zygote not started (each test's moto_server starts on its own, slower): ${said}`)
}

const runner = spawn(process.execPath, ['--import', 'tsx', '--test', ...process.argv.slice(2)], { cwd: root, env, stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => runner.kill(signal))
const code = await new Promise((resolve) => runner.on('close', (c, s) => resolve(c ?? (s ? 1 : 0))))
// Removing the socket ends the zygote too (it checks), should SIGTERM not reach it.
fs.rmSync(dir, { recursive: true, force: true })
zygote.kill('SIGTERM')
process.exit(code)
