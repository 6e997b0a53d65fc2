// The simulator's caller while commands run on simulated hosts: overlapping commands that end in
// any order leave it where the knob says once none runs (the README operator path once saw the
// laptop's teardown judged as run on the bastion, after a log read outlived `bastion run`'s command).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HostCallers } from '../../sim/callers.ts'

/** A command that runs until `end()` is called. */
function command() {
  let end!: () => void
  const done = new Promise<void>((r) => (end = r))
  return { done, end }
}

test('host callers: a read that began during a command and ended after it leaves the caller outside', async () => {
  const knob = 'outside'
  const callers = new HostCallers(() => knob)
  const main = command()
  const read = command()
  const a = callers.during('i-bastion', () => main.done)
  assert.equal(callers.current(), 'i-bastion')
  const b = callers.during('i-bastion', () => read.done)
  main.end()
  await a
  assert.equal(callers.current(), 'i-bastion', 'the read still runs on the bastion')
  read.end()
  await b
  assert.equal(callers.current(), 'outside')
})

test('host callers: the latest command still running places the caller; a failed one is done too', async () => {
  let knob = ''
  const callers = new HostCallers(() => knob)
  const one = command()
  const a = callers.during('i-one', () => one.done)
  const b = callers.during('i-two', () => Promise.reject(new Error('no folder')))
  await assert.rejects(b, /no folder/)
  assert.equal(callers.current(), 'i-one')
  knob = 'outside'
  one.end()
  await a
  assert.equal(callers.current(), 'outside', 'the knob, as set meanwhile')
})
