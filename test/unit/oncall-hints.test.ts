// Each 07-verify check's hint names its section of ONCALL.md (`ONCALL.md, "Check: <name>"`), and
// that section exists: the guide's headings are parsed here, so a renamed heading or a new check
// without its section fails. So does every other `ONCALL.md, "..."` a check or lib/verify names
// (07's "cannot run"), and every relative link between the guides, to a file or a section.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { CHECKS } from '../../runbooks/07-verify.ts'
import { ROOT } from '../helpers/run-step.ts'

/** The headings of a markdown file, outside fenced code blocks. */
function headings(markdown: string): string[] {
  let fenced = false
  const out: string[] = []
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    else if (!fenced) {
      const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)
      if (m) out.push(m[1]!)
    }
  }
  return out
}

/** The text of a markdown file outside fenced code blocks and code spans, where links are links. */
function prose(markdown: string): string {
  return markdown.replace(/^\s*```[\s\S]*?^\s*```/gm, '').replace(/`[^`\n]*`/g, '')
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-')
}

/** The ONCALL.md headings a text names, as `ONCALL.md, "HEADING"`. */
const named = (text: string): string[] => [...text.matchAll(/ONCALL\.md, "([^"]+)"/g)].map((m) => m[1]!)

const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8')
const ONCALL = headings(read('ONCALL.md'))
/** The guides, each to its reader. */
const DOCS = ['README.md', 'RUNBOOK.md', 'ONCALL.md', 'CONTRIBUTING.md', 'sim/README.md']

describe('the on-call guide and the hints that point into it', () => {
  test('every check in CHECKS names its own ONCALL.md section, and the section exists', () => {
    assert.ok(CHECKS.length >= 10)
    for (const check of CHECKS) {
      const sections = named(check.hint)
      assert.deepEqual(sections, [`Check: ${check.name}`], `the hint of ${check.name} names its section: ${check.hint}`)
      assert.ok(ONCALL.includes(sections[0]!), `ONCALL.md has no heading "${sections[0]}" (the ${check.name} check's hint names it)`)
    }
  })

  test('every ONCALL.md section named in checks/ and lib/verify/ exists', () => {
    const files = [
      ...fs.readdirSync(path.join(ROOT, 'checks')).map((f) => `checks/${f}`),
      ...fs.readdirSync(path.join(ROOT, 'lib/verify')).map((f) => `lib/verify/${f}`),
    ].filter((f) => f.endsWith('.ts'))
    const all = files.flatMap((f) => named(read(f)).map((h) => ({ f, h })))
    assert.ok(
      all.some(({ h }) => h === 'Cannot run (exit 2)'),
      "07's cannot-run hint names its section",
    )
    for (const { f, h } of all) assert.ok(ONCALL.includes(h), `${f} names ONCALL.md "${h}", which has no such heading`)
  })

  test('ONCALL.md headings are unique', () => {
    assert.equal(new Set(ONCALL.map(anchor)).size, ONCALL.length)
  })

  test('relative links between the guides resolve, to the file and to the section', () => {
    for (const doc of DOCS) {
      for (const m of prose(read(doc)).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!
        if (/^[a-z]+:/.test(target)) continue // https:, mailto:
        const [file, section] = target.split('#') as [string, string | undefined]
        const to = file ? path.normalize(path.join(path.dirname(doc), file)) : doc
        assert.ok(fs.existsSync(path.join(ROOT, to)), `${doc} links to ${target}: no file ${to}`)
        if (section === undefined) continue
        assert.ok(headings(read(to)).map(anchor).includes(section), `${doc} links to ${target}: ${to} has no such section`)
      }
    }
  })

  test('anchor() spells headings as GitHub does', () => {
    assert.equal(anchor('Check: envoy'), 'check-envoy')
    assert.equal(anchor('Cannot run (exit 2)'), 'cannot-run-exit-2')
    assert.equal(anchor('01-vpc: the network (guide Step 1)'), '01-vpc-the-network-guide-step-1')
  })
})
