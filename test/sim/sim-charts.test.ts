import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fullname, mergeValues, parseSet, schemaErrors } from '../../sim/standins/charts/common.ts'
import { envoyValues } from '../../sim/standins/charts/envoy.ts'
import { scalardl } from '../../sim/standins/charts/scalardl.ts'
import { tablesFor } from '../../sim/kube/images.ts'

describe('simulated charts: values and names', () => {
  test('--set: dotted paths, list indexes, helm scalar typing', () => {
    assert.deepEqual(parseSet('ledger.replicaCount=3,envoy.service.type=LoadBalancer'), {
      ledger: { replicaCount: 3 },
      envoy: { service: { type: 'LoadBalancer' } },
    })
    assert.deepEqual(parseSet('a.b=true,c=null,d[0].name=reg'), { a: { b: true }, c: null, d: [{ name: 'reg' }] })
    assert.deepEqual(parseSet('x=007', true), { x: '007' })
  })
  test('values coalesce: maps deep, lists replaced, null deletes; later files and --set win', () => {
    const file1 = { ledger: { replicaCount: 3, tolerations: [{ key: 'a' }], image: { version: '1' } } }
    const file2 = { ledger: { tolerations: [{ key: 'b' }], image: null } }
    const set = parseSet('ledger.replicaCount=5')
    assert.deepEqual([file1, file2, set].reduce(mergeValues, {}), { ledger: { replicaCount: 5, tolerations: [{ key: 'b' }] } })
  })
  test("type errors are reported as the charts' values.schema.json would, for every typed key; unknown keys pass", () => {
    const values = mergeValues(scalardl.defaults(), {
      ledger: { replicaCount: '3', scalarLedgerConfiguration: { ledgerProofEnabled: 'yes' }, strategy: { rollingUpdate: { maxSurge: 0 } } },
      envoy: { image: { version: 1 } },
    })
    assert.deepEqual(schemaErrors('scalardl', values).sort(), [
      '- envoy.image.version: Invalid type. Expected: string, given: integer',
      '- ledger.replicaCount: Invalid type. Expected: integer, given: string',
      '- ledger.scalarLedgerConfiguration.ledgerProofEnabled: Invalid type. Expected: boolean, given: string',
      '- ledger.strategy.rollingUpdate.maxSurge: Invalid type. Expected: string, given: integer',
    ])
    // The envoy subchart's own schema types keys the parent's does not (strategy, tolerations).
    assert.deepEqual(
      schemaErrors('envoy', envoyValues({ envoy: { strategy: { rollingUpdate: { maxUnavailable: 1 } }, tolerations: {} } })).sort(),
      [
        '- strategy.rollingUpdate.maxUnavailable: Invalid type. Expected: string, given: integer',
        '- tolerations: Invalid type. Expected: array, given: object',
      ],
    )
    assert.deepEqual(schemaErrors('scalardl', mergeValues(scalardl.defaults(), { ledger: { somethingNew: 1 } })), [])
  })
  test('fullname: the release name when it contains the chart name, else <release>-<chart>', () => {
    assert.equal(fullname('my-release-scalardl', 'scalardl', {}), 'my-release-scalardl')
    assert.equal(fullname('ledger', 'scalardl', {}), 'ledger-scalardl')
    assert.equal(fullname('my-release-scalar-audit', 'scalardl-audit', {}), 'my-release-scalar-audit-scalardl-audit')
    assert.equal(fullname('x', 'scalardl', { fullnameOverride: 'custom' }), 'custom')
  })
  test("the schema loader's tables by schema type and image version", () => {
    assert.deepEqual(tablesFor('ledger', 'ghcr.io/scalar-labs/scalardl-schema-loader:3.11.0', true), [
      'scalar.asset',
      'scalar.asset_metadata',
      'scalar.certificate',
      'scalar.contract',
      'scalar.contract_class',
      'scalar.function',
      'scalar.tx_state',
      'coordinator.state',
      'scalardb.metadata',
    ])
    assert.ok(tablesFor('ledger', 'x:3.13.0', true).includes('scalar.namespace'))
    assert.deepEqual(tablesFor('auditor', 'x:3.11.0', false), [
      'auditor.asset',
      'auditor.asset_lock',
      'auditor.certificate',
      'auditor.contract',
      'auditor.contract_class',
      'auditor.request_proof',
      'scalardb.metadata',
    ])
  })
})
