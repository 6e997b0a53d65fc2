// The command line every step shares:
//   npx tsx runbooks/NN-name.ts [--env-file PATH] [--dry-run] [--yes] [--json] [--help]
import { parseArgs as utilParseArgs } from 'node:util'

export interface CommonArgs {
  envFile?: string
  dryRun: boolean
  yes: boolean
  json: boolean
  help: boolean
  /** Step-specific flags: booleans, and strings for the step's string options. */
  flags: Record<string, boolean | string>
}

export class UsageError extends Error {}

const COMMON_BOOLEANS = ['dry-run', 'yes', 'json', 'help']

/**
 * Parses a step's command line with node's own parser (node:util parseArgs, as the project's
 * other scripts do): the common flags, the step's boolean flags and its flags with a value
 * (`--name value` or `--name=value`). Every unknown argument is named at once.
 */
export function parseArgs(argv: string[], stepFlags: string[] = [], stringFlags: string[] = []): CommonArgs {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    yes: { type: 'boolean', short: 'y' },
    'env-file': { type: 'string' },
  }
  for (const f of [...COMMON_BOOLEANS, ...stepFlags]) options[f] ??= { type: 'boolean' }
  for (const f of stringFlags) options[f] = { type: 'string' }
  // Not strict, so that every unknown argument can be listed, not only the first.
  const { values, tokens } = utilParseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true })
  const unknown = tokens.flatMap((t) =>
    t.kind === 'positional' ? [t.value] : t.kind === 'option' && !Object.hasOwn(options, t.name) ? [t.rawName] : [],
  )
  if (unknown.length) throw new UsageError(`unknown argument${unknown.length > 1 ? 's' : ''}: ${unknown.join(' ')}`)
  // A flag with a value given none (or the next flag as its value), a boolean given one (--yes=no).
  const wrong = tokens.find(
    (t) =>
      t.kind === 'option' &&
      (options[t.name]!.type === 'string' ? !t.value || (t.inlineValue === false && t.value.startsWith('-')) : t.value !== undefined),
  )
  if (wrong?.kind === 'option')
    throw new UsageError(
      options[wrong.name]!.type === 'string'
        ? `--${wrong.name} needs a ${wrong.name === 'env-file' ? 'path' : 'value'}`
        : `--${wrong.name} takes no value`,
    )
  const flags: Record<string, boolean | string> = {}
  for (const f of stepFlags) flags[f] = values[f] === true
  for (const f of stringFlags) if (typeof values[f] === 'string') flags[f] = values[f]
  return {
    envFile: values['env-file'] as string | undefined,
    dryRun: values['dry-run'] === true,
    yes: values.yes === true,
    json: values.json === true,
    help: values.help === true,
    flags,
  }
}

export function usage(step: string, description: string, stepFlags: Record<string, string> = {}, extra?: string): string {
  const lines = [
    `${step}: ${description}`,
    '',
    `Usage: npx tsx runbooks/${step}.ts [--env-file PATH] [--dry-run] [--yes] [--json] [--help]`,
    '',
    '  --env-file PATH  read configuration from PATH instead of ./.env',
    '  --dry-run        check everything, change nothing: report what would change',
    '  --yes            answer yes to confirmations',
    '  --json           print the result as JSON on stdout (human output stays on stderr)',
    '  --help           show this help',
    ...Object.entries(stepFlags).map(([f, d]) => `  --${f.padEnd(15)} ${d}`),
    '',
    'Exit codes: 0 done (ok, changed, or planned in --dry-run), 1 a task failed, 2 bad usage or configuration.',
  ]
  if (extra) lines.push('', extra)
  return lines.join('\n')
}
