// 03-eks, 04-scalardl and 06-monitoring killed at seeded random points (the whole process group,
// as a dropped bastion session does) and rerun: each ends as an uninterrupted run does, with no
// duplicate anywhere, counted in moto and in the fake API server. 01/02 are in kill.test.ts,
// 05 in auditor.test.ts, 99 in teardown.test.ts.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { EKSClient, ListClustersCommand, ListNodegroupsCommand } from '@aws-sdk/client-eks'
import { runStep, scriptArgs, tempDir } from '../helpers/run-step.ts'
import { eventually, startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'

let sim: Sim
const state = tempDir('rb-kill-')
const CLUSTER = 'killme'

const env = (): NodeJS.ProcessEnv => ({
  ...sim.env,
  NODE_NO_WARNINGS: '1',
  CI: 'true',
  CLUSTER_NAME: CLUSTER,
  VPC_CIDR: '10.70.0.0/16',
  BASTION_ENABLED: 'false',
  RUNBOOK_STATE_DIR: path.join(state, 'runbook'),
  GITHUB_USERNAME: 'octo',
  GITHUB_TOKEN: ['ghp', 'killTestToken00000000000000000000'].join('_'),
  SCALARDL_DB_USERNAME: 'AKIAKILLTEST00000000',
  SCALARDL_DB_PASSWORD: 'kill-test-secret',
  LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
})

/** Starts the step in its own process group and kills the whole group `ms` after it starts. */
async function killAfter(step: string, args: string[], ms: number): Promise<string> {
  const child = spawn(process.execPath, [...scriptArgs(`runbooks/${step}.ts`), ...args], {
    env: env(),
    cwd: state,
    stdio: 'ignore',
    detached: true,
  })
  const done = new Promise<string>((resolve) => child.on('close', (code, signal) => resolve(signal ?? `exit ${code}`)))
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // already finished
    }
  }, ms)
  const how = await done
  clearTimeout(timer)
  return how
}

