// The Auditor's pieces that need no simulator: the configuration view, certificates, the values
// the two servers get, and which peering connections and routes the guide asks for.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { peeringSpecs } from '../../lib/auditor/peering.ts'
import { auditorView, scoped } from '../../lib/auditor/view.ts'
import { missingRoutes, vpcCidrs, type PeerVpc } from '../../lib/aws/peering.ts'
import { parseConfig } from '../../lib/config/load.ts'
import { certificateProblem, generateCertificate } from '../../lib/scalardl/certs.ts'
import { generateSigningKey } from '../../lib/scalardl/keys.ts'
import { keysSecretName, scalardlFullname, schemaJobName, serverChart } from '../../lib/scalardl/names.ts'
import { envoySourceRanges, overridesFile, schemaOverrides, serverOverrides, SOURCE_RANGES, valuesFile } from '../../lib/scalardl/values.ts'
import type { Task } from '../../lib/engine/task.ts'
import { tempDir } from '../helpers/run-step.ts'

const config = parseConfig({
  AWS_REGION: 'ap-northeast-1',
  CLUSTER_NAME: 'prod',
  AUDITOR_ENABLED: 'true',
  LEDGER_PRIVATE_KEY_FILE: '/k/ledger.pem',
  AUDITOR_PRIVATE_KEY_FILE: '/k/auditor.pem',
  AUDITOR_CERTIFICATE_FILE: '/k/auditor-cert.pem',
})

describe('the Auditor view of the configuration', () => {
  test('names the Auditor cluster, VPC, releases, chart and keys; leaves the rest', () => {
    const a = auditorView(config)
    assert.equal(a.clusterName, 'prod-auditor')
    assert.equal(a.vpcCidr, '10.2.0.0/16')
    assert.equal(a.bastion.enabled, false)
    assert.deepEqual(a.apiAccessFrom, { cidr: '10.1.0.0/16', label: 'the Ledger VPC' })
    assert.equal(serverChart(a), 'scalardl-audit')
    assert.equal(scalardlFullname(a), 'my-release-scalardl-audit')
    assert.equal(schemaJobName(a), 'load-audit-schema-schema-loading')
    assert.equal(keysSecretName(a), 'auditor-keys')
    assert.equal(a.scalardl.privateKeyFile, '/k/auditor.pem')
    assert.equal(valuesFile(a, 'server').endsWith('config/scalardl-audit-custom-values.yaml'), true)
    assert.equal(overridesFile(a, 'server'), path.join(config.stateDir, 'prod-auditor', 'scalardl-audit-overrides.yaml'))
    assert.equal(a.region, config.region)
    assert.equal(a.nodeCount, config.nodeCount)
    assert.equal(serverChart(config), 'scalardl')
    assert.equal(keysSecretName(config), 'ledger-keys')
  })

  test('scoped tasks see the view, their part of the state, and a skip reason', async () => {
    const seen: string[] = []
    const task: Task<{ n: number }> = {
      title: 'T',
      async check(ctx, s) {
        seen.push(`${ctx.config.clusterName}:${s.n}`)
        return { holds: true }
      },
    }
    const ctx = { config } as never
    const t = scoped({ label: 'Auditor: ', config: auditorView, state: (s: { a: { n: number } }) => s.a }, task)
    assert.equal(t.title, 'Auditor: T')
    await t.check(ctx, { a: { n: 7 } })
    assert.deepEqual(seen, ['prod-auditor:7'])
    const off = scoped({ label: '', config: auditorView, state: (s: { a: { n: number } }) => s.a, skip: () => 'no Auditor' }, task)
    assert.deepEqual(await off.check(ctx, { a: { n: 1 } }), { holds: true, detail: 'no Auditor' })
    assert.equal(seen.length, 1)
  })
})

