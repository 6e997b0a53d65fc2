// The run lock against moto's DynamoDB: one mutating run per cluster, who holds it and since
// when, leases that expire, stale locks of killed runs on this host, --force-unlock.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb'
import { startMoto, type Moto } from '../../sim/moto.ts'
import { LockHeld, LOCK_TABLE, RunLock } from '../../lib/engine/lock.ts'
import { baseEnv, runStep, tempDir } from '../helpers/run-step.ts'

let moto: Moto
const saved: Record<string, string | undefined> = {}
before(async () => {
  moto = await startMoto()
  // RunLock uses the SDK's own environment, as the runbook does.
  for (const [k, v] of Object.entries(moto.env())) {
    saved[k] = process.env[k]
    process.env[k] = v
  }
})
after(async () => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  await moto?.stop()
})

const foreignLock = async (cluster: string, expiresAt: number) => {
  const db = new DynamoDBClient({ region: 'ap-northeast-1' })
  await db.send(
    new PutItemCommand({
      TableName: LOCK_TABLE,
      Item: {
        lockId: { S: cluster },
        step: { S: '03-eks' },
        holder: { S: 'alice@bastion-2 pid 4242' },
        host: { S: 'bastion-2' },
        pid: { N: '4242' },
        runId: { S: 'r-alice' },
        acquiredAt: { N: String(Date.now() - 60_000) },
        expiresAt: { N: String(expiresAt) },
      },
    }),
  )
  db.destroy()
}

describe('run lock', () => {
  test('one holder at a time, named when refused; released, then free; the table is made on first use', async () => {
    const a = new RunLock('ap-northeast-1', 'lk-1', '01-vpc', 60_000)
    await a.acquire()
    const b = new RunLock('ap-northeast-1', 'lk-1', '04-scalardl', 60_000)
    await assert.rejects(
      b.acquire(),
      (e: unknown) =>
        e instanceof LockHeld && e.by.step === '01-vpc' && /holds the lock of lk-1: 01-vpc by .* since \d{4}-/.test(e.message),
    )
    // Another cluster is not blocked.
    const other = new RunLock('ap-northeast-1', 'lk-other', '01-vpc', 60_000)
    await other.acquire()
    await other.release()
    await a.release()
    await b.acquire()
    await b.release()
  })

  test('a lease runs out; a dead holder on this host is taken over at once; a live remote one is not', async () => {
    await foreignLock('lk-2', Date.now() - 1000) // expired
    const l = new RunLock('ap-northeast-1', 'lk-2', '01-vpc', 60_000)
    await l.acquire()
    await l.release()
    await foreignLock('lk-3', Date.now() + 60_000) // alive elsewhere
    await assert.rejects(new RunLock('ap-northeast-1', 'lk-3', '01-vpc', 60_000).acquire(), LockHeld)
    // A killed run on this host: its pid is gone.
    const dead = new RunLock('ap-northeast-1', 'lk-4', '03-eks', 60_000)
    await dead.acquire()
    const db = new DynamoDBClient({ region: 'ap-northeast-1' })
    await db.send(
      new PutItemCommand({
        TableName: LOCK_TABLE,
        Item: {
          lockId: { S: 'lk-4' },
          step: { S: '03-eks' },
          holder: { S: 'killed' },
          host: { S: (await import('node:os')).hostname() },
          pid: { N: '999999' },
          runId: { S: 'r-killed' },
          acquiredAt: { N: String(Date.now()) },
          expiresAt: { N: String(Date.now() + 600_000) },
        },
      }),
    )
    db.destroy()
    const next = new RunLock('ap-northeast-1', 'lk-4', '03-eks', 60_000)
    await next.acquire()
    await next.release()
  })

  test('a step refuses while another run holds the lock (exit 1, who and since when); --force-unlock needs confirmation', async () => {
    await foreignLock('lk-step', Date.now() + 600_000)
    const env = baseEnv({ ...moto.env(), CLUSTER_NAME: 'lk-step', RUNBOOK_STATE_DIR: tempDir(), BASTION_ENABLED: 'false' })
    const r = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /another run holds the lock of lk-step: 03-eks by alice@bastion-2 pid 4242 since/)
    assert.match(r.stderr, /--force-unlock/)
    assert.equal(r.json.tasks[0].title, 'Run lock')
    // --dry-run needs no lock.
    assert.equal((await runStep('runbooks/01-vpc.ts', ['--dry-run'], env)).code, 0)
    const unconfirmed = await runStep('runbooks/01-vpc.ts', ['--force-unlock'], env)
    assert.equal(unconfirmed.code, 2, unconfirmed.stderr)
    const forced = await runStep('runbooks/01-vpc.ts', ['--force-unlock', '--yes'], env)
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(forced.stderr, /removed the lock of lk-step held by 03-eks \(alice@bastion-2 pid 4242\)/)
    const now = await runStep('runbooks/01-vpc.ts', ['--json'], env)
    assert.equal(now.code, 0, now.stderr)
    assert.equal(await new RunLock('ap-northeast-1', 'lk-step', 'x', 1000).current(), undefined, 'released at the end of the run')
  })
})
