// The ahead-of-time bundles under dist/ (made by scripts/build.ts: `npm run build`, the test run,
// and the simulator's `up`) and how to run a step or a source without them. Nothing here needs a
// bundler: a deployment runs the bundles that are fresh, and the TypeScript sources through tsx
// otherwise.
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

/** node's arguments to run a TypeScript source (relative to the root) through tsx. */
export function sourceArgs(file: string): string[] {
  // tsx by path: `--import tsx` would resolve from the working directory, which may be anywhere.
  return ['--import', pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, path.join(ROOT, file)]
}

/** node's arguments to run `source` (relative to the root): its fresh `bundle` (under dist/), else through tsx. */
export function bundleOr(bundle: string, source: string): string[] {
  const file = fresh(bundle)
  return file ? [file] : sourceArgs(source)
}

/** node's arguments to run a step (e.g. `01-vpc`): its fresh bundle, else the source through tsx. */
export function stepArgs(step: string): string[] {
  return bundleOr(`runbooks/${step}.mjs`, `runbooks/${step}.ts`)
}
