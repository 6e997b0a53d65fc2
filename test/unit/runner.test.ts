import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CreateVpcCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2'
import { AwsSession, DryRunViolation, isMutating } from '../../lib/aws/clients.ts'
import { parseConfig } from '../../lib/config/load.ts'
import { Logger } from '../../lib/engine/log.ts'
import { executeStep, recapLine } from '../../lib/engine/runner.ts'
import { defineStep, sideBySide, type Task, type TaskContext } from '../../lib/engine/task.ts'

function context(dryRun = false): { ctx: TaskContext; output: string[] } {
  const output: string[] = []
  const log = new Logger({ write: (s: string) => output.push(s) }, false)
  const config = parseConfig({ AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'unit' })
  return { ctx: { config, dryRun, yes: false, log, aws: new AwsSession(config.region, dryRun), flags: {} }, output }
}

/** A task over a boolean in memory, counting its applies. */
function toggle(title: string, world: Record<string, boolean>, key: string): Task & { applied: number } {
  const t = {
    title,
    applied: 0,
    async check() {
      return world[key] ? { holds: true, detail: `${key} is on` } : { holds: false, detail: `turn ${key} on` }
    },
    async apply() {
      t.applied++
      world[key] = true
      return `turned ${key} on`
    },
  }
  return t
}

