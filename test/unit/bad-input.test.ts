// The bad-input corpus: for every configuration key, at least two invalid values; each is
// refused with that key named and a fix, secrets are never echoed back, and several problems
// are reported at once. The step-level cases (malformed .env, missing env file, unreadable or
// wrong-type key files, no credentials, unreachable endpoint) are in test/integration/cli.test.ts.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CONFIG_KEYS, ConfigError, parseConfig, type ConfigProblem } from '../../lib/config/load.ts'

const ok = { AWS_REGION: 'ap-northeast-1', CLUSTER_NAME: 'corpus' }
const secret = ['ghp', 'corpusSecret'].join('_')

/** Two or more invalid values per key (with the other keys a value needs to be checked at all). */
const CORPUS: Record<string, { values: string[]; with?: Record<string, string> }> = {
  AWS_REGION: { values: ['tokyo', 'AP-NORTHEAST-1', 'ap-northeast'] },
  CLUSTER_NAME: { values: ['Prod', 'prod_1', '1prod', 'a'.repeat(41)] },
  VPC_CIDR: { values: ['10.0.0.0/8', '10.1.0.0/24', '8.8.0.0/16', '10.1.0.1/16', 'ten'] },
  NAT_GATEWAYS: { values: ['two', 'per_az', 'SINGLE-AZ'] },
  BASTION_ENABLED: { values: ['maybe', 'on', '2'] },
  BASTION_OPERATOR_POLICY: { values: ['sometimes', 'yes please'] },
  BASTION_SSH_CIDR: { values: ['0.0.0.0/0', 'office', '10.0.0.0/33'] },
  BASTION_INSTANCE_TYPE: { values: ['small', 't3', 'T3.SMALL'] },
  BASTION_KEY_NAME: { values: ['k'.repeat(256), 'clé'] },
  NODE_COUNT: { values: ['0', 'three', '101', '-1'] },
  NODE_INSTANCE_TYPE: { values: ['xlarge', 'm5'] },
  DATABASE: { values: ['mysql', 'mongodb'] },
  DYNAMODB_NAMESPACE_PREFIX: { values: ['prod prefix', 'p/'] },
  WAIT_TIMEOUT_SECONDS: { values: ['0', '15m', '-5'] },
  KUBERNETES_VERSION: { values: ['1.18', '2', 'latest'] },
  NODEGROUP_NAME: { values: ['1pool', 'pool_1', 'x'.repeat(64)] },
  NODE_MAX: { values: ['2', 'many', '0'], with: { NODE_COUNT: '3' } },
  ENDPOINT_PUBLIC_ACCESS: { values: ['public', 'yesplease'] },
  ENDPOINT_PUBLIC_CIDRS: { values: ['0.0.0.0/0', 'anywhere'] },
  // A session ARN names no principal an access entry can hold; an account id or a bare name neither.
  CLUSTER_ADMIN_ARNS: { values: ['arn:aws:sts::111122223333:assumed-role/ops/alice', 'ops', 'arn:aws:iam::1111:role/ops'] },
  SYSTEM_NODE_COUNT: { values: ['-1', 'two', '101'] },
  CONTROL_PLANE_LOG_TYPES: { values: ['all', 'api,debug'] },
  CONTAINER_INSIGHTS: { values: ['helm', 'daemonset', 'manifest'] },
  LOG_RETENTION_DAYS: { values: ['2', 'forever', '0'] },
  LOG_FRESHNESS_MINUTES: { values: ['0', '1441', 'soon'] },
  GITHUB_USERNAME: { values: ['has space', '-'.repeat(40), 'under_score'] },
  GITHUB_TOKEN: { values: ['abc12', 'ghp_123'] },
  SCALARDL_NAMESPACE: { values: ['Default', 'ns_1', '-ns'] },
  SCALARDL_RELEASE: { values: ['My-Release', 'rel_1'] },
  SCHEMA_RELEASE: { values: ['Load Schema', 'load_schema'] },
  SCALARDL_CHART_VERSION: { values: ['latest', '4.12', 'v4.12.0'] },
  SCHEMA_LOADING_CHART_VERSION: { values: ['2', 'two.fourteen'] },
  LEDGER_PROOF_ENABLED: { values: ['sometimes', 'enabled'] },
  LEDGER_PRIVATE_KEY_FILE: { values: ['./key\n.pem', 'a\0b'] },
  SCALARDL_DB_USERNAME: { values: ['admin', 'akia-lower-case-id'] },
  SCALARDL_DB_PASSWORD: { values: ['pw12345', 'line\nbreak-in-secret'] },
  SYSTEM_NODE_INSTANCE_TYPE: { values: ['large', 'm5-large'] },
  AUDITOR_ENABLED: { values: ['perhaps', 'auditor'] },
  AUDITOR_CLUSTER_NAME: { values: ['Auditor', 'aud_1', 'corpus'], with: { AUDITOR_ENABLED: 'true' } },
  AUDITOR_VPC_CIDR: { values: ['10.1.0.0/16', '10.1.128.0/17', '8.8.0.0/16'], with: { AUDITOR_ENABLED: 'true' } },
  CLIENT_VPC_IDS: { values: ['vpc-xyz', 'subnet-0123456789abcdef0', '10.3.0.0/16'] },
  AUDITOR_PRIVATE_KEY_FILE: { values: ['k\r.pem', 'a\0b'] },
  AUDITOR_CERTIFICATE_FILE: { values: ['c\n.pem', 'c\0d'] },
  LEDGER_CERTIFICATE_FILE: { values: ['l\n.pem', 'l\0m'] },
  SCALARDL_AUDIT_CHART_VERSION: { values: ['2.12', 'latest'] },
  AUDITOR_RELEASE: { values: ['Audit', 'audit_release'] },
  AUDIT_SCHEMA_RELEASE: { values: ['Load-Audit', 'load audit'] },
  SCALARDL_CLIENT_SDK_VERSION: { values: ['3', 'v3.13.0'] },
  SCALARDL_AUDITOR_LICENSE_KEY: {
    values: [
      'not-json',
      '{"product_name":"ScalarDL Ledger","license_type":"trial"}',
      '{"product_name":"ScalarDL Auditor","license_type":"community"}',
    ],
  },
  SCALARDL_AUDITOR_LICENSE_CERT_FILE: { values: ['c\n.pem', 'c\0d'] },
  LOCK_LEASE_SECONDS: { values: ['5', '3601', 'forever'] },
  KUBECTL: { values: ['kubectl --context x', 'kubectl;rm'] },
  HELM: { values: ['helm 3', '$(helm)'] },
  EKSCTL: { values: ['eksctl && x', 'eks ctl'] },
}

