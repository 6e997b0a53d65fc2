import { pathToFileURL } from 'node:url'

/** True when the module is the script node was started with (not imported by a test). */
export function isMain(metaUrl: string): boolean {
  const entry = process.argv[1]
  return Boolean(entry) && metaUrl === pathToFileURL(entry!).href
}
