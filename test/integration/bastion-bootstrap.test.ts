// The bastion's bootstrap, known to have worked: the simulator runs the user data on the bastion's
// simulated host as cloud-init would (once, after the instance is running), against a local fixture
// of the downloads (sim/bootstrap-downloads.ts). 01-vpc judges the bastion by the bootstrap's own
// marker, read through SSM Run Command: a failed bootstrap is reported with the end of its log and
// exit 1, and a rerun once the cause is gone runs it again through SSM and succeeds; a rerun on a
// finished bastion changes nothing. `npm run bastion -- push` waits for a bootstrap still running,
// and refuses one that failed.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm'
import { renderBootstrap, type Bootstrap } from '../../lib/bastion/bootstrap.ts'
import { awsConfig } from '../helpers/aws.ts'
import { collect, runStep, spawnStep, tempDir } from '../helpers/run-step.ts'
import { eventually, startSim, stopSim, type Sim } from '../helpers/sim.ts'

let sim: Sim
const want = renderBootstrap('1.35') as Bootstrap

before(() => {
  sim = startSim(['--pod-start-ms', '50', '--cloudwatch-interval-ms', '0'])
  assert.equal(sim.cli('knobs', '--caller', 'outside').code, 0)
})
after(() => stopSim(sim))

/** An operator's laptop for CLUSTER: its .env (secrets included, as an operator has them) and environment. */
function laptop(cluster: string, cidr: string) {
  const state = tempDir(`rb-boot-${cluster}-`)
  const envFile = path.join(state, '.env')
  const config: Record<string, string> = {
    CLUSTER_NAME: cluster,
    AWS_REGION: 'ap-northeast-1',
    VPC_CIDR: cidr,
    KUBERNETES_VERSION: '1.35',
    GITHUB_USERNAME: 'octo',
    GITHUB_TOKEN: ['ghp', 'bootstrapTestToken00000000000000000'].join('_'),
    SCALARDL_DB_USERNAME: 'AKIABOOTSTRAPTEST000',
    SCALARDL_DB_PASSWORD: ['boot', 'strap', 'db', 'secret'].join('-'),
    LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
  }
  fs.writeFileSync(
    envFile,
    `${Object.entries(config)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  )
  const env: NodeJS.ProcessEnv = { ...sim.env, NODE_NO_WARNINGS: '1', CI: 'true', RUNBOOK_STATE_DIR: path.join(state, 'runbook') }
  const run = (script: string, args: string[] = []) => runStep(script, ['--env-file', envFile, ...args], env, state)
  const tool = (args: string[]) => runStep('runbooks/bastion.ts', [args[0]!, '--env-file', envFile, ...args.slice(1)], env, state)
  return { state, envFile, env, run, tool }
}

async function bastionOf(cluster: string): Promise<string | undefined> {
  const ec2 = new EC2Client(awsConfig(sim.env))
  try {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:scalardl-runbook/cluster', Values: [cluster] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      }),
    )
    return out.Reservations?.[0]?.Instances?.[0]?.InstanceId
  } finally {
    ec2.destroy()
  }
}

const marker = (id: string, name: string) => path.join(sim.dir, 'hosts', id, 'usr', 'local', 'lib', 'scalardl-runbook', name)
const toolsTask = (json: { tasks: { title: string; status: string; detail: string }[] }) =>
  json.tasks.find((t) => t.title.startsWith('Bastion tools'))!
const lastJournal = (env: NodeJS.ProcessEnv) =>
  JSON.parse(fs.readFileSync(path.join(env.RUNBOOK_STATE_DIR!, 'journal.jsonl'), 'utf8').trim().split('\n').at(-1)!)

describe("the bastion's bootstrap, read from its own marker", () => {
  test('a failed bootstrap: 01 says so with the end of its log and exits 1, push refuses; once repaired, a rerun of 01 runs it again and succeeds; a third run changes nothing', async () => {
    const op = laptop('bfail', '10.71.0.0/16')
    // The helm download does not match its checksum (as a corrupted download would not).
    assert.equal(sim.cli('knobs', '--bootstrap-fault', 'checksum:helm').code, 0)
    const first = await op.run('runbooks/01-vpc.ts', ['--json'])
    assert.equal(first.code, 1, first.stderr)
    const failed = toolsTask(first.json)
    assert.equal(failed.status, 'failed')
    assert.match(failed.detail, new RegExp(`bootstrap ${want.version} on i-[0-9a-f]+ failed \\(cloud-init: error, exit 1\\)`))
    // The end of the bootstrap's log, which names the cause.
    assert.match(
      failed.detail,
      /checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/downloads\/helm-[0-9a-f]+\.tar\.gz: expected [0-9a-f]{64}, got [0-9a-f]{64}/,
    )
    assert.match(first.stderr, /hint: fix the cause the log names .* then rerun 01-vpc/)
    const id = (await bastionOf('bfail'))!
    assert.ok(fs.existsSync(marker(id, 'bootstrap-failed')), 'the bootstrap recorded its failure')
    assert.ok(!fs.existsSync(marker(id, 'bootstrap-version')), 'and no marker of success')

    // push refuses, with the end of the log and the fix.
    const push = await op.tool(['push'])
    assert.equal(push.code, 1, push.stderr)
    assert.match(push.stderr, /✗ bastion push: the bootstrap \S+ on i-[0-9a-f]+ failed \(exit 1\), so its tools \(npm\) are not there/)
    assert.match(push.stderr, /checksum mismatch for .*helm/)
    assert.match(push.stderr, /fix: rerun 01-vpc/)

    // The cause is gone: the rerun runs the bootstrap again through SSM Run Command (cloud-init never would).
    assert.equal(sim.cli('knobs', '--bootstrap-fault', '').code, 0)
    const second = await op.run('runbooks/01-vpc.ts', ['--json'])
    assert.equal(second.code, 0, second.stderr)
    const retried = toolsTask(second.json)
    assert.equal(retried.status, 'changed')
    assert.match(
      retried.detail,
      new RegExp(`bootstrap ${want.version} ran on ${id} \\(SSM command [0-9a-f-]+\\); its marker says it is installed`),
    )
    assert.equal(fs.readFileSync(marker(id, 'bootstrap-version'), 'utf8').trim(), want.version)
    assert.ok(!fs.existsSync(marker(id, 'bootstrap-failed')))
    const ssm = new SSMClient(awsConfig(sim.env))
    const sent = ((await ssm.send(new ListCommandsCommand({ InstanceId: id }))).Commands ?? []).map((c) => c.Comment)
    ssm.destroy()
    assert.deepEqual(
      sent.filter((c) => c?.startsWith('scalardl-runbook bootstrap')),
      [`scalardl-runbook bootstrap ${want.version}`],
    )
    assert.equal(
      fs.readdirSync(path.join(sim.dir, 'hosts', id, 'var', 'lib', 'cloud', 'instances', id, 'sem')).length,
      1,
      'cloud-init ran the user data once',
    )

    // Finished: a rerun reads the marker and changes nothing (the read is no mutating call).
    const third = await op.run('runbooks/01-vpc.ts', ['--json'])
    assert.equal(third.code, 0, third.stderr)
    assert.equal(third.json.status, 'ok')
    assert.match(toolsTask(third.json).detail, new RegExp(`bootstrap ${want.version} installed \\(its marker on ${id}\\)`))
    const calls = lastJournal(op.env).awsCalls
    assert.equal(calls.mutating, 0, JSON.stringify(calls.operations))
    assert.ok(calls.operations['SSM:SendCommand'] >= 1, 'the marker was read on the bastion')
  })

  test('push right after the launch waits for the bootstrap instead of failing', async () => {
    const op = laptop('brace', '10.72.0.0/16')
    assert.equal((await op.run('runbooks/secrets.ts', ['store'])).code, 0)
    // cloud-init reaches the user data 8 s after the launch: long enough for push to arrive first.
    assert.equal(sim.cli('knobs', '--user-data-delay-ms', '8000').code, 0)
    const vpc = collect(spawnStep('runbooks/01-vpc.ts', ['--env-file', op.envFile], op.env, op.state))
    try {
      const id = await eventually(() => bastionOf('brace'), 'the bastion to be running', 60_000)
      assert.ok(!fs.existsSync(marker(id, 'bootstrap-version')), 'pushed before the bootstrap finished')
      const push = await op.tool(['push'])
      assert.equal(push.code, 0, push.stderr + push.stdout)
      assert.match(
        push.stderr,
        /bastion push: the bastion's bootstrap \S+ has not finished \((cloud-init running|bootstrap \S+ running)[^)]*\): waiting for it/,
      )
      assert.match(push.stdout, /runbook [0-9a-f]{16} in .*scalardl-eks-runbook/)
      assert.equal(fs.readFileSync(marker(id, 'bootstrap-version'), 'utf8').trim(), want.version)
    } finally {
      assert.equal(sim.cli('knobs', '--user-data-delay-ms', '1000').code, 0)
      const done = await vpc
      assert.equal(done.code, 0, `01 finished too: ${done.stderr}`)
    }
  })
})
