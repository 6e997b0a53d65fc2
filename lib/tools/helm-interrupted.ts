// A release left `pending-install`, `pending-upgrade` or `pending-rollback` by a helm that died
// (the bastion session dropped, the step was killed) blocks every later upgrade with "another
// operation (install/upgrade/rollback) is in progress", forever: helm records no owner. The run
// lock already excludes another runbook run; a helm still working on the release on this host
// (the orphaned child of a killed step) is waited for. Otherwise the pending revision is known to
// be abandoned and is settled the way helm's maintainers advise: rolled back to the last good
// revision, or, for a first install that never finished, uninstalled so that it installs again.
import fs from 'node:fs'
import path from 'node:path'
import type { Helm } from './helm.ts'
import type { Logger } from '../engine/log.ts'
import { waitFor } from '../engine/wait.ts'

const PENDING = /^(pending-|uninstalling$)/
const UNINSTALLING = 'uninstalling'
const GOOD = new Set(['deployed', 'superseded'])
const VERBS = new Set(['upgrade', 'install', 'rollback', 'uninstall'])

/** Pids of helm processes on this host working on `release` (from /proc; none where there is no /proc). */
export function helmProcesses(release: string, procDir = '/proc'): number[] {
  let entries: string[]
  try {
    entries = fs.readdirSync(procDir)
  } catch {
    return []
  }
  const found: number[] = []
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    let argv: string[]
    try {
      argv = fs.readFileSync(path.join(procDir, e, 'cmdline'), 'utf8').split('\0')
    } catch {
      continue // gone, or not ours to read
    }
    const helmAt = argv.findIndex((a) => /^helm(\.ts|\.js)?$/.test(path.basename(a)))
    if (helmAt < 0) continue
    const rest = argv.slice(helmAt + 1)
    if (rest.some((a) => VERBS.has(a)) && rest.includes(release)) found.push(Number(e))
  }
  return found
}

interface SettleOptions {
  helm: Helm
  release: string
  namespace: string
  log: Logger
  timeoutMs: number
  /** Injected in tests. */
  processes?: (release: string) => number[]
}

/**
 * Makes sure the release is not pending (or being uninstalled) before an upgrade: waits for a
 * live helm, settles an abandoned revision. Returns what it did, or undefined when there was nothing to do.
 */
export async function settleInterrupted(o: SettleOptions): Promise<string | undefined> {
  const { helm, release, namespace, log } = o
  const current = await helm.release(release, namespace)
  if (!current || !PENDING.test(current.status)) return undefined
  if (current.status === UNINSTALLING && !(o.processes ?? helmProcesses)(release).length) {
    // helm/helm v3.16.4 pkg/action/uninstall.go:103-125: an uninstall marks the release
    // `uninstalling` before deleting anything; killed then, the release stays so and every
    // `upgrade --install` fails with `has no deployed releases` (upgrade.go:229-235). Running the
    // uninstall again finishes it (uninstall.go:92 goes on for any status but uninstalled).
    log.warn(`${release} was left uninstalling by an interrupted run: finishing the uninstall, then it is installed again`)
    await helm.uninstall(release, namespace)
    return `finished the interrupted uninstall of ${release}`
  }
  const live = (o.processes ?? helmProcesses)(release)
  if (live.length) {
    await waitFor(
      {
        what: `helm (pid ${live.join(', ')}) to finish its operation on ${release}`,
        timeoutMs: o.timeoutMs,
        log,
        hint: `a helm left running by an interrupted step still holds ${release}: let it finish, or stop it (kill ${live.join(' ')}) and rerun`,
      },
      async () => {
        const r = await helm.release(release, namespace)
        const s = r?.status ?? 'gone'
        return { done: !PENDING.test(s), status: `${release} ${s}` }
      },
    )
    return `waited for a running helm to finish on ${release}`
  }
  const revisions = await helm.history(release, namespace)
  const pending = revisions.at(-1)!
  const good = revisions.filter((r) => r.revision < pending.revision && GOOD.has(r.status)).at(-1)
  const why = `${release} revision ${pending.revision} was left ${pending.status} by an interrupted run (no helm is working on it)`
  if (good) {
    log.warn(`${why}: rolling back to revision ${good.revision}`)
    await helm.rollback(release, good.revision, namespace)
    return `rolled back the abandoned revision ${pending.revision} of ${release} to ${good.revision}`
  }
  log.warn(`${why}: it never finished installing, so it is uninstalled and installed again`)
  await helm.uninstall(release, namespace)
  return `uninstalled the abandoned first install of ${release}`
}
