// The kubeconfig eksctl writes is the one the runbook's in-process token replaces: its exec entry
// exactly as eksctl v0.228.0 writes it (pkg/utils/kubeconfig/kubeconfig.go:171-212), environment
// included; any other entry is left to the AWS CLI.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { eksctlExecEntry } from '../../lib/eks/kube-session.ts'

const eksctlUser = (env: { name: string; value: string }[]) => ({
  exec: {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    command: 'aws',
    args: ['eks', 'get-token', '--output', 'json', '--cluster-name', 'ledger', '--region', 'ap-northeast-1'],
    env,
    interactiveMode: 'IfAvailable',
    provideClusterInfo: false,
  },
})

describe('the session kubeconfig', () => {
  test("eksctl's exec entry, with its AWS_STS_REGIONAL_ENDPOINTS=regional, gets the in-process token", () => {
    assert.deepEqual(eksctlExecEntry(eksctlUser([{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }]), 'us-east-1'), {
      cluster: 'ledger',
      region: 'ap-northeast-1',
    })
    assert.deepEqual(eksctlExecEntry(eksctlUser([]), 'us-east-1'), { cluster: 'ledger', region: 'ap-northeast-1' })
  })

  test('an entry with a profile, a role or another variable is left to the AWS CLI', () => {
    assert.equal(eksctlExecEntry(eksctlUser([{ name: 'AWS_PROFILE', value: 'ops' }]), 'us-east-1'), undefined)
    const role = eksctlUser([{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }])
    role.exec.args.push('--role-arn', 'arn:aws:iam::111122223333:role/ops')
    assert.equal(eksctlExecEntry(role, 'us-east-1'), undefined)
  })
})
