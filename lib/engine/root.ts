// The project's root directory (where config/ lives), found from this module's location whether it
// runs from source (lib/...) or from an ahead-of-time bundle (dist/...): the nearest directory
// upwards whose package.json is this project's.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'scalardl-eks-runbook') return dir
    } catch {
      // no package.json here
    }
    if (path.dirname(dir) === dir) throw new Error(`scalardl-eks-runbook: no project root above ${from}`)
  }
}

export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)))
