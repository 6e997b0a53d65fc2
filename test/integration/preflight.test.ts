// 00-preflight: tools and versions, AWS identity, the region's AZs; every missing thing listed.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { startMoto, type Moto } from '../../sim/moto.ts'
import { baseEnv, ROOT, runStep, tempDir } from '../helpers/run-step.ts'

let moto: Moto
before(async () => {
  moto = await startMoto()
})
after(async () => {
  await moto?.stop()
})

function fakeTool(dir: string, name: string, script: string): string {
  const file = path.join(dir, name)
  fs.writeFileSync(file, `#!/usr/bin/env bash\n${script}\n`, { mode: 0o755 })
  return file
}

describe('00-preflight', () => {
  test('passes with kubectl, helm and eksctl present, AWS reachable and 3 AZs; changes nothing', async () => {
    const env = baseEnv({
      ...moto.env(),
      CLUSTER_NAME: 'pre',
      RUNBOOK_STATE_DIR: tempDir(),
      PATH: `${path.join(ROOT, 'sim', 'bin')}:${process.env.PATH}`,
    })
    const r = await runStep('runbooks/00-preflight.ts', ['--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.status, 'ok')
    const byTitle = Object.fromEntries(r.json.tasks.map((t: any) => [t.title, t]))
    assert.match(byTitle['kubectl >= 1.19 installed'].detail, /^v1\.\d+/)
    assert.match(byTitle['helm >= 3.5 installed'].detail, /^v3\./)
    assert.match(byTitle['aws >= 1.16.156 installed'].detail, /^aws-cli\/\d+\.\d+\.\d+$/)
    assert.match(byTitle['AWS identity'].detail, /account 123456789012/)
    assert.match(byTitle['Region has at least 3 availability zones'].detail, /ap-northeast-1a, ap-northeast-1c, ap-northeast-1d/)
    assert.match(r.stderr, /CHECK\s+RESULT\s+DETAIL/)
  })

  test('names every missing or too old tool with how to install it, and exits 1', async () => {
    const dir = tempDir('tools-')
    const kubectl = fakeTool(
      dir,
      'kubectl',
      `echo '{"clientVersion":{"major":"1","minor":"18","gitVersion":"v1.18.20"}}'; echo 'WARNING: version skew' >&2`,
    )
    const helm = fakeTool(dir, 'helm', `echo 'v3.4.2+g23dd3af'`)
    // AWS CLI v1 printed its version on stderr; this one predates `aws eks get-token`.
    fakeTool(dir, 'aws', `echo 'aws-cli/1.16.100 Python/2.7.16 Linux/4.14 botocore/1.12.90' >&2`)
    const env = baseEnv({
      PATH: `${dir}:${process.env.PATH}`,
      ...moto.env(),
      CLUSTER_NAME: 'pre',
      RUNBOOK_STATE_DIR: tempDir(),
      KUBECTL: kubectl,
      HELM: helm,
      EKSCTL: path.join(dir, 'no-such-eksctl'),
    })
    const r = await runStep('runbooks/00-preflight.ts', ['--json'], env)
    assert.equal(r.code, 1)
    assert.equal(r.json.status, 'failed')
    const failed = r.json.tasks.filter((t: any) => t.status === 'failed').map((t: any) => t.title)
    assert.deepEqual(failed, ['kubectl >= 1.19 installed', 'helm >= 3.5 installed', 'eksctl installed', 'aws >= 1.16.156 installed'])
    assert.equal(r.json.summary.skipped, 0, 'a checklist runs every check')
    assert.match(r.stderr, /kubectl 1\.18\.20 is older than 1\.19\.0/)
    assert.match(r.stderr, /helm 3\.4\.2 is older than 3\.5\.0/)
    assert.match(r.stderr, /eksctl not found/)
    assert.match(r.stderr, /https:\/\/eksctl\.io\/installation\//)
    assert.match(r.stderr, /aws 1\.16\.100 is older than 1\.16\.156/)
    assert.match(r.stderr, /4 prerequisites missing/)
  })

  test('a region with fewer than 3 AZs is reported', async () => {
    // moto's us-west-1 has two availability zones, as AWS's does for new accounts.
    const env = baseEnv({
      ...moto.env('us-west-1'),
      CLUSTER_NAME: 'pre',
      RUNBOOK_STATE_DIR: tempDir(),
      PATH: `${path.join(ROOT, 'sim', 'bin')}:${process.env.PATH}`,
    })
    const r = await runStep('runbooks/00-preflight.ts', ['--json'], env)
    assert.equal(r.code, 1)
    const zones = r.json.tasks.find((t: any) => /availability zones/.test(t.title))
    assert.equal(zones.status, 'failed')
    assert.match(zones.detail, /us-west-1 has 2/)
  })
})