function problems(env: Record<string, string>): ConfigProblem[] {
  try {
    parseConfig(env)
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return err.problems
  }
  return []
}

describe('bad-input corpus', () => {
  test('every configuration key has at least two invalid values in the corpus', () => {
    const missing = CONFIG_KEYS.filter((k) => (CORPUS[k]?.values.length ?? 0) < 2)
    assert.deepEqual(missing, [])
  })

  for (const key of Object.keys(CORPUS)) {
    test(`${key}: each invalid value is refused with the key named and a fix`, () => {
      for (const value of CORPUS[key]!.values) {
        const p = problems({ ...ok, ...CORPUS[key]!.with, [key]: value })
        const mine = p.find((x) => x.key === key)
        assert.ok(mine, `${key}=${JSON.stringify(value)} was accepted (problems: ${JSON.stringify(p)})`)
        assert.ok(mine.fix.length > 10, `${key}: no fix`)
        if (/TOKEN|PASSWORD|LICENSE_KEY/.test(key)) assert.ok(!mine.message.includes(value), `${key}: the secret was echoed`)
      }
    })
  }

  test('a secret with a bad value next to other problems: every problem listed, the secret never shown', () => {
    const p = problems({ AWS_REGION: 'tokyo', CLUSTER_NAME: 'x', GITHUB_TOKEN: secret.slice(0, 12), NODE_COUNT: 'x', VPC_CIDR: '1.2.3.4' })
    assert.deepEqual(p.map((x) => x.key).sort(), ['AWS_REGION', 'GITHUB_TOKEN', 'NODE_COUNT', 'VPC_CIDR'])
    assert.ok(!JSON.stringify(p).includes(secret.slice(0, 12)))
  })
})
