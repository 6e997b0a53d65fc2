// The start gate (lib/main.ts) that lets `npm run deploy` start a step's process ahead of its
// turn: the step waits for one line of environment on stdin, or exits 0 doing nothing when stdin
// closes first.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, test } from 'node:test'
import { stepArgs } from '../../scripts/build.ts'

function gated(stdin: string | undefined, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...stepArgs('02-database'), ...args], {
      env: { ...process.env, RUNBOOK_START_GATE: 'stdin', NODE_NO_WARNINGS: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => resolve({ code: code ?? 1, out }))
    // Written after start-up, as the deploy does when the step's turn comes.
    setTimeout(() => child.stdin.end(stdin), 200)
  })
}

describe('start gate', () => {
  test('stdin closed before a line: the step exits 0 and does nothing', async () => {
    const r = await gated(undefined, ['--help'])
    assert.equal(r.code, 0)
    assert.equal(r.out, '')
  })

  test('a line of environment lets the step run with it', async () => {
    // The variable from the gate is what the step validates: an invalid cluster name exits 2 naming it.
    const r = await gated('{"CLUSTER_NAME": "Not A Valid Name"}\n', ['--dry-run'])
    assert.equal(r.code, 2, r.out)
    assert.match(r.out, /CLUSTER_NAME: .*got "Not A Valid Name"/)
    assert.match(r.out, /nothing was changed/)
  })
})
