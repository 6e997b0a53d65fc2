// Check: the helm releases of Scalar DL and of its schema are deployed.
import { isMain } from '../lib/engine/main.ts'
import type { Check } from '../lib/verify/check.ts'

export const releasesCheck: Check = {
  name: 'releases',
  title: 'helm releases deployed',
  hint: 'a failed or pending release: helm history RELEASE shows why; rerun 04-scalardl (ONCALL.md, "Check: releases")',
  async run(v) {
    const c = v.config.scalardl
    const list = await v.helm.list(c.namespace)
    const problems: string[] = []
    const ok: string[] = []
    for (const name of [c.schemaRelease, c.release]) {
      const r = list.find((x) => x.name === name)
      if (!r) problems.push(`${name} not installed`)
      else if (r.status !== 'deployed') problems.push(`${name} is ${r.status} (revision ${r.revision})`)
      else ok.push(`${name} ${r.chart} r${r.revision}`)
    }
    return problems.length ? { ok: false, detail: problems.join('; ') } : { ok: true, detail: ok.join(', ') }
  },
}

if (isMain(import.meta.url, 'releases')) await (await import('../lib/verify/runner.ts')).verify([releasesCheck])