async function kube(args: string[]): Promise<any> {
  const r = await sim.kubectl(['--kubeconfig', path.join(state, 'runbook', CLUSTER, 'kubeconfig'), ...args, '-o', 'json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}

/** Seeded offsets inside a run of `span` ms. */
const offsets = (span: number, seeds: number[]) => seeds.map((s) => Math.round(((s * 0.6180339887) % 1) * span))

before(async () => {
  sim = startSim(['--pod-start-ms', '200', '--job-duration-ms', '300', '--lb-delay-ms', '200', '--cloudwatch-interval-ms', '0'])
  for (const s of ['01-vpc', '02-database']) assert.equal((await runStep(`runbooks/${s}.ts`, [], env(), state)).code, 0)
})
after(() => stopSim(sim))

describe('killed steps resume without duplicates', () => {
  for (const [step, args, seeds] of [
    ['03-eks', [], [1, 2, 3]],
    ['04-scalardl', ['--generate-ledger-key'], [4, 5, 6]],
    ['06-monitoring', [], [7, 8]],
  ] as const) {
    test(`${step}, killed at seeded points, then rerun to completion`, async (t) => {
      const seen: string[] = []
      // The span of an uninterrupted run is not known before the first one: use a fixed window
      // that covers the step's work here (process start-up included).
      for (const ms of offsets(step === '06-monitoring' ? 6000 : 9000, [...seeds]))
        seen.push(`${ms} ms: ${await killAfter(step, [...args], 1200 + ms)}`)
      t.diagnostic(`kills: ${seen.join(', ')}`)
      const r = await runStep(`runbooks/${step}.ts`, ['--json', ...args], env(), state)
      assert.equal(r.code, 0, `${seen.join(', ')}\n${r.stderr}`)
      const again = await runStep(`runbooks/${step}.ts`, ['--json'], env(), state)
      assert.equal(again.json.status, 'ok', again.stderr)

      const eks = new EKSClient(awsConfig(sim.env, 'ap-northeast-1'))
      assert.deepEqual((await eks.send(new ListClustersCommand({}))).clusters, [CLUSTER])
      assert.deepEqual((await eks.send(new ListNodegroupsCommand({ clusterName: CLUSTER }))).nodegroups?.sort(), ['scalardlpool', 'system'])
      eks.destroy()
      const nodes = (await kube(['get', 'nodes'])).items
      assert.equal(nodes.length, 5, 'three pool nodes and two system nodes, no more')
      if (step === '04-scalardl' || step === '06-monitoring') {
        const secrets = (await kube(['get', 'secrets', '-n', 'default'])).items.map((s: any) => s.metadata.name)
        const releases = secrets.filter((n: string) => n.startsWith('sh.helm.release.v1.'))
        assert.deepEqual([...new Set(releases.map((n: string) => n.replace(/\.v\d+$/, '')))].sort(), [
          'sh.helm.release.v1.load-schema',
          'sh.helm.release.v1.my-release-scalardl',
        ])
        const pods = (await kube(['get', 'pods', '-n', 'default', '-l', 'app.kubernetes.io/instance=my-release-scalardl'])).items.filter(
          (p: any) => p.status.phase === 'Running',
        )
        assert.equal(pods.length, 6, 'three Ledger and three Envoy Pods')
        const deployments = (await kube(['get', 'deployments', '-n', 'default'])).items
        assert.equal(deployments.length, 2)
      }
      if (step === '06-monitoring') {
        const ds = (await kube(['get', 'daemonsets', '-n', 'amazon-cloudwatch'])).items.map((d: any) => d.metadata.name).sort()
        assert.equal(new Set(ds).size, ds.length)
        assert.ok(ds.length >= 2, ds.join(', '))
      }
    })
  }
})

describe('a helm killed mid-operation leaves its release pending; 04 settles it and finishes', () => {
  const kubeconfig = () => path.join(state, 'runbook', CLUSTER, 'kubeconfig')
  const helm = (args: string[]) => spawnSync('helm', ['--kubeconfig', kubeconfig(), ...args], { env: env(), encoding: 'utf8' })
  const revisions = () =>
    JSON.parse(helm(['history', 'my-release-scalardl', '-o', 'json']).stdout || '[]') as { revision: number; status: string }[]

  /** Starts helm on the Ledger release with Pods that can never be scheduled, and kills it (the whole group) once its revision is `pending`. */
  async function abandon(pending: string): Promise<void> {
    const values = path.join(state, 'current-values.yaml')
    fs.writeFileSync(values, helm(['get', 'values', 'my-release-scalardl', '-o', 'yaml']).stdout.replace(/^USER-SUPPLIED VALUES:\n/, ''))
    const child = spawn(
      'helm',
      [
        '--kubeconfig',
        kubeconfig(),
        'upgrade',
        '--install',
        'my-release-scalardl',
        'scalar-labs/scalardl',
        '--version',
        '4.12.0',
        '-f',
        values,
        '--set',
        'ledger.nodeSelector.nowhere=true',
        '--wait',
        '--timeout',
        '5m',
      ],
      { env: env(), stdio: 'ignore', detached: true },
    )
    const closed = new Promise((r) => child.on('close', r))
    await eventually(async () => revisions().at(-1)?.status === pending, `a ${pending} revision`)
    process.kill(-child.pid!, 'SIGKILL')
    await closed
  }

  test('pending-install is uninstalled and installed again; pending-upgrade is rolled back to the last good revision; a rerun changes nothing', async () => {
    const gone = helm(['uninstall', 'my-release-scalardl'])
    assert.equal(gone.status, 0, gone.stderr)
    await abandon('pending-install')
    const installed = await runStep('runbooks/04-scalardl.ts', ['--json'], env(), state)
    assert.equal(installed.code, 0, installed.stderr)
    const task = (r: typeof installed) => r.json.tasks.find((t: any) => /^Scalar DL Ledger and Envoy release/.test(t.title))
    assert.match(task(installed).detail, /uninstalled the abandoned first install of my-release-scalardl; installed my-release-scalardl/)
    assert.match(installed.stderr, /revision 1 was left pending-install by an interrupted run/)

    await abandon('pending-upgrade')
    const upgraded = await runStep('runbooks/04-scalardl.ts', ['--json'], env(), state)
    assert.equal(upgraded.code, 0, upgraded.stderr)
    assert.match(
      task(upgraded).detail,
      /rolled back the abandoned revision 2 of my-release-scalardl to 1; ready: /,
      'revision 1 has the desired values: no upgrade after the rollback',
    )
    assert.deepEqual(
      revisions().map((r) => r.status),
      ['superseded', 'superseded', 'deployed'],
    )
    const pods = (await kube(['get', 'pods', '-n', 'default', '-l', 'app.kubernetes.io/instance=my-release-scalardl'])).items
    assert.equal(pods.filter((p: any) => p.status.phase === 'Running').length, 6)
    assert.equal(pods.filter((p: any) => p.spec.nodeSelector?.nowhere).length, 0, 'no Pod of the abandoned revision is left')

    const again = await runStep('runbooks/04-scalardl.ts', ['--json'], env(), state)
    assert.equal(again.json.status, 'ok')
    assert.equal(again.json.tasks.filter((t: any) => t.status === 'changed').length, 0)
  })

  test('an uninstall killed half-way leaves the release uninstalling: upgrade --install refuses it, 04 finishes the uninstall and installs again', async () => {
    const child = spawn('helm', ['--kubeconfig', kubeconfig(), 'uninstall', 'my-release-scalardl'], {
      env: { ...env(), SIM_HELM_UNINSTALL_STALL_MS: '60000' },
      stdio: 'ignore',
      detached: true,
    })
    const closed = new Promise((r) => child.on('close', r))
    await eventually(async () => revisions().at(-1)?.status === 'uninstalling', 'an uninstalling revision')
    process.kill(-child.pid!, 'SIGKILL')
    await closed
    const values = path.join(state, 'current-values.yaml')
    const blocked = helm(['upgrade', '--install', 'my-release-scalardl', 'scalar-labs/scalardl', '--version', '4.12.0', '-f', values])
    assert.equal(blocked.status, 1)
    assert.match(blocked.stderr, /UPGRADE FAILED: "my-release-scalardl" has no deployed releases/)
    const r = await runStep('runbooks/04-scalardl.ts', ['--json'], env(), state)
    assert.equal(r.code, 0, r.stderr)
    assert.match(
      r.json.tasks.find((t: any) => /^Scalar DL Ledger and Envoy release/.test(t.title)).detail,
      /finished the interrupted uninstall of my-release-scalardl; installed my-release-scalardl/,
    )
    assert.equal(revisions().at(-1)?.status, 'deployed')
  })
})
