import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { ConfigError, loadConfig, parseConfig, type ConfigProblem } from '../../lib/config/load.ts'
import { tempDir } from '../helpers/run-step.ts'

const ok = { AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'scalardl-prod' }

function problems(env: Record<string, string>): ConfigProblem[] {
  try {
    parseConfig(env)
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    return err.problems
  }
  assert.fail('expected a ConfigError')
}

const keys = (env: Record<string, string>) => problems(env).map((p) => p.key)

describe('configuration', () => {
  test('defaults', () => {
    const c = parseConfig(ok)
    assert.equal(c.vpcCidr, '10.1.0.0/16')
    assert.equal(c.natGateways, 'single')
    assert.deepEqual(c.bastion, { enabled: true, sshCidr: '', instanceType: 't3.small', keyName: '', operatorPolicy: true })
    assert.equal(c.nodeCount, 3)
    assert.equal(c.nodeInstanceType, 'm5.xlarge')
    assert.equal(c.database, 'dynamodb')
    assert.equal(c.dynamodbNamespacePrefix, '')
    assert.deepEqual(c.tools, { kubectl: 'kubectl', helm: 'helm', eksctl: 'eksctl' })
  })

  test('empty values mean the default, except for required keys', () => {
    assert.equal(parseConfig({ ...ok, VPC_CIDR: '', NODE_COUNT: ' ' }).vpcCidr, '10.1.0.0/16')
    assert.deepEqual(keys({ AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: '' }), ['CLUSTER_NAME'])
  })

  test('AWS_REGION and CLUSTER_NAME are required', () => {
    assert.deepEqual(keys({}).sort(), ['AWS_REGION', 'CLUSTER_NAME'])
    assert.deepEqual(keys({ ...ok, AWS_REGION: 'tokyo' }), ['AWS_REGION'])
  })

  test('CLUSTER_NAME: lower-case letters, digits, hyphens, starts with a letter, at most 40', () => {
    for (const bad of ['Scalardl', 'scalar_dl', '1scalardl', '-x', 'a'.repeat(41), 'has space'])
      assert.deepEqual(keys({ ...ok, CLUSTER_NAME: bad }), ['CLUSTER_NAME'], bad)
    for (const good of ['a', 'scalardl-prod-2', 'a'.repeat(40)]) assert.equal(parseConfig({ ...ok, CLUSTER_NAME: good }).clusterName, good)
  })

  test('VPC_CIDR: a private range between /16 and /20', () => {
    for (const good of ['10.1.0.0/16', '172.16.0.0/20', '192.168.0.0/16', '10.200.16.0/20'])
      assert.equal(parseConfig({ ...ok, VPC_CIDR: good }).vpcCidr, good)
    for (const bad of ['10.0.0.0/8', '10.1.0.0/21', '8.8.0.0/16', '10.1.0.1/16', 'ten', '10.1.0.0', '300.1.0.0/16'])
      assert.deepEqual(keys({ ...ok, VPC_CIDR: bad }).slice(0, 1), ['VPC_CIDR'], bad)
  })

  test('NAT_GATEWAYS, BASTION_ENABLED, NODE_COUNT, instance types', () => {
    assert.equal(parseConfig({ ...ok, NAT_GATEWAYS: 'per-az' }).natGateways, 'per-az')
    assert.deepEqual(keys({ ...ok, NAT_GATEWAYS: 'two' }), ['NAT_GATEWAYS'])
    assert.equal(parseConfig({ ...ok, BASTION_ENABLED: 'false' }).bastion.enabled, false)
    assert.equal(parseConfig({ ...ok, BASTION_ENABLED: 'YES' }).bastion.enabled, true)
    assert.deepEqual(keys({ ...ok, BASTION_ENABLED: 'maybe' }), ['BASTION_ENABLED'])
    assert.deepEqual(keys({ ...ok, NODE_COUNT: '0' }), ['NODE_COUNT'])
    assert.deepEqual(keys({ ...ok, NODE_COUNT: '2.5' }), ['NODE_COUNT'])
    assert.deepEqual(keys({ ...ok, NODE_INSTANCE_TYPE: 'huge' }), ['NODE_INSTANCE_TYPE'])
    assert.equal(parseConfig({ ...ok, BASTION_INSTANCE_TYPE: 't4g.small' }).bastion.instanceType, 't4g.small')
  })

  test('BASTION_SSH_CIDR: optional; 0.0.0.0/0 is refused', () => {
    assert.equal(parseConfig({ ...ok, BASTION_SSH_CIDR: '203.0.113.0/24' }).bastion.sshCidr, '203.0.113.0/24')
    const p = problems({ ...ok, BASTION_SSH_CIDR: '0.0.0.0/0' })
    assert.equal(p[0]!.key, 'BASTION_SSH_CIDR')
    assert.match(p[0]!.message, /whole internet/)
    assert.match(p[0]!.fix, /SSM Session Manager/)
  })

  test('DATABASE: dynamodb; others are "not supported yet"', () => {
    assert.equal(parseConfig({ ...ok, DATABASE: 'DynamoDB' }).database, 'dynamodb')
    assert.match(problems({ ...ok, DATABASE: 'mysql' })[0]!.message, /not supported yet/)
    assert.match(problems({ ...ok, DATABASE: 'sqlite' })[0]!.message, /not a database this runbook knows/)
  })

  test('DYNAMODB_NAMESPACE_PREFIX: table-name characters only', () => {
    assert.equal(parseConfig({ ...ok, DYNAMODB_NAMESPACE_PREFIX: 'prod_' }).dynamodbNamespacePrefix, 'prod_')
    assert.deepEqual(keys({ ...ok, DYNAMODB_NAMESPACE_PREFIX: 'pr od/' }), ['DYNAMODB_NAMESPACE_PREFIX'])
  })

  test('Auditor keys: defaults, names, ranges that must not overlap', () => {
    const c = parseConfig(ok)
    assert.equal(c.auditor.enabled, false)
    assert.equal(c.auditor.clusterName, 'scalardl-prod-auditor')
    assert.equal(c.auditor.vpcCidr, '10.2.0.0/16')
    assert.deepEqual(c.auditor.clientVpcIds, [])
    assert.equal(c.auditor.chartVersion, '2.12.0')
    assert.equal(c.auditor.release, 'my-release-scalardl-audit')
    assert.equal(c.auditor.schemaRelease, 'load-audit-schema')
    const on = { ...ok, AUDITOR_ENABLED: 'true' }
    assert.deepEqual(parseConfig({ ...on, CLIENT_VPC_IDS: 'vpc-0123456789abcdef0, vpc-12345678' }).auditor.clientVpcIds, [
      'vpc-0123456789abcdef0',
      'vpc-12345678',
    ])
    for (const bad of ['vpc-xyz', 'subnet-12345678', '10.3.0.0/16'])
      assert.deepEqual(keys({ ...on, CLIENT_VPC_IDS: bad }), ['CLIENT_VPC_IDS'], bad)
    for (const bad of ['10.2.0.0/8', '8.8.0.0/16', 'x'])
      assert.deepEqual(keys({ ...on, AUDITOR_VPC_CIDR: bad }).slice(0, 1), ['AUDITOR_VPC_CIDR'], bad)
    for (const bad of ['Auditor', 'a_b']) assert.deepEqual(keys({ ...on, AUDITOR_CLUSTER_NAME: bad }), ['AUDITOR_CLUSTER_NAME'], bad)
    // Overlap is named with both keys, also when another key is wrong at the same time.
    const overlap = problems({ ...on, VPC_CIDR: '10.5.0.0/16', AUDITOR_VPC_CIDR: '10.5.16.0/20' })
    assert.deepEqual(
      overlap.map((p) => p.key),
      ['AUDITOR_VPC_CIDR'],
    )
    assert.match(overlap[0]!.message, /VPC_CIDR 10\.5\.0\.0\/16 and AUDITOR_VPC_CIDR 10\.5\.16\.0\/20 overlap/)
    assert.deepEqual(keys({ ...on, AUDITOR_VPC_CIDR: '10.1.0.0/16', NODE_COUNT: 'x' }).sort(), ['AUDITOR_VPC_CIDR', 'NODE_COUNT'])
    assert.deepEqual(keys({ ...on, AUDITOR_CLUSTER_NAME: 'scalardl-prod' }), ['AUDITOR_CLUSTER_NAME'])
    // The Auditor needs the Ledger's Asset Proofs: one rule, for every step (04's and 05's refusals
    // are this one), also beside another bad key; without the Auditor, proofs may be off.
    const noProofs = problems({ ...on, LEDGER_PROOF_ENABLED: 'false' })
    assert.deepEqual(
      noProofs.map((p) => p.key),
      ['LEDGER_PROOF_ENABLED'],
    )
    assert.match(noProofs[0]!.message, /AUDITOR_ENABLED=true: the Auditor needs the Ledger's Asset Proofs/)
    assert.deepEqual(keys({ ...on, LEDGER_PROOF_ENABLED: 'false', NODE_COUNT: 'x' }).sort(), ['LEDGER_PROOF_ENABLED', 'NODE_COUNT'])
    assert.equal(parseConfig({ ...ok, LEDGER_PROOF_ENABLED: 'false' }).scalardl.proofEnabled, false)
    // Without the Auditor, its range is not checked against the Ledger's.
    assert.equal(parseConfig({ ...ok, AUDITOR_VPC_CIDR: '10.1.0.0/16' }).auditor.vpcCidr, '10.1.0.0/16')
  })

  test('several bad values at once are all reported, each with its key and a fix', () => {
    const p = problems({
      CLUSTER_NAME: 'Bad',
      VPC_CIDR: '8.8.8.0/24',
      NAT_GATEWAYS: 'x',
      BASTION_SSH_CIDR: '0.0.0.0/0',
      NODE_COUNT: '-1',
      DATABASE: 'cassandra',
    })
    const got = new Set(p.map((x) => x.key))
    for (const k of ['AWS_REGION', 'CLUSTER_NAME', 'VPC_CIDR', 'NAT_GATEWAYS', 'BASTION_SSH_CIDR', 'NODE_COUNT', 'DATABASE'])
      assert.ok(got.has(k), k)
    assert.ok(p.every((x) => x.fix.length > 10))
    assert.ok(p.filter((x) => x.key === 'VPC_CIDR').length >= 2, 'both VPC_CIDR problems: size and range')
  })

  test('rules between keys use the defaults of the schema, even when another key is bad', () => {
    // NODE_COUNT defaults to 3: NODE_MAX=2 is below it, reported beside the bad NAT_GATEWAYS.
    assert.deepEqual(
      problems({ ...ok, NODE_MAX: '2', NAT_GATEWAYS: 'lots' }).map((p) => [p.key, p.message.replace(/ \(got .*/, '')]),
      [
        ['NAT_GATEWAYS', 'must be single or per-az'],
        ['NODE_MAX', 'is 2, less than NODE_COUNT (3)'],
      ],
    )
    // The Auditor's default range (10.2.0.0/16) overlapping VPC_CIDR is found the same way.
    assert.deepEqual(keys({ ...ok, AUDITOR_ENABLED: 'true', VPC_CIDR: '10.2.0.0/16', NAT_GATEWAYS: 'lots' }), [
      'NAT_GATEWAYS',
      'AUDITOR_VPC_CIDR',
    ])
  })

  test('loadConfig reads the env file without overriding the environment', () => {
    const dir = tempDir()
    const file = path.join(dir, 'x.env')
    fs.writeFileSync(file, 'AWS_REGION=eu-west-1\nCLUSTER_NAME=from-file\nNODE_COUNT=5\n')
    const env: NodeJS.ProcessEnv = { NODE_COUNT: '7' }
    const c = loadConfig(file, env)
    assert.equal(c.clusterName, 'from-file')
    assert.equal(c.region, 'eu-west-1')
    assert.equal(c.nodeCount, 7)
    assert.equal(c.source, file)
    assert.throws(
      () => loadConfig(path.join(dir, 'missing.env'), {}),
      (e: unknown) => e instanceof ConfigError && e.problems[0]!.key === '--env-file',
    )
  })
})
