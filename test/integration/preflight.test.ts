// 00-preflight: tools and versions, AWS identity, the region's AZs, EKS's support for the
// Kubernetes version and the account's quotas; every missing thing listed.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import { AllocateAddressCommand, EC2Client } from '@aws-sdk/client-ec2'
import { startAwsLayer } from '../../sim/aws-layer.ts'
import { startMoto, type Moto } from '../../sim/moto.ts'
import { baseEnv, ROOT, runStep, tempDir } from '../helpers/run-step.ts'

let moto: Moto
let layer: Awaited<ReturnType<typeof startAwsLayer>>
/** moto behind the simulator's AWS layer, which answers what moto lacks (DescribeClusterVersions, Service Quotas). */
const aws = (region?: string) => ({ ...moto.env(region), AWS_ENDPOINT_URL: layer.url })
before(async () => {
  moto = await startMoto()
  layer = await startAwsLayer(moto.url)
})
after(async () => {
  await layer?.stop()
  await moto?.stop()
})
afterEach(async () => {
  layer.knobs.eksVersionStatus = {}
  layer.knobs.quotas = {}
  await moto.reset()
})

function fakeTool(dir: string, name: string, script: string): string {
  const file = path.join(dir, name)
  fs.writeFileSync(file, `#!/usr/bin/env bash\n${script}\n`, { mode: 0o755 })
  return file
}