describe('values', () => {
  test('the Ledger in Auditor mode; the Auditor with its Ledger host, keys, placement and envoy source ranges', () => {
    const ledger = serverOverrides(config, { poolNodes: 3, envoySourceRanges: envoySourceRanges(config, ['10.3.0.0/16']) })
    assert.match(ledger.ledger.ledgerProperties, /^scalar\.dl\.ledger\.proof\.enabled=true$/m)
    assert.match(ledger.ledger.ledgerProperties, /^scalar\.dl\.ledger\.auditor\.enabled=true$/m)
    // The Ledger's envoy admits its own VPC, the Auditor's and the clients'; the Auditor's its own, the Ledger's and the clients'.
    assert.equal(ledger.envoy.service.annotations[SOURCE_RANGES], `${config.vpcCidr},${config.auditor.vpcCidr},10.3.0.0/16`)
    assert.equal(ledger.envoy.service.annotations['service.beta.kubernetes.io/aws-load-balancer-security-groups'], undefined)
    // Ranges set in config/ are kept: the overrides say nothing of them.
    assert.equal(
      serverOverrides(
        config,
        { poolNodes: 3, envoySourceRanges: ['10.1.0.0/16'] },
        { envoy: { service: { annotations: { [SOURCE_RANGES]: '192.168.0.0/16' } } } },
      ).envoy.service,
      undefined,
    )
    assert.equal(
      serverOverrides(auditorView(config), { poolNodes: 3, envoySourceRanges: envoySourceRanges(auditorView(config), ['10.3.0.0/16']) })
        .envoy.service.annotations[SOURCE_RANGES],
      `${config.auditor.vpcCidr},${config.vpcCidr},10.3.0.0/16`,
    )
    const a = serverOverrides(auditorView(config), { poolNodes: 4, ledgerHost: 'ledger.elb.example' })
    assert.equal(a.auditor.replicaCount, 4)
    assert.equal(a.envoy.replicaCount, 4)
    assert.match(a.auditor.auditorProperties, /^scalar\.dl\.auditor\.ledger\.host=ledger\.elb\.example$/m)
    assert.match(a.auditor.auditorProperties, /^scalar\.dl\.auditor\.cert_path=\/keys\/certificate$/m)
    assert.equal(a.auditor.existingSecret, 'my-release-scalardl-audit-db-credentials')
    assert.equal(a.auditor.secretName, 'my-release-scalardl-audit-db-credentials', 'the credentials reach the container through envFrom')
    assert.equal(a.auditor.scalarAuditorConfiguration.secretName, 'auditor-keys', 'the chart mounts the keys itself')
    assert.equal(a.auditor.extraVolumes, undefined, 'no extra volume unless the operator has some')
    assert.match(a.auditor.auditorProperties, /^scalar\.dl\.licensing\.license_key=\$\{env:SCALAR_DL_AUDITOR_LICENSE_KEY\}$/m)
    assert.match(a.auditor.auditorProperties, /^scalar\.db\.username=\$\{env:SCALAR_DB_USERNAME\}$/m)
    assert.deepEqual(
      a.auditor.strategy,
      { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: '25%' } },
      'one of four replaced at a time, no surge',
    )
    assert.equal(ledger.ledger.scalarLedgerConfiguration.ledgerProofEnabled, true, "the chart's own /keys mount")
    assert.equal(ledger.ledger.extraVolumes, undefined)
    assert.deepEqual(ledger.envoy.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: '34%' } })
    assert.deepEqual(a.auditor.nodeSelector, { agentpool: 'scalardlpool' })
    assert.equal(
      a.auditor.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels[
        'app.kubernetes.io/name'
      ],
      'scalardl-audit',
    )
    assert.deepEqual(
      a.envoy.service,
      { annotations: { [SOURCE_RANGES]: `${config.auditor.vpcCidr},${config.vpcCidr}` } },
      "without client VPCs found: its own VPC and the Ledger's",
    )
    assert.equal(schemaOverrides(auditorView(config)).schemaLoading.schemaType, 'auditor')
    assert.equal(schemaOverrides(config).schemaLoading.schemaType, 'ledger')
    const noAuditor = serverOverrides(parseConfig({ AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'prod', LEDGER_PRIVATE_KEY_FILE: '/k' }), {
      poolNodes: 3,
    })
    assert.doesNotMatch(noAuditor.ledger.ledgerProperties, /auditor/)
  })
})

describe('certificates', () => {
  test("a generated certificate belongs to its key, is P-256 and not someone else's", async () => {
    const dir = tempDir()
    const [k1, k2, c1] = ['k1.pem', 'k2.pem', 'c1.pem'].map((f) => path.join(dir, f)) as [string, string, string]
    generateSigningKey(k1)
    generateSigningKey(k2)
    await generateCertificate(k1, c1, 'ledger')
    assert.equal(fs.statSync(c1).mode & 0o777, 0o600)
    assert.equal(certificateProblem(c1, k1), undefined)
    assert.match(certificateProblem(c1, k2)!, /is not the certificate of/)
    assert.match(certificateProblem(k1, k1)!, /is not a PEM X\.509 certificate/)
    assert.doesNotMatch(certificateProblem(k1, k1)!, /PRIVATE KEY/, 'key material is never echoed')
  })
})

