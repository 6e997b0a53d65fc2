// Benchmark: 07-verify's wall time (process start included) on the simulator with 3 nodes, then
// with 100 nodes, 300 more Pods and 2,000 more log streams. Prints both and their ratio, and
// writes them to .runbook/bench.json. Not a test: run it with `npm run bench`.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { stepArgs } from '../lib/engine/bundles.ts'
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scalardl-bench-'))
const node = (args: string[], env?: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env, encoding: 'utf8' })
const sim = (...args: string[]) => {
  const r = node([path.join(root, 'sim', 'cli.ts'), ...args, '--state-dir', dir])
  if (r.status !== 0) throw new Error(`sim ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

sim('up', '--pod-start-ms', '20', '--job-duration-ms', '50', '--lb-delay-ms', '50', '--cloudwatch-interval-ms', '0')
try {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_NO_WARNINGS: '1',
    CI: 'true',
    CLUSTER_NAME: 'bench',
    RUNBOOK_STATE_DIR: path.join(dir, 'runbook'),
    BASTION_ENABLED: 'false',
    GITHUB_USERNAME: 'bench',
    GITHUB_TOKEN: ['ghp', 'benchNotARealToken00000000000000000'].join('_'),
    SCALARDL_DB_USERNAME: 'AKIABENCH00000000000',
    SCALARDL_DB_PASSWORD: 'bench-secret-key',
    LEDGER_PRIVATE_KEY_FILE: path.join(dir, 'ledger-key.pem'),
  }
  for (const line of fs.readFileSync(path.join(dir, 'env'), 'utf8').split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1)
  }
  for (const [step, extra] of [
    ['01-vpc', []],
    ['03-eks', []],
    ['04-scalardl', ['--generate-ledger-key']],
    ['06-monitoring', []],
  ] as const) {
    const r = node([path.join(root, 'runbooks', `${step}.ts`), ...extra], env)
    if (r.status !== 0) throw new Error(`${step}: ${r.stderr}`)
  }
  // The bundle (what `npm run build` makes, and the bastion runs) when it is fresh, else the source through tsx.
  const verifyArgs = stepArgs('07-verify')
  const ran = verifyArgs[0]!.endsWith('.mjs') ? 'the bundle' : 'the source through tsx: run `npm run build` for the bundle'
  const timeVerify = (label: string): number => {
    sim('cloudwatch', 'tick', 'bench')
    const runs: number[] = []
    for (let i = 0; i < 5; i++) {
      const t = process.hrtime.bigint()
      const r = spawnSync(process.execPath, verifyArgs, { cwd: root, env, encoding: 'utf8' })
      runs.push(Number(process.hrtime.bigint() - t) / 1e6)
      if (r.status !== 0) throw new Error(`07-verify failed (${label}): ${r.stderr}`)
    }
    runs.sort((a, b) => a - b)
    return runs[2]! // median of 5
  }
  const small = timeVerify('3 nodes')

  // Scale up: 97 more (system) nodes, 300 more Pods, 2,000 more log streams.
  sim('nodes', 'add', 'bench', '--count', '97', '--label', 'role=system')
  const kubeconfig = path.join(env.RUNBOOK_STATE_DIR!, 'bench', 'kubeconfig')
  const filler = `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: filler, namespace: default}\nspec:\n  replicas: 300\n  selector: {matchLabels: {app: filler}}\n  template:\n    metadata: {labels: {app: filler}}\n    spec:\n      containers: [{name: app, image: "busybox:1.36"}]\n`
  const apply = spawnSync('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: filler, env, encoding: 'utf8' })
  if (apply.status !== 0) throw new Error(apply.stderr)
  spawnSync('kubectl', ['--kubeconfig', kubeconfig, 'rollout', 'status', 'deployment/filler', '--timeout=120s'], { env })
  const logs = new CloudWatchLogsClient({
    region: 'ap-northeast-1',
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  })
  const group = '/aws/containerinsights/bench/application'
  const old = Date.now() - 3 * 3600_000
  for (let i = 0; i < 2000; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, j) => {
        const stream = `ip-10-9-0-${i + j}.ap-northeast-1.compute.internal-application.var.log.containers.old-${i + j}_default_app-0.log`
        await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }))
        await logs.send(
          new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: [{ timestamp: old, message: 'old' }] }),
        )
      }),
    )
  }
  logs.destroy()
  const large = timeVerify('100 nodes')
  const figures = {
    verify3NodesMs: Math.round(small),
    verify100NodesMs: Math.round(large),
    verifyScaleRatio: Number((large / small).toFixed(2)),
  }
  fs.mkdirSync(path.join(root, '.runbook'), { recursive: true })
  const file = path.join(root, '.runbook', 'bench.json')
  const previous = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {}
  fs.writeFileSync(file, JSON.stringify({ ...previous, ...figures }, null, 2) + '\n')
  console.log('benchmark                                   figure')
  console.log(`07-verify, 3 nodes (median of 5, wall)      ${figures.verify3NodesMs} ms`)
  console.log(`07-verify, 100 nodes/300 Pods/2000 streams  ${figures.verify100NodesMs} ms`)
  console.log(`verifyScaleRatio (target < 1.5)             ${figures.verifyScaleRatio}`)
  console.log(`(07-verify ran from ${ran})`)
  console.log(`written to ${file}`)
} finally {
  sim('down')
}