describe('00-preflight', () => {
  test('passes with kubectl, helm and eksctl present, AWS reachable and 3 AZs; changes nothing', async () => {
    const env = baseEnv({
      ...aws(),
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
      ...aws(),
      CLUSTER_NAME: 'pre',
      RUNBOOK_STATE_DIR: tempDir(),
      KUBECTL: kubectl,
      HELM: helm,
      EKSCTL: path.join(dir, 'no-such-eksctl'),
      // A public endpoint: this host runs the cluster steps itself, so it needs the tools.
      ENDPOINT_PUBLIC_ACCESS: 'true',
      ENDPOINT_PUBLIC_CIDRS: '203.0.113.0/24',
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
    // The default, a private endpoint, from a host outside AWS (no instance metadata here): the
    // cluster steps run on the bastion, so kubectl, helm and eksctl are not needed on this host.
    const { ENDPOINT_PUBLIC_ACCESS: _p, ENDPOINT_PUBLIC_CIDRS: _c, ...rest } = env
    // No instance metadata service answers (a closed port stands for a laptop's): outside AWS.
    const laptop = { ...rest, AWS_EC2_METADATA_DISABLED: 'false', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' }
    const l = await runStep('runbooks/00-preflight.ts', ['--json'], laptop)
    const byTitle = (t: string) => l.json.tasks.find((x: any) => x.title === t)
    for (const t of ['kubectl >= 1.19 installed', 'helm >= 3.5 installed', 'eksctl installed']) {
      assert.equal(byTitle(t).status, 'ok', t)
      assert.match(byTitle(t).detail, /not needed here: this host is outside AWS and the EKS endpoint is private/)
    }
    assert.equal(byTitle('aws >= 1.16.156 installed').status, 'failed')
  })

  test('a region with fewer than 3 AZs is reported', async () => {
    // moto's us-west-1 has two availability zones, as AWS's does for new accounts.
    const env = baseEnv({
      ...aws('us-west-1'),
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

  const simEnv = (extra: Record<string, string> = {}) =>
    baseEnv({
      ...aws(),
      CLUSTER_NAME: 'pre',
      RUNBOOK_STATE_DIR: tempDir(),
      PATH: `${path.join(ROOT, 'sim', 'bin')}:${process.env.PATH}`,
      ...extra,
    })
  const task = (r: { json?: any }, title: RegExp) => r.json.tasks.find((t: any) => title.test(t.title))

  test('KUBERNETES_VERSION: EKS is asked; extended support passes with the extra cost said, a version past it fails naming those in standard support', async () => {
    layer.knobs.eksVersionStatus = { '1.35': 'EXTENDED_SUPPORT' }
    const extended = await runStep('runbooks/00-preflight.ts', ['--json'], simEnv({ KUBERNETES_VERSION: '1.35' }))
    assert.equal(extended.code, 0, extended.stderr)
    assert.match(task(extended, /KUBERNETES_VERSION/).detail, /^1\.35: extended support only, until 2028-03-27/)
    // (0.60 - 0.10) USD x 730 hours for one cluster.
    assert.match(
      extended.stderr,
      /1\.35 is in EKS extended support .*\$0\.60 instead of \$0\.10 per cluster hour, about \$365 a month more for 1 cluster/,
    )

    layer.knobs.eksVersionStatus = { '1.30': 'UNSUPPORTED', '1.36': 'STANDARD_SUPPORT' }
    // (Without a bastion: with one, a version no pinned kubectl serves is refused before EKS is asked, below.)
    const past = await runStep('runbooks/00-preflight.ts', ['--json'], simEnv({ KUBERNETES_VERSION: '1.30', BASTION_ENABLED: 'false' }))
    assert.equal(past.code, 1)
    const v = task(past, /KUBERNETES_VERSION/)
    assert.equal(v.status, 'failed')
    assert.match(v.detail, /1\.30 is past EKS extended support \(ended 2026-07-23\)/)
    assert.match(past.stderr, /set KUBERNETES_VERSION to a version in standard support: 1\.36/)

    const unknown = await runStep('runbooks/00-preflight.ts', ['--json'], simEnv({ KUBERNETES_VERSION: '1.99', BASTION_ENABLED: 'false' }))
    assert.equal(unknown.code, 1)
    assert.match(task(unknown, /KUBERNETES_VERSION/).detail, /EKS does not offer Kubernetes 1\.99/)

    // With the bastion, a version no kubectl of bastion/tools.json serves: exit 2 before any call,
    // with the fix, never a bastion launched without its tools (00 and 01 alike).
    for (const s of ['runbooks/00-preflight.ts', 'runbooks/01-vpc.ts']) {
      const unpinned = await runStep(s, ['--json'], simEnv({ KUBERNETES_VERSION: '1.29' }))
      assert.equal(unpinned.code, 2, `${s}: ${unpinned.stderr}`)
      assert.match(unpinned.stderr, /KUBERNETES_VERSION: bastion\/tools\.json pins no kubectl within one minor of KUBERNETES_VERSION 1\.29/)
      assert.match(unpinned.stderr, /fix: set KUBERNETES_VERSION within one minor of a pinned kubectl \(1\.32, 1\.33, 1\.34, 1\.35\)/)
    }
  })

  test('quotas: a lowered quota is refused with the code to raise; what the runbook made counts as wanted, not as used', async () => {
    layer.knobs.quotas = { 'ec2/L-0263D0A3': 2, 'ec2/L-1216C47A': 8 }
    const r = await runStep('runbooks/00-preflight.ts', ['--json'], simEnv({ NAT_GATEWAYS: 'per-az' }))
    assert.equal(r.code, 1)
    const eips = task(r, /Elastic IPs/)
    assert.equal(eips.status, 'failed')
    assert.equal(eips.detail, '0 addresses used by others + 3 for this deployment, of 2 (applied): 1 short')
    assert.match(r.stderr, /ask for at least 3 in Service Quotas \(ec2 L-0263D0A3 "Elastic IPs per Region"\)/)
    // 3 m5.xlarge (4 vCPUs) + 2 system nodes + the bastion, against 8 applied.
    const vcpus = task(r, /On-Demand Standard/)
    assert.equal(vcpus.status, 'failed')
    assert.match(vcpus.detail, /^0 vCPUs used by others \+ \d+ for this deployment, of 8 \(applied\): \d+ short$/)
    // No applied value: the default (GetServiceQuota's NoSuchResourceException, then GetAWSDefaultServiceQuota).
    assert.match(task(r, /EKS clusters/).detail, /^0 clusters used by others \+ 1 for this deployment, of 100 \(default\)$/)
    assert.equal(task(r, /VPCs per Region/).status, 'ok')

    // One address of someone else's and one the runbook made: only the first is "used".
    const ec2 = new EC2Client({
      region: 'ap-northeast-1',
      endpoint: moto.url,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    })
    await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))
    await ec2.send(
      new AllocateAddressCommand({
        Domain: 'vpc',
        TagSpecifications: [
          {
            ResourceType: 'elastic-ip',
            Tags: [
              { Key: 'scalardl-runbook/cluster', Value: 'pre' },
              { Key: 'scalardl-runbook/role', Value: 'nat-eip' },
            ],
          },
        ],
      }),
    )
    layer.knobs.quotas = { 'ec2/L-0263D0A3': 2 }
    const single = await runStep('runbooks/00-preflight.ts', ['--json'], simEnv({ NAT_GATEWAYS: 'single' }))
    assert.equal(single.code, 0, single.stderr)
    assert.equal(task(single, /Elastic IPs/).detail, '1 addresses used by others + 1 for this deployment, of 2 (applied)')
  })
})
