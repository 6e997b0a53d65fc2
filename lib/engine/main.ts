import path from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * True when the module is the script node was started with (not imported by a test or another
 * script). `name` is the module's own file name without extension: in an ahead-of-time bundle,
 * modules inlined into an entry share its URL (07-verify's bundle holds every check, each of which
 * can also run alone), so the URL alone cannot tell which one was started.
 */
export function isMain(metaUrl: string, name: string): boolean {
  const entry = process.argv[1]
  if (!entry || metaUrl !== pathToFileURL(entry).href) return false
  return path.basename(entry).replace(/\.(ts|mjs|js)$/, '') === name
}
