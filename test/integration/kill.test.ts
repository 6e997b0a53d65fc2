// A run killed at random points and then rerun ends exactly like an uninterrupted run: one VPC,
// one set of subnets, the right number of NAT gateways and Elastic IPs, one bastion.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { expectedInventory, inventory } from '../helpers/inventory.ts'
import { baseEnv, collect, runStep, spawnStep, tempDir } from '../helpers/run-step.ts'
import { prng } from '../../sim/random.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'

// The simulator, not a bare moto: the bastion's bootstrap runs on its simulated host, and 01 reads
// its marker there through SSM Run Command (moto runs neither user data nor commands).
let sim: Sim
before(() => {
  sim = startSim(['--cloudwatch-interval-ms', '0'])
})
after(() => {
  if (sim) stopSim(sim)
})

/** Starts the step and SIGKILLs it `delayMs` after its first task line appears. */
async function killDuring(script: string, env: NodeJS.ProcessEnv, delayMs: number): Promise<{ killed: boolean; tasksSeen: number }> {
  const child = spawnStep(script, [], env)
  const done = collect(child)
  let tasksSeen = 0
  let timer: NodeJS.Timeout | undefined
  child.stderr!.on('data', (d: Buffer) => {
    tasksSeen += (String(d).match(/^ {2}\S+ (ok|changed)/gm) ?? []).length
    if (!timer && /▶ /.test(String(d))) timer = setTimeout(() => child.kill('SIGKILL'), delayMs)
  })
  const r = await done
  clearTimeout(timer)
  return { killed: r.signal === 'SIGKILL', tasksSeen }
}

describe('killed runs resume without duplicates', () => {
  for (const [mode, nats] of [
    ['single', 1],
    ['per-az', 3],
  ] as const) {
    test(`01-vpc + 02-database, NAT_GATEWAYS=${mode}, killed at seeded random points`, async () => {
      const seeds = mode === 'single' ? [1, 2, 3, 4, 5] : [6, 7, 8]
      // How long an uninterrupted run's tasks take here, so kills land inside it.
      // The first run on a moto pays for its lazy EC2 start-up: measure the second one.
      let span = 0
      for (const n of [1, 2]) {
        const probeEnv = baseEnv({ ...sim.env, CLUSTER_NAME: `probe-${mode}-${n}`, NAT_GATEWAYS: mode, RUNBOOK_STATE_DIR: tempDir() })
        const probe = await runStep('runbooks/01-vpc.ts', ['--json'], probeEnv)
        assert.equal(probe.code, 0, probe.stderr)
        span = probe.json.durationMs
      }
      span = Math.max(span, 100)
      let killedMidway = 0
      for (const seed of seeds) {
        const rand = prng(seed)
        const cluster = `kill-${mode}-${seed}`
        const env = baseEnv({ ...sim.env, CLUSTER_NAME: cluster, NAT_GATEWAYS: mode, RUNBOOK_STATE_DIR: tempDir() })
        // One or two kills in a row, each at a random point of the run.
        const kills = 1 + Math.floor(rand() * 2)
        for (let k = 0; k < kills; k++) {
          const r = await killDuring('runbooks/01-vpc.ts', env, Math.floor(rand() * span * 0.9))
          if (r.killed) killedMidway++
        }
        const resumed = await runStep('runbooks/01-vpc.ts', ['--json'], env)
        assert.equal(resumed.code, 0, `seed ${seed}: ${resumed.stderr}`)
        const db = await runStep('runbooks/02-database.ts', ['--json'], env)
        assert.equal(db.code, 0, `seed ${seed}: ${db.stderr}`)
        assert.deepEqual(await inventory(env, cluster), expectedInventory(nats), `seed ${seed}`)
        const again = await runStep('runbooks/01-vpc.ts', ['--json'], env)
        assert.equal(again.json.status, 'ok', `seed ${seed}: the run after the resume still changed something`)
      }
      assert.ok(
        killedMidway >= Math.ceil(seeds.length / 2),
        `only ${killedMidway} kills landed before the run ended: the test would prove nothing`,
      )
    })
  }
})
