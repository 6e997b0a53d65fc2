// One judge of a Pod for 04's rollout and 07's pods check: every container counts.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { podProblem as judge } from '../../lib/tools/pod-health.ts'
import { podProblem as rolloutJudge } from '../../lib/scalardl/rollout.ts'
import { podProblem as verifyJudge } from '../../lib/verify/check.ts'

const pod = (status: object) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status }) as never

describe('the one judge of a Pod', () => {
  test('a second container crash-looping makes the Pod crashing, for 04 and 07 alike', () => {
    const p = pod({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [
        { name: 'ledger', ready: true, state: { running: {} } },
        { name: 'sidecar', restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } } },
      ],
    })
    assert.deepEqual(judge(p), { reason: 'CrashLoopBackOff (4 restarts)', crash: true })
    assert.deepEqual(rolloutJudge(p), judge(p))
    assert.equal(verifyJudge(p), 'CrashLoopBackOff (4 restarts)')
  })

  test('Ready; unschedulable; terminated; running but not ready', () => {
    assert.equal(judge(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })), undefined)
    assert.equal(
      judge(
        pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes' }] }),
      )?.reason,
      'Pending: 0/3 nodes',
    )
    assert.equal(
      judge(pod({ phase: 'Failed', containerStatuses: [{ name: 'c', state: { terminated: { reason: 'Error', exitCode: 1 } } }] }))?.reason,
      'Error (exit 1)',
    )
    assert.equal(judge(pod({ phase: 'Running', conditions: [] }))?.reason, 'Running but not Ready')
  })
})
