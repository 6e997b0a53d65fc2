// The simulator daemon's --pending-ms (sim/kube/pending.ts): one figure, or kinds with their own;
// a figure that is not a whole number of milliseconds, or a kind there is not, is refused.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pendingFlag } from '../../sim/kube/pending.ts'

test('--pending-ms: one figure scaled; kinds given their own, the rest the first figure', () => {
  assert.equal(pendingFlag('180000', 0.01), 1800)
  assert.deepEqual(pendingFlag('180000,instance=600000', 0.01), { nat: 1800, instance: 6000, cluster: 1800, nodegroup: 1800 })
  assert.deepEqual(pendingFlag('0,nat=5,cluster=7'), { nat: 5, instance: 0, cluster: 7, nodegroup: 0 })
})

test('--pending-ms: a kind there is not, or a figure that is no number, is refused with the flag', () => {
  assert.throws(() => pendingFlag('1000,bastion=5'), /no kind bastion \(nat, instance, cluster, nodegroup\)/)
  assert.throws(() => pendingFlag('1000,instance'), /instance must be a whole number of milliseconds: 1000,instance/)
  assert.throws(() => pendingFlag('1000,instance=6s'), /instance must be a whole number/)
  assert.throws(() => pendingFlag('fast'), /the first figure must be a whole number/)
  assert.throws(() => pendingFlag(''), /the first figure/)
})
