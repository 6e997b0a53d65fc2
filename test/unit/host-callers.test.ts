// Where the simulator places a caller. While commands run on simulated hosts: overlapping commands
// that end in any order leave it where the knob says once none runs (the README operator path once
// saw the laptop's teardown judged as run on the bastion, after a log read outlived `bastion run`'s
// command). And each host's own instance metadata service answers for that host alone.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HostCallers } from '../../sim/callers.ts'
import { HostImds, imdsAddress } from '../../sim/host-imds.ts'

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

test('host imds: each instance its own loopback address, answering for that instance whoever else calls', async () => {
  const imds = new HostImds(async (_req, res, p, id) => {
    res.end(p === '/latest/meta-data/instance-id' ? id : 'other')
  })
  try {
    const [a, b, again] = await Promise.all([
      imds.url('i-0aaaaaaaaaaaaaaa1'),
      imds.url('i-0bbbbbbbbbbbbbbb2'),
      imds.url('i-0aaaaaaaaaaaaaaa1'),
    ])
    assert.equal(a, again, 'one service per instance')
    assert.notEqual(new URL(a).hostname, new URL(b).hostname, 'an address each: the SDKs keep only host and port')
    assert.match(new URL(a).hostname, /^127\.(1[2-9]\d|2[0-9]\d)\.\d+\.\d+$/)
    assert.equal(new URL(a).hostname, imdsAddress('i-0aaaaaaaaaaaaaaa1'))
    const ask = async (base: string) => (await fetch(`${base}/latest/meta-data/instance-id`)).text()
    assert.deepEqual(await Promise.all([ask(a), ask(b)]), ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2'])
  } finally {
    await imds.closeAll()
  }
})
