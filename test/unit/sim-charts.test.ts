import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fullname, mergeValues, parseSet, schemaErrors } from '../../sim/standins/charts/common.ts'
import { scalardl } from '../../sim/standins/charts/scalardl.ts'
import { tablesFor } from '../../sim/kube/images.ts'

describe('simulated charts: values and names', () => {
  test('--set: dotted paths, list indexes, helm scalar typing', () => {
    assert.deepEqual(parseSet('ledger.replicaCount=3,envoy.service.type=LoadBalancer'), { ledger: { replicaCount: 3 }, envoy: { service: { type: 'LoadBalancer' } } })
    assert.deepEqual(parseSet('a.b=true,c=null,d[0].name=reg'), { a: { b: true }, c: null, d: [{ name: 'reg' }] })
    assert.deepEqual(parseSet('x=007', true), { x: '007' })
  })
  test('values coalesce: maps deep, lists replaced, null deletes; later files and --set win', () => {
    const file1 = { ledger: { replicaCount: 3, tolerations: [{ key: 'a' }], image: { version: '1' } } }
    const file2 = { ledger: { tolerations: [{ key: 'b' }], image: null } }
    const set = parseSet('ledger.replicaCount=5')
    assert.deepEqual([file1, file2, set].reduce(mergeValues, {}), { ledger: { replicaCount: 5, tolerations: [{ key: 'b' }] } })
  })
  test('type errors are reported as the charts\' schemas would; unknown keys pass', () => {
    const d = scalardl.defaults()
    assert.deepEqual(schemaErrors(d, { ledger: { replicaCount: '3', scalarLedgerConfiguration: { ledgerProofEnabled: 'yes' } }, envoy: { tolerations: {} } }).sort(), [
      '- envoy.tolerations: Invalid type. Expected: array, given: object',
      '- ledger.replicaCount: Invalid type. Expected: integer, given: string',
      '- ledger.scalarLedgerConfiguration.ledgerProofEnabled: Invalid type. Expected: boolean, given: string',
    ])
    assert.deepEqual(schemaErrors(d, { ledger: { somethingNew: 1 } }), [])
  })
  test('fullname: the release name when it contains the chart name, else <release>-<chart>', () => {
    assert.equal(fullname('my-release-scalardl', 'scalardl', {}), 'my-release-scalardl')
    assert.equal(fullname('ledger', 'scalardl', {}), 'ledger-scalardl')
    assert.equal(fullname('my-release-scalar-audit', 'scalardl-audit', {}), 'my-release-scalar-audit-scalardl-audit')
    assert.equal(fullname('x', 'scalardl', { fullnameOverride: 'custom' }), 'custom')
  })
  test('the schema loader\'s tables by schema type and image version', () => {
    assert.deepEqual(tablesFor('ledger', 'ghcr.io/scalar-labs/scalardl-schema-loader:3.11.0', true), ['scalar.asset', 'scalar.asset_metadata', 'scalar.certificate', 'scalar.contract', 'scalar.contract_class', 'scalar.function', 'scalar.tx_state', 'coordinator.state', 'scalardb.metadata'])
    assert.ok(tablesFor('ledger', 'x:3.13.0', true).includes('scalar.namespace'))
    assert.deepEqual(tablesFor('auditor', 'x:3.11.0', false), ['auditor.asset', 'auditor.asset_lock', 'auditor.certificate', 'auditor.contract', 'auditor.contract_class', 'auditor.request_proof', 'scalardb.metadata'])
  })
})
