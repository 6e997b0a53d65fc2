// A release left pending by an interrupted helm: a live helm on this host is waited for; an
// abandoned revision is rolled back to the last good one, or uninstalled when it was the first.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'
import type { CommandRunner } from '../../lib/tools/exec.ts'
import { Helm } from '../../lib/tools/helm.ts'
import { helmProcesses, settleInterrupted } from '../../lib/tools/helm-interrupted.ts'
import { Logger } from '../../lib/engine/log.ts'

const row = (status: string, revision = '2') =>
  JSON.stringify([
    {
      name: 'rel',
      namespace: 'default',
      revision,
      updated: '2026-11-26 00:00:00 +0000 UTC',
      status,
      chart: 'scalardl-4.12.0',
      app_version: '3.13.0',
    },
  ])

/** A helm whose `list` answers come from a queue (the last one repeats); every call is recorded. */
function fakeHelm(lists: string[], history: object[]): { helm: Helm; calls: string[] } {
  const calls: string[] = []
  const runner: CommandRunner = async (_c, args) => {
    const a = args.join(' ')
    calls.push(a)
    if (a.startsWith('list')) return { stdout: lists.length > 1 ? lists.shift()! : lists[0]!, stderr: '', exitCode: 0 }
    if (a.startsWith('history')) return { stdout: JSON.stringify(history), stderr: '', exitCode: 0 }
    if (a.startsWith('rollback') || a.startsWith('uninstall')) return { stdout: '', stderr: '', exitCode: 0 }
    return { stdout: '', stderr: `unexpected: ${a}`, exitCode: 99 }
  }
  return { helm: new Helm({ runner }), calls }
}

function quiet(): { log: Logger; lines: string[] } {
  const lines: string[] = []
  return { log: new Logger({ write: (s: string) => lines.push(s) }, false), lines }
}

describe('a release left pending by an interrupted helm', () => {
  test('helm processes on this host are found from their command lines, for this release and a changing verb only', () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'proc-'))
    const cmd = (pid: string, ...argv: string[]) => {
      fs.mkdirSync(path.join(proc, pid))
      fs.writeFileSync(path.join(proc, pid, 'cmdline'), argv.join('\0') + '\0')
    }
    cmd('101', 'node', '--import', 'tsx', '/opt/sim/standins/helm.ts', '--kubeconfig', 'k', 'upgrade', '--install', 'rel', 'repo/chart')
    cmd('102', '/usr/local/bin/helm', 'list', '-a', '-o', 'json')
    cmd('103', 'bash', '-c', 'myhelm upgrade rel')
    cmd('104', '/usr/local/bin/helm', 'rollback', 'rel', '1')
    cmd('105', '/usr/local/bin/helm', 'upgrade', '--install', 'other', 'repo/chart')
    fs.mkdirSync(path.join(proc, 'self'))
    assert.deepEqual(helmProcesses('rel', proc).sort(), [101, 104])
    assert.deepEqual(helmProcesses('rel', path.join(proc, 'absent')), [], 'no /proc: nothing is known to be running')
  })

  test('not pending: nothing to do, one list call', async () => {
    const { helm, calls } = fakeHelm([row('deployed')], [])
    assert.equal(
      await settleInterrupted({ helm, release: 'rel', namespace: 'default', log: quiet().log, timeoutMs: 1000, processes: () => [] }),
      undefined,
    )
    assert.deepEqual(calls, ['list --all -o json -n default'])
  })

  test('a helm still running on this host is waited for, not rolled back under it', async () => {
    const { helm, calls } = fakeHelm([row('pending-upgrade'), row('pending-upgrade'), row('deployed', '3')], [])
    const done = await settleInterrupted({
      helm,
      release: 'rel',
      namespace: 'default',
      log: quiet().log,
      timeoutMs: 10_000,
      processes: () => [4242],
    })
    assert.match(done!, /waited for a running helm/)
    assert.ok(!calls.some((c) => /^(rollback|uninstall|history)/.test(c)), calls.join('; '))
  })

  test('an abandoned upgrade is rolled back to the last good revision, skipping failed ones', async () => {
    const { helm, calls } = fakeHelm(
      [row('pending-upgrade', '4')],
      [
        { revision: 1, status: 'superseded' },
        { revision: 2, status: 'deployed' },
        { revision: 3, status: 'failed' },
        { revision: 4, status: 'pending-upgrade' },
      ],
    )
    const { log, lines } = quiet()
    const done = await settleInterrupted({ helm, release: 'rel', namespace: 'default', log, timeoutMs: 1000, processes: () => [] })
    assert.equal(done, 'rolled back the abandoned revision 4 of rel to 2')
    assert.ok(calls.includes('rollback rel 2 -n default'), calls.join('; '))
    assert.match(lines.join(''), /rel revision 4 was left pending-upgrade by an interrupted run/)
  })

  test('an abandoned first install is uninstalled, so that it installs again', async () => {
    const { helm, calls } = fakeHelm([row('pending-install', '1')], [{ revision: 1, status: 'pending-install' }])
    const done = await settleInterrupted({
      helm,
      release: 'rel',
      namespace: 'default',
      log: quiet().log,
      timeoutMs: 1000,
      processes: () => [],
    })
    assert.equal(done, 'uninstalled the abandoned first install of rel')
    assert.ok(calls.includes('uninstall rel -n default'), calls.join('; '))
  })

  test('a release left uninstalling by a killed uninstall: the uninstall is finished, so that it installs again', async () => {
    const { helm, calls } = fakeHelm([row('uninstalling', '3')], [])
    const done = await settleInterrupted({
      helm,
      release: 'rel',
      namespace: 'default',
      log: quiet().log,
      timeoutMs: 1000,
      processes: () => [],
    })
    assert.equal(done, 'finished the interrupted uninstall of rel')
    assert.deepEqual(calls, ['list --all -o json -n default', 'uninstall rel -n default'])
  })

  test('uninstall works with helm older than 3.13 (no --ignore-not-found): "release: not found" is done', async () => {
    const runner: CommandRunner = async (_c, args) =>
      args.includes('--ignore-not-found')
        ? { stdout: '', stderr: 'Error: unknown flag: --ignore-not-found', exitCode: 1 }
        : { stdout: '', stderr: 'Error: uninstall: Release not loaded: rel: release: not found', exitCode: 1 }
    await new Helm({ runner }).uninstall('rel', 'default')
  })
})
