// The ahead-of-time bundles of `npm run build` (scripts/build.ts) under dist/, and how to start a
// step from its bundle when it is fresh (no source newer), or from its TypeScript source otherwise.
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT } from './root.ts'

export const DIST = path.join(ROOT, 'dist')
export const INPUTS = path.join(DIST, 'inputs.json')

/** The bundle of `entry` (e.g. runbooks/01-vpc.mjs) if it exists and none of its sources is newer. */
export function fresh(entry: string): string | undefined {
  const file = path.join(DIST, entry)
  try {
    const built = fs.statSync(file).mtimeMs
    const sources = (JSON.parse(fs.readFileSync(INPUTS, 'utf8')) as Record<string, string[]>)[entry]
    if (!sources?.length) return undefined
    return sources.every((s) => fs.statSync(path.join(ROOT, s)).mtimeMs <= built) ? file : undefined
  } catch {
    return undefined
  }
}

/** node's arguments to run a step (e.g. `01-vpc`): its fresh bundle, else the source through tsx. */
export function stepArgs(step: string): string[] {
  const bundle = fresh(`runbooks/${step}.mjs`)
  // tsx by path: `--import tsx` would resolve from the working directory, which may be anywhere.
  return bundle ? [bundle] : ['--import', pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, path.join(ROOT, 'runbooks', `${step}.ts`)]
}
