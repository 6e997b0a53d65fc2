// Ahead-of-time build: the runbook steps, `npm run deploy` and the simulator's stand-ins bundled
// into plain JavaScript under dist/, so a step starts without compiling TypeScript at run time (about half
// the start-up of `npx tsx runbooks/NN.ts`; a stand-in about a quarter of its own). Each bundle
// records its input files in dist/inputs.json: `fresh()` tells whether a bundle is older than
// its sources, and callers rebuild or fall back to the sources then.
import fs from 'node:fs'
import path from 'node:path'
import { build as esbuild } from 'esbuild'
import { DIST, fresh, INPUTS } from '../lib/engine/bundles.ts'
import { ROOT } from '../lib/engine/root.ts'

// Where the bundles are and whether each is fresh: lib/engine/bundles.ts (the product needs them at run
// time, without a bundler). How to run a step or a source (from its bundle when fresh) is re-exported
// for the simulator and the bench, which import nothing of lib/.
export { sourceArgs, stepArgs } from './bundles.ts'

const entries = (dir: string, pattern: RegExp) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter((f) => pattern.test(f))
    .map((f) => path.join(ROOT, dir, f))

/** Each output folder under dist/ and its entry points: every source there matching the pattern. */
const GROUPS: [out: string, [dir: string, pattern: RegExp][]][] = [
  ['runbooks', [['runbooks', /^[\w-]+\.ts$/]]],
  // The stand-ins, and the simulator's CLI and daemon: started hundreds of times by the tests.
  [
    'sim',
    [
      ['sim/standins', /^(helm|eksctl)\.ts$/],
      ['sim', /^cli\.ts$/],
      ['sim/kube', /^daemon\.ts$/],
    ],
  ],
  ['deploy', [['lib/deploy', /^deploy\.ts$/]]],
]
const entriesOf = (sources: [string, RegExp][]) => sources.flatMap(([dir, pattern]) => entries(dir, pattern))

/**
 * Bundles runbooks/*.ts into dist/runbooks/*.mjs (shared code in chunks), lib/deploy/deploy.ts into
 * dist/deploy/ and the stand-ins into dist/sim/. Built aside and swapped in with renames, so a step or a stand-in starting meanwhile
 * sees either the old bundle, the new one, or none (and then runs from the sources).
 */
async function build(): Promise<void> {
  const tmp = path.join(DIST, `.build-${process.pid}`)
  fs.rmSync(tmp, { recursive: true, force: true })
  const inputs: Record<string, string[]> = {}
  const common = {
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    // node_modules are bundled too: resolving and loading hundreds of small AWS SDK files is most
    // of a step's start-up. CommonJS dependencies get a `require` for node's built-ins.
    // Packages' ES modules first (esbuild's node default is CommonJS first): tree-shaken, the AWS
    // SDK clients bring only the commands used, not all of them (a step starts in 0.3 s, not 0.5).
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __rbRequire } from 'node:module'; const require = __rbRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning' as const,
    sourcemap: 'linked' as const, // stack traces name the TypeScript lines with node --enable-source-maps
    absWorkingDir: ROOT,
    // Minified (names kept, for errors and stack traces; the source maps map lines back): V8 compiles
    // a step's modules at every start, and a fifth less text is a fifth less of that start-up.
    minify: true,
    keepNames: true,
  }
  for (const [out, entryDirs] of GROUPS) {
    // The deployment builds stale bundles itself: esbuild stays a package (its binary is found from it).
    // grpc-health-check reads its .proto from its own folder at load (build/src/health.js), so it
    // stays a package, loaded from node_modules when 07 first asks a health check.
    // The simulator's CLI builds the bundles too (`up`): esbuild stays a package there as well.
    const external = out === 'deploy' ? ['esbuild'] : out === 'sim' ? ['esbuild', 'grpc-health-check'] : ['grpc-health-check']
    const res = await esbuild({
      ...common,
      // Flat: dist/sim/daemon.mjs, not dist/sim/kube/daemon.mjs.
      entryPoints: entriesOf(entryDirs).map((e) => ({ in: e, out: path.basename(e, '.ts') })),
      outdir: path.join(tmp, out),
      splitting: true,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      external,
    })
    const sources = [...Object.keys(res.metafile!.inputs).filter((i) => !i.includes('node_modules/')), 'package-lock.json']
    for (const [file, o] of Object.entries(res.metafile!.outputs))
      if (o.entryPoint && file.endsWith('.mjs')) inputs[path.relative(tmp, path.resolve(ROOT, file))] = sources
  }
  fs.writeFileSync(path.join(tmp, 'inputs.json'), JSON.stringify(inputs, null, 1) + '\n')
  for (const [out] of GROUPS) {
    const old = path.join(DIST, `.old-${process.pid}-${out}`)
    try {
      if (fs.existsSync(path.join(DIST, out))) fs.renameSync(path.join(DIST, out), old)
      fs.renameSync(path.join(tmp, out), path.join(DIST, out))
    } catch {
      // another build swapped its own in at the same moment: same sources, same result
    }
    fs.rmSync(old, { recursive: true, force: true })
  }
  fs.renameSync(path.join(tmp, 'inputs.json'), INPUTS)
  fs.rmSync(tmp, { recursive: true, force: true })
}

/** Builds unless every bundle is fresh; returns whether it built. */
export async function ensureBuilt(): Promise<boolean> {
  const stale = GROUPS.some(([out, sources]) =>
    entriesOf(sources).some((e) => !fresh(`${out}/${path.basename(e).replace(/\.ts$/, '.mjs')}`)),
  )
  if (stale) await build()
  return stale
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(ROOT, 'scripts', 'build.ts')) {
  const t = Date.now()
  await build()
  console.error(`built dist/runbooks, dist/deploy and dist/sim in ${Date.now() - t} ms`)
}
