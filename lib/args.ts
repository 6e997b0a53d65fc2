// The command line every step shares:
//   npx tsx runbooks/NN-name.ts [--env-file PATH] [--dry-run] [--yes] [--json] [--help]
import minimist from 'minimist'

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

export function parseArgs(argv: string[], stepFlags: string[] = [], stringFlags: string[] = []): CommonArgs {
  const booleans = [...COMMON_BOOLEANS, ...stepFlags]
  const unknown: string[] = []
  const parsed = minimist(argv, {
    boolean: booleans,
    string: ['env-file', ...stringFlags],
    alias: { h: 'help', y: 'yes' },
    unknown: (arg: string) => {
      unknown.push(arg)
      return false
    },
  })
  if (unknown.length) throw new UsageError(`unknown argument${unknown.length > 1 ? 's' : ''}: ${unknown.join(' ')}`)
  if ('env-file' in parsed && (typeof parsed['env-file'] !== 'string' || parsed['env-file'] === ''))
    throw new UsageError('--env-file needs a path')
  const flags: Record<string, boolean | string> = {}
  for (const f of stepFlags) flags[f] = Boolean(parsed[f])
  for (const f of stringFlags) if (typeof parsed[f] === 'string') flags[f] = parsed[f] as string
  return {
    envFile: parsed['env-file'] as string | undefined,
    dryRun: Boolean(parsed['dry-run']),
    yes: Boolean(parsed.yes),
    json: Boolean(parsed.json),
    help: Boolean(parsed.help),
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
