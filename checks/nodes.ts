// Check: the Scalar DL nodes are Ready, labelled agentpool=scalardlpool and tainted.
import { POOL_LABEL, POOL_TAINT } from '../lib/eks/cluster-config.ts'
import { isMain } from '../lib/engine/main.ts'
import { isReady, type Check } from '../lib/verify/check.ts'

export const nodesCheck: Check = {
  name: 'nodes',
  title: 'Scalar DL nodes Ready, labelled and tainted',
  hint: 'an untainted pool node (added by scaling or an upgrade) lets other Pods land there: kubectl get nodes -l agentpool=scalardlpool -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints shows them; rerun 03-eks; a NotReady node: kubectl describe node NAME (ONCALL.md, "Check: nodes")',
  async run(v) {
    const pool = (await v.of('Node')).filter((n) => n.metadata.labels?.[POOL_LABEL.key] === POOL_LABEL.value)
    const problems: string[] = []
    if (pool.length < v.config.nodeCount)
      problems.push(`${pool.length} nodes labelled ${POOL_LABEL.key}=${POOL_LABEL.value}, NODE_COUNT is ${v.config.nodeCount}`)
    const notReady = pool.filter((n) => !isReady(n)).map((n) => n.metadata.name)
    if (notReady.length) problems.push(`not Ready: ${notReady.join(', ')}`)
    const untainted = pool
      .filter(
        (n) =>
          !((n.spec?.taints ?? []) as { key: string; value?: string; effect: string }[]).some(
            (t) => t.key === POOL_TAINT.key && t.value === POOL_TAINT.value && t.effect === POOL_TAINT.effect,
          ),
      )
      .map((n) => n.metadata.name)
    if (untainted.length) problems.push(`untainted: ${untainted.join(', ')}`)
    return problems.length ? { ok: false, detail: problems.join('; ') } : { ok: true, detail: `${pool.length} Ready, labelled and tainted` }
  },
}

if (isMain(import.meta.url, 'nodes')) await (await import('../lib/verify/runner.ts')).verify([nodesCheck])
