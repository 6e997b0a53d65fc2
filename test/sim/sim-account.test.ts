// The simulated account's EKS version calendar and Service Quotas (sim/eks-versions.ts,
// sim/service-quotas.ts), judged at fixed dates so the test does not age.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { clusterVersions, eksVersionHooks } from '../../sim/eks-versions.ts'
import { serviceQuotaHooks } from '../../sim/service-quotas.ts'

const at = (iso: string) => Date.parse(`${iso}T12:00:00Z`)
const statusOf = (now: number, v: string) => clusterVersions(now).find((x) => x.clusterVersion === v)?.versionStatus

describe('simulated DescribeClusterVersions', () => {
  test('standard support for 14 months from the EKS release, then extended for 12, then unsupported', () => {
    assert.equal(statusOf(at('2026-12-01'), '1.34'), 'STANDARD_SUPPORT')
    assert.equal(statusOf(at('2026-12-02'), '1.34'), 'EXTENDED_SUPPORT', 'billing starts on the end-of-standard-support day (UTC)')
    assert.equal(statusOf(at('2027-12-02'), '1.34'), 'UNSUPPORTED')
    assert.equal(statusOf(at('2026-12-01'), '1.32'), 'EXTENDED_SUPPORT')
    // 1.36: released on EKS 14 months before 2027-08-02; not listed before that.
    assert.equal(statusOf(at('2026-06-01'), '1.36'), undefined)
    const v136 = clusterVersions(at('2026-06-03')).find((x) => x.clusterVersion === '1.36')!
    assert.equal(new Date(v136.releaseDate * 1000).toISOString().slice(0, 10), '2026-06-02')
    assert.equal(v136.status, v136.versionStatus)
  })

  test('the API leaves out unsupported versions unless includeAll, and filters by version and status', async () => {
    const hooks = eksVersionHooks(
      () => ({ '1.35': 'EXTENDED_SUPPORT' }),
      () => at('2026-12-01'),
    )
    const ask = async (q: string) =>
      ((await hooks.serve!('eks', 'GET', `/cluster-versions${q}`, '', '', 'ap-northeast-1'))!.body as any).clusterVersions.map(
        (v: any) => `${v.clusterVersion}:${v.versionStatus}`,
      )
    assert.deepEqual(await ask(''), [
      '1.36:STANDARD_SUPPORT',
      '1.35:EXTENDED_SUPPORT',
      '1.34:STANDARD_SUPPORT',
      '1.33:EXTENDED_SUPPORT',
      '1.32:EXTENDED_SUPPORT',
    ])
    assert.ok((await ask('?includeAll=true')).includes('1.31:UNSUPPORTED'))
    assert.deepEqual(await ask('?clusterVersions=1.33&clusterVersions=1.36'), ['1.36:STANDARD_SUPPORT', '1.33:EXTENDED_SUPPORT'])
    assert.deepEqual(await ask('?versionStatus=STANDARD_SUPPORT'), ['1.36:STANDARD_SUPPORT', '1.34:STANDARD_SUPPORT'])
    assert.equal(await hooks.serve!('eks', 'GET', '/clusters', '', '', 'ap-northeast-1'), undefined, 'other paths go on to moto')
  })
})

describe('simulated Service Quotas', () => {
  const hooks = serviceQuotaHooks(() => ({ 'ec2/L-0263D0A3': 2 }))
  const call = (action: string, service: string, code: string) =>
    hooks.serve!('servicequotas', 'POST', action, JSON.stringify({ ServiceCode: service, QuotaCode: code }), '', 'us-east-1')

  test('GetServiceQuota: the applied value, or NoSuchResourceException where none is applied; the default from GetAWSDefaultServiceQuota', async () => {
    assert.equal(((await call('GetServiceQuota', 'ec2', 'L-0263D0A3'))!.body as any).Quota.Value, 2)
    const none = await call('GetServiceQuota', 'eks', 'L-1194D53C')
    assert.equal(none!.errorType, 'NoSuchResourceException')
    assert.equal(((await call('GetAWSDefaultServiceQuota', 'eks', 'L-1194D53C'))!.body as any).Quota.Value, 100)
    assert.equal(
      ((await call('GetAWSDefaultServiceQuota', 'ec2', 'L-0263D0A3'))!.body as any).Quota.Value,
      5,
      'the default ignores increases',
    )
    assert.equal(await call('GetServiceQuota', 'ec2', 'L-NOTOURS'), undefined, 'other codes go on to moto')
  })
})
