import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Logger } from '../../lib/engine/log.ts'
import { waitFor, WaitTimeoutError } from '../../lib/engine/wait.ts'

function logger(): { log: Logger; output: string[] } {
  const output: string[] = []
  return { log: new Logger({ write: (s: string) => output.push(s) }, false), output }
}

describe('waitFor', () => {
  test('returns the value once done; the interval grows with the time waited, so the overshoot stays near 2.5 %', async () => {
    const times: number[] = []
    const t0 = Date.now()
    const v = await waitFor({ what: 'thing', timeoutMs: 5000, intervalMs: 5 }, async () => {
      times.push(Date.now())
      return Date.now() - t0 < 1000 ? { done: false, status: `poll ${times.length}` } : { done: true, status: 'ready', value: 42 }
    })
    assert.equal(v, 42)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    // The shortest of the first gaps is the interval (a busy machine makes some ticks late, never
    // early); the median of the last five, what it grew to.
    const early = Math.min(...gaps.slice(0, 10))
    const late = [...gaps.slice(-5)].sort((a, b) => a - b)[2]!
    assert.ok(late > early * 2, `intervals grow: ${gaps}`)
    // Near the end the interval is about 2.5 % of the time waited (25 ms at 1 s): the shortest of
    // the last gaps, since a busy machine makes ticks late but never early.
    assert.ok(Math.min(...gaps.slice(-5)) <= 25 + 5 + 20, `the last intervals: ${gaps.slice(-5)}`)
    assert.ok(times.length < 150, `${times.length} polls: not a busy loop`)
  })

  test('a timeout says what it waited for and what it last saw', async () => {
    const { log, output } = logger()
    await assert.rejects(
      waitFor({ what: 'NAT gateway nat-1 to be available', timeoutMs: 120, intervalMs: 20, log }, async () => ({
        done: false,
        status: 'nat-1 pending',
      })),
      (e: unknown) =>
        e instanceof WaitTimeoutError && /waiting for NAT gateway nat-1 to be available; last seen: nat-1 pending/.test(e.message),
    )
    assert.match(output.join(''), /waiting for NAT gateway nat-1 to be available \(\d+ms, last seen: nat-1 pending\)/)
  })

  test('a state that cannot become the wanted one stops the wait at once', async () => {
    const t0 = Date.now()
    await assert.rejects(
      waitFor({ what: 'x', timeoutMs: 10_000 }, async () => ({ done: false, status: 'failed', failed: 'it failed: quota' })),
      /x: it failed: quota/,
    )
    assert.ok(Date.now() - t0 < 1000)
  })
})

describe('progress output', () => {
  test('on a terminal: a spinner line rewritten in place; in CI: plain lines only when the status changes', async () => {
    const tty: string[] = []
    const p = new Logger({ write: (s: string) => tty.push(s), isTTY: true }, true).progress('cluster to be ACTIVE')
    p.update('CREATING')
    await new Promise((r) => setTimeout(r, 300))
    p.done()
    assert.ok(tty.some((s) => s.startsWith('\r\x1b[2K') && /waiting for cluster to be ACTIVE \(\d+ms, last seen: CREATING\)/.test(s)))
    const plain: string[] = []
    const q = new Logger({ write: (s: string) => plain.push(s) }, false).progress('x')
    q.update('a')
    q.update('a')
    q.update('b')
    q.done()
    assert.equal(plain.length, 2)
    assert.ok(plain.every((s) => !s.includes('\r') && s.endsWith('\n')))
  })
})
