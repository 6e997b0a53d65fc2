// The layers hold: lib/ (the product's library) imports no step, check, simulator or build script;
// sim/ (which stands for AWS, EKS and the tools) imports nothing of the product, so the two cannot
// share an assumption by sharing code; and no module import cycle exists anywhere.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import { ROOT } from '../helpers/run-step.ts'

const DIRS = ['lib', 'sim', 'checks', 'runbooks', 'scripts', 'bench']
/** Known exceptions, each with its reason; the issue that removes it names it. */
const ALLOWED = new Map<string, string>([])

function files(dir: string): string[] {
  const abs = path.join(ROOT, dir)
  if (!fs.existsSync(abs)) return []
  return fs
    .readdirSync(abs, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.(ts|mts)$/.test(e.name) ? [path.join(dir, e.name)] : []))
}

/**
 * Relative imports of a file (static, re-exports, side-effect and literal dynamic ones), as
 * repository paths; `import type` too with `types` (erased at run time, but a cycle of types is
 * still two modules that cannot be read apart).
 */
function importsOf(file: string, types = false): string[] {
  const source = fs.readFileSync(path.join(ROOT, file), 'utf8')
  const text = types
    ? source.replace(/(?:^|\n)\s*(import|export) type /g, '\n$1 ')
    : source.replace(/(?:^|\n)\s*(?:import|export) type [^;]*?from\s+['"][^'"]+['"]/g, '\n')
  const specs = [
    ...text.matchAll(
      /(?:^|\n)\s*(?:import|export)\s(?:[^'"]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
    ),
  ].map((m) => m[1] ?? m[2]!)
  return specs.map((s) => path.normalize(path.join(path.dirname(file), s)))
}

const graph = new Map(DIRS.flatMap(files).map((f) => [f, importsOf(f)]))
const typeGraph = new Map(DIRS.flatMap(files).map((f) => [f, importsOf(f, true)]))

describe('layers', () => {
  test('the import graph was read (every layer has modules with imports)', () => {
    for (const d of ['lib', 'sim', 'checks', 'runbooks'])
      assert.ok(
        [...graph].some(([f, i]) => f.startsWith(`${d}/`) && i.length),
        d,
      )
    // Each known exception is an edge the reader found: when it goes, its entry goes too.
    for (const edge of ALLOWED.keys()) {
      const [from, to] = edge.split(' -> ') as [string, string]
      assert.ok(graph.get(from)?.includes(to), `${edge} is no longer imported: remove it from ALLOWED`)
    }
  })

  test('lib/ imports no step, check, simulator or build script; sim/ imports nothing of the product (lib, checks, runbooks)', () => {
    const bad: string[] = []
    for (const [from, targets] of graph) {
      for (const to of targets) {
        // scripts/ is build tooling, not the product: the simulator may build the bundles it runs.
        const rule = from.startsWith('lib/')
          ? /^(runbooks|checks|sim|scripts)\//
          : from.startsWith('sim/')
            ? /^(lib|checks|runbooks|bench)\//
            : undefined
        if (rule?.test(to) && !ALLOWED.has(`${from} -> ${to}`)) bad.push(`${from} -> ${to}`)
      }
    }
    assert.deepEqual(bad, [])
  })

  test('no import cycle, of values or of types', () => {
    assert.deepEqual(cyclesOf(graph), [])
    assert.deepEqual(cyclesOf(typeGraph), [])
  })
})

/** Tarjan's strongly connected components: any with more than one module is a cycle. */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  {
    let index = 0
    const idx = new Map<string, number>()
    const low = new Map<string, number>()
    const stack: string[] = []
    const on = new Set<string>()
    const cycles: string[][] = []
    const visit = (v: string) => {
      idx.set(v, index)
      low.set(v, index++)
      stack.push(v)
      on.add(v)
      for (const w of (graph.get(v) ?? []).filter((x) => graph.has(x))) {
        if (!idx.has(w)) {
          visit(w)
          low.set(v, Math.min(low.get(v)!, low.get(w)!))
        } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
      }
      if (low.get(v) === idx.get(v)) {
        const scc: string[] = []
        let w: string
        do {
          w = stack.pop()!
          on.delete(w)
          scc.push(w)
        } while (w !== v)
        if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort())
      }
    }
    for (const v of graph.keys()) if (!idx.has(v)) visit(v)
    return cycles
  }
}
