// Check: Fluent Bit ships the Ledger's and Envoy's container logs to CloudWatch (fresh events in
// /aws/containerinsights/<cluster>/application), and control-plane logs exist when enabled.
// Reads only the most recently written streams (newest first, stops at the freshness limit), so
// its cost does not grow with the number of streams.
import { DescribeLogGroupsCommand, DescribeLogStreamsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { isMain } from '../lib/main.ts'
import type { Check, VerifyContext } from '../lib/verify/check.ts'

async function freshStreams(v: VerifyContext, group: string, since: number): Promise<string[] | undefined> {
  const names: string[] = []
  let nextToken: string | undefined
  for (let page = 0; page < 40; page++) {
    let out
    try {
      out = await v.aws.logs.send(
        new DescribeLogStreamsCommand({ logGroupName: group, orderBy: 'LastEventTime', descending: true, limit: 50, nextToken }),
      )
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return undefined
      throw e
    }
    const streams = out.logStreams ?? []
    for (const s of streams) if ((s.lastEventTimestamp ?? 0) >= since) names.push(s.logStreamName!)
    if (!out.nextToken || streams.some((s) => (s.lastEventTimestamp ?? 0) < since)) break
    nextToken = out.nextToken
  }
  return names
}

export const logsCheck: Check = {
  name: 'logs',
  title: 'Container logs of Ledger and Envoy in CloudWatch; control-plane logs',
  hint: 'no fresh logs from a node means Fluent Bit is not running there, usually because it does not tolerate the Scalar DL taint: kubectl -n amazon-cloudwatch get pods -o wide shows where it runs; rerun 06-monitoring (RUNBOOK.md, 07-verify: logs)',
  async run(v) {
    const cluster = v.config.clusterName
    const minutes = v.config.monitoring.logFreshnessMinutes
    const since = Date.now() - minutes * 60_000
    const group = `/aws/containerinsights/${cluster}/application`
    const [streams, pods, eksGroups] = await Promise.all([
      freshStreams(v, group, since),
      v.of('Pod'),
      v.config.monitoring.controlPlaneLogTypes.length
        ? v.aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/aws/eks/${cluster}/cluster` }))
        : Promise.resolve(undefined),
    ])
    const problems: string[] = []
    if (!streams) problems.push(`log group ${group} does not exist`)
    const scalar = pods.filter(
      (p) =>
        p.metadata.labels?.['app.kubernetes.io/instance'] === v.config.scalardl.release &&
        ['ledger', 'envoy'].includes(p.metadata.labels?.['app.kubernetes.io/app'] ?? '') &&
        p.status?.phase === 'Running',
    )
    // No Pod to hear from is no evidence that logs arrive: the check fails rather than pass on nothing.
    if (!scalar.length)
      problems.push(`no running Ledger or Envoy Pod of release ${v.config.scalardl.release} to have logs from (see the pods check)`)
    const silent = scalar.filter((p) => !(streams ?? []).some((s) => s.includes(`${p.metadata.name}_${p.metadata.namespace}_`)))
    if (streams && silent.length) {
      const nodes = [...new Set(silent.map((p) => p.spec?.nodeName))]
      problems.push(
        `no log events in the last ${minutes} min from ${silent.map((p) => p.metadata.name).join(', ')} on node(s) ${nodes.join(', ')}`,
      )
    }
    if (eksGroups && !eksGroups.logGroups?.some((g) => g.logGroupName === `/aws/eks/${cluster}/cluster`))
      problems.push(`control-plane logging is on (CONTROL_PLANE_LOG_TYPES) but /aws/eks/${cluster}/cluster does not exist`)
    return problems.length
      ? { ok: false, detail: problems.join('; ') }
      : {
          ok: true,
          detail: `fresh logs from ${scalar.length} Ledger/Envoy Pods (last ${minutes} min)${eksGroups ? '; control-plane log group present' : ''}`,
        }
  },
}

if (isMain(import.meta.url, 'logs')) await (await import('../lib/verify/runner.ts')).verify([logsCheck])
