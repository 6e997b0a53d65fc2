// Check: the schema-loading Job is Complete; the Ledger and Envoy Pods are Running and Ready,
// one per Scalar DL node, on distinct nodes. A Pod that is not is named with its reason. The same
// reads judge the Auditor's cluster (checks/auditor.ts).
import { isMain } from '../lib/engine/main.ts'
import { schemaJobName, serverApp } from '../lib/scalardl/names.ts'
import { podProblem, type Check, type CheckOutcome, type VerifyContext } from '../lib/verify/check.ts'

/** The schema Job and the server and Envoy Pods of the view's cluster. */
export async function podsOutcome(v: VerifyContext): Promise<CheckOutcome> {
  const c = v.config.scalardl
  const [pods, jobs] = await Promise.all([v.of('Pod'), v.of('Job')])
  // As many as 04-scalardl (or 05-auditor) deploys: one per Scalar DL node of NODE_COUNT (a node
  // added since is the nodes check's business).
  const want = v.config.nodeCount
  const problems: string[] = []
  const jobName = schemaJobName(v.config)
  const job = jobs.find((j) => j.metadata.name === jobName)
  if (!job) problems.push(`Job ${jobName} not found`)
  else if (!(job.status?.conditions ?? []).some((x: { type: string; status: string }) => x.type === 'Complete' && x.status === 'True'))
    problems.push(`Job ${jobName} is not Complete`)
  const summary: string[] = []
  for (const app of [serverApp(v.config), 'envoy']) {
    const mine = pods.filter(
      (p) => p.metadata.labels?.['app.kubernetes.io/instance'] === c.release && p.metadata.labels?.['app.kubernetes.io/app'] === app,
    )
    for (const p of mine) {
      const why = podProblem(p)
      if (why) problems.push(`${p.metadata.name}${p.spec?.nodeName ? ` on ${p.spec.nodeName}` : ''}: ${why}`)
    }
    const healthy = mine.filter((p) => !podProblem(p))
    const distinct = new Set(healthy.map((p) => p.spec?.nodeName)).size
    if (healthy.length < want) problems.push(`${app}: ${healthy.length} of ${want} Running and Ready`)
    else if (distinct < healthy.length) problems.push(`${app}: ${healthy.length} Pods on only ${distinct} node(s)`)
    summary.push(`${app} ${healthy.length}/${want} on ${distinct} node(s)`)
  }
  return problems.length
    ? { ok: false, detail: problems.join('; ') }
    : { ok: true, detail: `Job ${jobName} Complete; ${summary.join(', ')}` }
}

export const podsCheck: Check = {
  name: 'pods',
  title: 'Schema Job Complete; Ledger and Envoy Pods Running, one per pool node',
  hint: 'kubectl describe pod NAME and kubectl logs NAME for the Pod named: ImagePullBackOff -> reg-docker-secrets/GITHUB_TOKEN; ContainerCreating -> ledger-keys; Pending -> taint, label or node count; rerun 04-scalardl (ONCALL.md, "Check: pods")',
  run: podsOutcome,
}

if (isMain(import.meta.url, 'pods')) await (await import('../lib/verify/runner.ts')).verify([podsCheck])