describe('task runner', () => {
  test('changed on the first run, ok on the second: apply runs only when check does not hold', async () => {
    const world = { a: false, b: true }
    const a = toggle('A', world, 'a')
    const b = toggle('B', world, 'b')
    const step = defineStep({ name: '99-unit', description: 'unit', tasks: [a, b] })
    const first = await executeStep(step, context().ctx, {})
    assert.equal(first.status, 'changed')
    assert.deepEqual(first.summary, { ok: 1, changed: 1, planned: 0, failed: 0, skipped: 0 })
    assert.deepEqual(
      first.tasks.map((t) => [t.title, t.status, t.detail]),
      [
        ['A', 'changed', 'turned a on'],
        ['B', 'ok', 'b is on'],
      ],
    )
    const second = await executeStep(step, context().ctx, {})
    assert.equal(second.status, 'ok')
    assert.equal(a.applied + b.applied, 1)
    assert.match(recapLine(second), /^RECAP 99-unit: ok=2 changed=0 planned=0 failed=0 skipped=0/)
  })

  test('--dry-run plans and never applies', async () => {
    const world = { a: false }
    const a = toggle('A', world, 'a')
    const r = await executeStep(defineStep({ name: 'x', description: 'x', tasks: [a] }), context(true).ctx, {})
    assert.equal(r.status, 'planned')
    assert.equal(r.tasks[0]!.detail, 'turn a on')
    assert.equal(a.applied, 0)
    assert.equal(world.a, false)
  })

  test('a failure stops the step, says why with a hint, and skips the rest', async () => {
    const world = { c: false }
    const boom: Task = {
      title: 'Boom',
      async check() {
        return { holds: false }
      },
      async apply() {
        throw Object.assign(new Error('UnauthorizedOperation: You are not authorized'), {
          name: 'UnauthorizedOperation',
          operation: 'EC2:CreateVpc',
        })
      },
    }
    const later = toggle('Later', world, 'c')
    const { ctx, output } = context()
    const r = await executeStep(defineStep({ name: 'x', description: 'x', tasks: [boom, later] }), ctx, {})
    assert.equal(r.status, 'failed')
    assert.deepEqual(r.summary, { ok: 0, changed: 0, planned: 0, failed: 1, skipped: 1 })
    assert.match(r.tasks[0]!.detail, /^EC2:CreateVpc failed: UnauthorizedOperation/)
    assert.equal(r.tasks[1]!.status, 'skipped')
    assert.equal(later.applied, 0)
    assert.match(output.join(''), /hint: the AWS identity lacks a permission/)
  })

  test('a conflict fails even in --dry-run; an assertion-only task fails when it does not hold', async () => {
    const conflict: Task = {
      title: 'C',
      check: async () => ({ holds: false, conflict: 'exists but is not ours', hint: 'rename' }),
      apply: async () => 'never',
    }
    const r = await executeStep(defineStep({ name: 'x', description: 'x', tasks: [conflict] }), context(true).ctx, {})
    assert.equal(r.status, 'failed')
    assert.equal(r.tasks[0]!.detail, 'exists but is not ours')
    const assertion: Task = { title: 'Assert', check: async () => ({ holds: false, detail: 'not there' }) }
    const r2 = await executeStep(defineStep({ name: 'x', description: 'x', tasks: [assertion] }), context().ctx, {})
    assert.equal(r2.tasks[0]!.status, 'failed')
    assert.equal(r2.tasks[0]!.detail, 'not there')
  })

  test('a checklist (continueOnFailure, concurrent) runs every check at once and reports in order', async () => {
    const started: number[] = []
    /** How many checks had started when each one finished: 3 each when they ran at once. */
    const startedWhenDone: number[] = []
    const slow = (i: number, holds: boolean): Task => ({
      title: `T${i}`,
      async check() {
        started.push(i)
        await new Promise((r) => setTimeout(r, 50))
        startedWhenDone.push(started.length)
        return { holds, detail: String(i) }
      },
    })
    const r = await executeStep(
      defineStep({
        name: 'x',
        description: 'x',
        continueOnFailure: true,
        concurrent: true,
        tasks: [slow(0, true), slow(1, false), slow(2, true)],
      }),
      context().ctx,
      {},
    )
    // Every check had started before the first one finished: they ran at once (no clock involved).
    assert.deepEqual(startedWhenDone, [3, 3, 3], 'checks ran concurrently')
    assert.deepEqual(
      r.tasks.map((t) => t.status),
      ['ok', 'failed', 'ok'],
    )
    assert.deepEqual(r.summary, { ok: 2, changed: 0, planned: 0, failed: 1, skipped: 0 })
  })

  test('side-by-side lanes run at once, report in the order written, and a failure skips what follows', async () => {
    // Lane A's apply waits for lane B's: run one after the other, the step would never end.
    let releaseA!: () => void
    const gate = new Promise<void>((r) => (releaseA = r))
    const world = { a: false, b: false, c: false, after: false }
    const a: Task = {
      ...toggle('A', world, 'a'),
      async apply() {
        await gate
        world.a = true
        return 'a after b'
      },
    }
    const b: Task = {
      ...toggle('B', world, 'b'),
      async apply() {
        world.b = true
        releaseA()
        return 'b'
      },
    }
    const c = toggle('C', world, 'c')
    const after = toggle('After', world, 'after')
    const step = defineStep({ name: 'x', description: 'x', tasks: [sideBySide([a, c], b), after] })
    const { ctx, output } = context()
    const r = await executeStep(step, ctx, {})
    assert.deepEqual(
      r.tasks.map((t) => [t.title, t.status]),
      [
        ['A', 'changed'],
        ['C', 'changed'],
        ['B', 'changed'],
        ['After', 'changed'],
      ],
    )
    assert.ok(output.join('').indexOf(' B') < output.join('').indexOf(' A'), 'the log shows each task as it ends')

    // A failure in one lane: its lane stops, the other lane's running task ends, and nothing after runs.
    const w2 = { x: false, y: false, z: false, later: false }
    const failing: Task = {
      title: 'X',
      async check() {
        return { holds: false }
      },
      async apply() {
        throw new Error('no')
      },
    }
    const y: Task = {
      ...toggle('Y', w2, 'y'),
      async apply() {
        await new Promise((res) => setTimeout(res, 30))
        w2.y = true
        return 'y'
      },
    }
    const z = toggle('Z', w2, 'z')
    const later = toggle('Later', w2, 'later')
    const r2 = await executeStep(
      defineStep({ name: 'x', description: 'x', tasks: [sideBySide([failing, later], [y, z]), toggle('End', w2, 'later')] }),
      context().ctx,
      {},
    )
    assert.deepEqual(
      r2.tasks.map((t) => [t.title, t.status]),
      [
        ['X', 'failed'],
        ['Later', 'skipped'],
        ['Y', 'changed'],
        ['Z', 'skipped'],
        ['End', 'skipped'],
      ],
    )
    assert.equal(r2.status, 'failed')
    assert.deepEqual(r2.summary, { ok: 0, changed: 1, planned: 0, failed: 1, skipped: 3 })
    assert.equal(w2.later, false)
  })

  test('the AWS session refuses mutating calls in --dry-run before anything is sent, and records calls', async () => {
    process.env.AWS_ACCESS_KEY_ID ??= 'x'
    process.env.AWS_SECRET_ACCESS_KEY ??= 'y'
    const session = new AwsSession('ap-northeast-1', true)
    // An endpoint nothing listens on: a call that got through would fail with ECONNREFUSED instead.
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9'
    await assert.rejects(session.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' })), DryRunViolation)
    await assert.rejects(session.ec2.send(new DescribeVpcsCommand({})), (e: any) => e.operation === 'EC2:DescribeVpcs')
    delete process.env.AWS_ENDPOINT_URL
    assert.deepEqual(session.summary().operations, { 'EC2:DescribeVpcs': 1 })
    assert.equal(session.summary().mutating, 0)
    assert.ok(
      isMutating('RunInstances') &&
        isMutating('CreateTags') &&
        !isMutating('DescribeInstances') &&
        !isMutating('GetCallerIdentity') &&
        !isMutating('ListTables'),
    )
  })
})
