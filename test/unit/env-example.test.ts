// Each configuration key is declared once (lib/config/keys.ts): the schema, the fixes and
// .env.example follow from it. These tests fail when one of them has drifted: .env.example not
// written again after a change, a key without its words, a key that the configuration never reads.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import dotenv from 'dotenv'
import { CONFIG_KEYS, parseConfig } from '../../lib/config/load.ts'
import { comment, envExample } from '../../lib/config/env-example.ts'
import { KEYS } from '../../lib/config/keys.ts'
import { ROOT } from '../helpers/run-step.ts'

const committed = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8')

describe('.env.example and the declarations of the keys', () => {
  test('the committed .env.example is what the declarations write (else: npm run env-example)', () => {
    assert.equal(committed, envExample())
  })

  test('it lists every key, once, in the order declared, with its example value', () => {
    const listed = [...committed.matchAll(/^(# )?([A-Z][A-Z0-9_]*)=(\S*)$/gm)].map((m) => ({ key: m[2]!, commented: !!m[1], value: m[3]! }))
    // RUNBOOK_STATE_DIR is read from the environment alone, so it is shown but not declared.
    assert.deepEqual(
      listed.map((l) => l.key),
      [...CONFIG_KEYS, 'RUNBOOK_STATE_DIR'],
    )
    for (const l of listed.filter((x) => x.key !== 'RUNBOOK_STATE_DIR')) {
      const k = KEYS[l.key as keyof typeof KEYS]
      assert.deepEqual({ commented: l.commented, value: l.value }, { commented: k.commented, value: k.example }, l.key)
    }
    // dotenv reads it as written: a commented key is not set, a blank one is empty.
    const parsed = dotenv.parse(committed)
    assert.deepEqual(
      Object.keys(parsed),
      CONFIG_KEYS.filter((k) => !KEYS[k].commented),
    )
  })

  test('its values are a valid configuration', () => {
    const c = parseConfig(dotenv.parse(committed))
    assert.equal(c.clusterName, 'scalardl-prod')
    assert.equal(c.auditor.clusterName, 'scalardl-prod-auditor')
  })

  test('every key has a doc and a fix that names it', () => {
    for (const [name, k] of Object.entries(KEYS)) {
      assert.ok(k.doc.trim().length > 10, `${name}: no doc`)
      assert.ok(k.fix.includes(name), `${name}: the fix does not name the key`)
    }
  })

  test('every key is read by toConfig (DATABASE and CONTAINER_INSIGHTS each allow one value, written as it)', () => {
    const source = fs.readFileSync(path.join(ROOT, 'lib/config/load.ts'), 'utf8')
    const unread = CONFIG_KEYS.filter((k) => !new RegExp(`\\br\\.${k}\\b`).test(source))
    assert.deepEqual(unread, ['DATABASE', 'CONTAINER_INSIGHTS'])
  })

  test('a key with a default parses the default it shows; a required key has none', () => {
    for (const [name, k] of Object.entries(KEYS)) {
      const unset = k.schema.safeParse(undefined)
      if (name === 'AWS_REGION' || name === 'CLUSTER_NAME') assert.equal(unset.success, false, name)
      else assert.ok(unset.success, name)
    }
    // The comment above a key is what was declared, wrapped.
    assert.ok(committed.includes(comment(KEYS.NODE_MAX.doc).join('\n')))
  })

  test('comments wrap at 100 characters, keep a `command` whole and break where asked', () => {
    const lines = comment(`${'word '.repeat(30)}\`npm run bastion -- run\` end\nnext line`)
    assert.ok(lines.every((l) => l.length <= 100))
    assert.ok(lines.some((l) => l.includes('`npm run bastion -- run`')))
    assert.equal(lines.at(-1), '# next line')
    assert.deepEqual(comment(''), ['#'])
  })
})
