import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { redact, redactText, registerSecret } from '../../lib/engine/redact.ts'

describe('secret redaction', () => {
  test('well-known secret shapes are masked in text', () => {
    const token = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'
    const pem = ['-----BEGIN EC ', 'PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC ', 'PRIVATE KEY-----'].join('')
    const text = `token ${token} key ${pem} id AKIAABCDEFGHIJKLMNOP aws_secret_access_key=abcd/efgh+ijkl password: hunter22`
    const out = redactText(text)
    for (const secret of [token, 'MHcCAQEEIB', 'AKIAABCDEFGHIJKLMNOP', 'abcd/efgh+ijkl', 'hunter22'])
      assert.ok(!out.includes(secret), `${secret} leaked: ${out}`)
    assert.match(out, /aws_secret_access_key=\*\*\*/)
  })

  test('registered values are masked wherever they appear', () => {
    registerSecret('s3cr3t-db-pass')
    assert.equal(redactText('jdbc://u:s3cr3t-db-pass@h'), 'jdbc://u:***@h')
  })

  test('objects: secret-named keys masked at any depth, other strings redacted, input untouched', () => {
    const input = {
      step: '04',
      values: { dbPassword: 'x', githubToken: 'y', privateKey: 'z', nested: [{ note: 'uses s3cr3t-db-pass' }] },
      count: 3,
    }
    const out = redact(input)
    assert.deepEqual(out, {
      step: '04',
      values: { dbPassword: '***', githubToken: '***', privateKey: '***', nested: [{ note: 'uses ***' }] },
      count: 3,
    })
    assert.equal(input.values.dbPassword, 'x')
  })
})
