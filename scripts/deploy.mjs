// `npm run deploy`: lib/deploy/deploy.ts from its ahead-of-time bundle (dist/deploy/deploy.mjs, made by
// `npm run build`), which starts without compiling TypeScript; when there is none, from its
// sources through tsx (a dependency: `npm ci --omit=dev` keeps it; the bundler is a dev tool). A bundle older than its sources hands over to the
// sources itself (lib/deploy/deploy.ts).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const bundle = path.join(root, 'dist', 'deploy', 'deploy.mjs')
if (fs.existsSync(bundle)) await import(pathToFileURL(bundle).href)
else {
  const tsx = pathToFileURL(path.join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href
  const r = spawnSync(process.execPath, ['--import', tsx, path.join(root, 'lib', 'deploy', 'deploy.ts'), ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  process.exit(r.status ?? 1)
}
