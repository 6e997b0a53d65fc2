import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { contains, formatCidr, isPrivateRange, overlaps, parseCidr, planSubnets } from '../../lib/network/cidr.ts'

describe('CIDR planning', () => {
  test('parse and format round-trip; host bits and bad input refused', () => {
    assert.equal(formatCidr(parseCidr('10.1.0.0/16')), '10.1.0.0/16')
    assert.equal(formatCidr(parseCidr('192.168.255.0/24')), '192.168.255.0/24')
    assert.throws(() => parseCidr('10.1.0.1/16'), /host bits/)
    assert.throws(() => parseCidr('10.1.0.0/33'))
    assert.throws(() => parseCidr('10.1.0/16'))
  })

  test('overlap, containment, private ranges', () => {
    assert.ok(overlaps(parseCidr('10.1.0.0/16'), parseCidr('10.1.128.0/20')))
    assert.ok(!overlaps(parseCidr('10.1.0.0/16'), parseCidr('10.2.0.0/16')))
    assert.ok(contains(parseCidr('10.0.0.0/8'), parseCidr('10.1.0.0/16')))
    assert.ok(isPrivateRange(parseCidr('172.31.0.0/16')))
    assert.ok(!isPrivateRange(parseCidr('172.32.0.0/16')))
  })

  test('a /16 gives three private /18 and three public /20, none overlapping, all inside', () => {
    const plan = planSubnets('10.1.0.0/16')
    assert.deepEqual(
      plan.map((p) => `${p.tier} ${p.az} ${p.cidr}`),
      [
        'private 0 10.1.0.0/18',
        'private 1 10.1.64.0/18',
        'private 2 10.1.128.0/18',
        'public 0 10.1.192.0/20',
        'public 1 10.1.208.0/20',
        'public 2 10.1.224.0/20',
      ],
    )
    assertDisjointInside(
      plan.map((p) => p.cidr),
      '10.1.0.0/16',
    )
  })

  test('every size from /16 to /20 keeps subnets at /24 or larger', () => {
    for (const prefix of [16, 17, 18, 19, 20]) {
      const vpc = `10.8.0.0/${prefix}`
      const plan = planSubnets(vpc)
      assert.equal(plan.length, 6)
      for (const p of plan) assert.ok(parseCidr(p.cidr).prefix <= 24, `${vpc}: ${p.cidr}`)
      assertDisjointInside(
        plan.map((p) => p.cidr),
        vpc,
      )
    }
    assert.throws(() => planSubnets('10.8.0.0/21'), /smaller than \/24/)
  })
})

function assertDisjointInside(cidrs: string[], vpc: string) {
  const parsed = cidrs.map(parseCidr)
  for (const c of parsed) assert.ok(contains(parseCidr(vpc), c), `${formatCidr(c)} outside ${vpc}`)
  for (let i = 0; i < parsed.length; i++)
    for (let j = i + 1; j < parsed.length; j++) assert.ok(!overlaps(parsed[i]!, parsed[j]!), `${cidrs[i]} overlaps ${cidrs[j]}`)
}
