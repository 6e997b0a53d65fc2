// Which instance types count against the Standard On-Demand vCPU quota (L-1216C47A, "Running
// On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"): the families of those letters,
// except DL, Inf, Trn and HPC, which have quotas of their own, and Mac (Dedicated Hosts only).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isStandard } from '../../lib/preflight/quotas.ts'

describe('Standard On-Demand vCPUs', () => {
  test('A, C, D, H, I, M, R, T and Z families count', () => {
    for (const t of [
      'a1.large',
      'c7g.xlarge',
      'd3.2xlarge',
      'h1.2xlarge',
      'i4i.large',
      'im4gn.large',
      'm5.xlarge',
      'm7i-flex.large',
      'r7iz.large',
      't3.small',
      'z1d.large',
    ])
      assert.ok(isStandard(t), t)
  })
  test('DL, Inf, Trn, HPC and Mac do not, nor other letters', () => {
    for (const t of [
      'dl1.24xlarge',
      'inf2.xlarge',
      'trn1.2xlarge',
      'hpc7g.4xlarge',
      'mac2.metal',
      'p4d.24xlarge',
      'g5.xlarge',
      'x2idn.16xlarge',
      'u-6tb1.metal',
    ])
      assert.equal(isStandard(t), false, t)
  })
})
