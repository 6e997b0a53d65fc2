// .env.example, written from the declarations of the keys: each key under its doc, in sections.
// `npm run env-example` writes the file; test/unit/env-example.test.ts checks the committed one.
import type { Declaration } from './declaration.ts'
import { KEYS } from './keys.ts'

const WIDTH = 100

const HEADER = [
  'scalardl-eks-runbook configuration. Copy to .env and edit; or pass --env-file PATH. Values already set in the environment ' +
    'win over this file. Every step validates all keys before it calls AWS and lists every problem with its fix (exit 2).',
  '',
  "The AWS SDK's own variables work as usual and are not repeated here: AWS_PROFILE, " +
    'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_ENDPOINT_URL (the simulator uses it), AWS_MAX_ATTEMPTS, ' +
    'AWS_RETRY_MODE.',
  '',
  'Written by `npm run env-example` from lib/config/keys.ts, where each key is declared: edit it there.',
]

/** Not a key of the configuration: read from the environment alone (lib/config/load.ts). */
const FOOTER = [
  '# Where the journal (.runbook/journal.jsonl) and rendered files go (set in the environment).',
  '# RUNBOOK_STATE_DIR=.runbook',
]

/** The words of a line; a `quoted command` is one word, so that it is never broken. */
function words(line: string): string[] {
  const out: string[] = []
  for (const w of line.split(' ')) {
    const last = out.at(-1)
    if (last !== undefined && (last.split('`').length - 1) % 2 === 1) out[out.length - 1] = `${last} ${w}`
    else out.push(w)
  }
  return out
}

/** Text as `# ` comment lines of at most WIDTH characters (a longer word stays whole); "\n" breaks a line. */
export function comment(text: string): string[] {
  return text.split('\n').flatMap((paragraph) => {
    if (!paragraph) return ['#']
    const lines: string[] = []
    let line = '#'
    for (const word of words(paragraph)) {
      if (line !== '#' && line.length + 1 + word.length > WIDTH) {
        lines.push(line)
        line = '#'
      }
      line += ` ${word}`
    }
    return [...lines, line]
  })
}

const heading = (title: string) => `# --- ${title} `.padEnd(WIDTH, '-')

/** The text of .env.example. */
export function envExample(keys: Record<string, Declaration> = KEYS): string {
  const out = HEADER.flatMap(comment)
  for (const [name, k] of Object.entries(keys)) {
    if (k.section) {
      const { title, note } = typeof k.section === 'string' ? { title: k.section, note: undefined } : k.section
      out.push('', heading(title), ...(note ? [...comment(note), '#'] : []))
    }
    out.push(...comment(k.doc), `${k.commented ? '# ' : ''}${name}=${k.example}`)
  }
  return `${[...out, ...FOOTER].join('\n')}\n`
}
