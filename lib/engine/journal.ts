// The audit journal: one JSON line per run in <stateDir>/journal.jsonl, secrets redacted.
// It records what a run did; it is never read to decide what to do (state comes from AWS).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { redact } from './redact.ts'

interface JournalEntry {
  ts: string
  runId: string
  step: string
  [key: string]: unknown
}

function journalPath(stateDir: string): string {
  return path.join(stateDir, 'journal.jsonl')
}

export function appendJournal(stateDir: string, entry: JournalEntry): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 })
  const line = JSON.stringify(redact({ ...entry, user: os.userInfo().username, host: os.hostname() })) + '\n'
  fs.appendFileSync(journalPath(stateDir), line, { mode: 0o600 })
}
