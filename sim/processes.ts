// The simulator's processes by their PIDs (moto, the daemon): whether one runs, and stopping it.

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * SIGTERM, then waits for the process to end; after `graceMs` it is killed, and then waited for
 * again (a SIGKILL is delivered asynchronously, so the process is not gone the moment kill returns).
 */
export async function terminate(pid: number, graceMs = 5000): Promise<void> {
  if (!alive(pid)) return
  process.kill(pid, 'SIGTERM')
  const until = async (deadline: number) => {
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  }
  await until(Date.now() + graceMs)
  if (!alive(pid)) return
  console.error(`process ${pid} did not stop within ${graceMs} ms of SIGTERM; killing it`)
  process.kill(pid, 'SIGKILL')
  await until(Date.now() + 5000)
}