describe('peering plan', () => {
  const vpc = (
    label: string,
    cidr: string,
    tables: { id: string; routes?: { DestinationCidrBlock: string; VpcPeeringConnectionId?: string; State?: string }[] }[],
  ): PeerVpc => ({
    label,
    vpcId: `vpc-${label}`,
    cidr,
    routeTables: tables.map((t) => ({ RouteTableId: t.id, Routes: t.routes ?? [] })) as never,
  })
  test("the guide's three connections with a client VPC, routes on both sides, ", () => {
    const peers = {
      ledger: vpc('ledger', '10.1.0.0/16', [{ id: 'rl1' }, { id: 'rl2' }]),
      auditor: vpc('auditor', '10.2.0.0/16', [{ id: 'ra1' }]),
      clients: [vpc('client', '10.3.0.0/16', [{ id: 'rc1' }])],
    }
    const specs = peeringSpecs(config, peers)
    assert.deepEqual(
      specs.map((s) => `${s.requester.label}>${s.accepter.label}`),
      ['ledger>auditor', 'ledger>client', 'auditor>client'],
    )
    const needs = missingRoutes(specs[0]!, 'pcx-1')
    assert.deepEqual(
      needs.map((n) => `${n.routeTableId} ${n.cidr}`),
      ['rl1 10.2.0.0/16', 'rl2 10.2.0.0/16', 'ra1 10.1.0.0/16'],
    )
    // A route already through the connection is kept; one through another (or blackholed) is replaced.
    const kept = {
      ...specs[0]!,
      requester: vpc('ledger', '10.1.0.0/16', [
        { id: 'rl1', routes: [{ DestinationCidrBlock: '10.2.0.0/16', VpcPeeringConnectionId: 'pcx-1' }] },
        { id: 'rl2', routes: [{ DestinationCidrBlock: '10.2.0.0/16', VpcPeeringConnectionId: 'pcx-old', State: 'blackhole' }] },
      ]),
    }
    assert.deepEqual(
      missingRoutes(kept, 'pcx-1', new Set(['pcx-1', 'pcx-old'])).map((n) => `${n.routeTableId} ${n.replace} ${n.foreign ?? '-'}`),
      ['rl2 true -', 'ra1 false -'],
    )
    // A route through something the runbook did not make (a transit gateway, a peering of someone else's) is never replaced.
    const theirs = {
      ...specs[0]!,
      requester: vpc('ledger', '10.1.0.0/16', [
        { id: 'rl1', routes: [{ DestinationCidrBlock: '10.2.0.0/16', TransitGatewayId: 'tgw-1' } as never] },
        { id: 'rl2', routes: [{ DestinationCidrBlock: '10.2.0.0/16', VpcPeeringConnectionId: 'pcx-theirs', State: 'blackhole' }] },
      ]),
    }
    assert.deepEqual(
      missingRoutes(theirs, 'pcx-1', new Set(['pcx-1'])).map((n) => `${n.routeTableId} ${n.foreign ?? '-'}`),
      ['rl1 tgw-1', 'rl2 pcx-theirs (blackhole)', 'ra1 -'],
    )
    // A client VPC with a secondary range: each of its ranges is routed to, on the other side.
    const client = { ...vpc('client', '10.3.0.0/16', [{ id: 'rc1' }]), cidrs: ['10.3.0.0/16', '100.64.0.0/16'] }
    const withClient = { name: 'x', requester: peers.ledger, accepter: client }
    assert.deepEqual(
      missingRoutes(withClient, 'pcx-2').map((n) => `${n.routeTableId} ${n.cidr}`),
      ['rl1 10.3.0.0/16', 'rl2 10.3.0.0/16', 'rl1 100.64.0.0/16', 'rl2 100.64.0.0/16', 'rc1 10.1.0.0/16'],
    )
    assert.deepEqual(
      vpcCidrs({
        CidrBlock: '10.3.0.0/16',
        CidrBlockAssociationSet: [
          { CidrBlock: '10.3.0.0/16', CidrBlockState: { State: 'associated' } },
          { CidrBlock: '100.64.0.0/16', CidrBlockState: { State: 'associated' } },
          { CidrBlock: '100.65.0.0/16', CidrBlockState: { State: 'disassociated' } },
        ],
      }),
      ['10.3.0.0/16', '100.64.0.0/16'],
    )
    assert.deepEqual(peeringSpecs(config, { ledger: peers.ledger, clients: [] }), [])
  })
})
