// The one argument parser of the steps and 07-verify (lib/engine/args.ts, on node:util parseArgs).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseArgs, UsageError } from '../../lib/engine/args.ts'

describe('step command line', () => {
  test('common flags, short forms, a step flag and a flag with a value in both forms', () => {
    const a = parseArgs(
      ['--dry-run', '-y', '--json', '--env-file', 'prod.env', '--prepare', '--confirm=demo'],
      ['prepare', 'prepared'],
      ['confirm'],
    )
    assert.deepEqual(a, {
      envFile: 'prod.env',
      dryRun: true,
      yes: true,
      json: true,
      help: false,
      flags: { prepare: true, prepared: false, confirm: 'demo' },
    })
    assert.equal(parseArgs(['-h']).help, true)
    assert.deepEqual(parseArgs([]), { envFile: undefined, dryRun: false, yes: false, json: false, help: false, flags: {} })
  })

  test('every unknown argument is named at once, positionals too', () => {
    assert.throws(
      () => parseArgs(['--dryrun', '-x', 'extra', '--yes']),
      (e: unknown) => e instanceof UsageError && e.message === 'unknown arguments: --dryrun -x extra',
    )
    assert.throws(() => parseArgs(['--prepare']), /unknown argument: --prepare/, "another step's flag")
  })

  test('a flag with a value needs one; a boolean takes none', () => {
    assert.throws(() => parseArgs(['--env-file']), /--env-file needs a path/)
    assert.throws(() => parseArgs(['--env-file', '--json']), /--env-file needs a path/, 'the next flag is not a path')
    assert.throws(() => parseArgs(['--env-file=']), /--env-file needs a path/)
    assert.throws(() => parseArgs(['--report'], [], ['report']), /--report needs a value/)
    assert.throws(() => parseArgs(['--yes=no']), /--yes takes no value/)
  })
})
