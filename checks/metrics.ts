// Check: Container Insights and DynamoDB data in CloudWatch, read where AWS says it is available
// first: GetMetricData over the last minutes. ListMetrics, which this check read before, lists a
// new metric only up to 15 minutes after it was first published (CloudWatch API reference,
// ListMetrics: "To see metric statistics sooner, use GetMetricData or GetMetricStatistics").
// Container Insights' cluster_node_count comes from the CloudWatch agent every minute; for the
// tables, DynamoDB's ProvisionedReadCapacityUnits (a provisioned table's, whatever its traffic)
// or ConsumedReadCapacityUnits (with traffic): either is data.
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch'
import { isMain } from '../lib/engine/main.ts'
import type { Check } from '../lib/verify/check.ts'

/** How far back the data is looked for: the agent publishes every 60 s, DynamoDB every 60 to 300 s. */
const METRICS_WINDOW_MS = 15 * 60_000

const query = (id: string, namespace: string, name: string, dimension: [string, string], period: number): MetricDataQuery => ({
  Id: id,
  MetricStat: {
    Metric: { Namespace: namespace, MetricName: name, Dimensions: [{ Name: dimension[0], Value: dimension[1] }] },
    Period: period,
    Stat: 'Average',
  },
  ReturnData: true,
})

export const metricsCheck: Check = {
  name: 'metrics',
  title: 'Container Insights and DynamoDB data in CloudWatch (the last 15 minutes)',
  hint: 'no Container Insights data: the CloudWatch agent is not running or lacks its role (npx tsx checks/logs.ts says which; rerun 06-monitoring); no DynamoDB data: the tables do not exist yet (ONCALL.md, "Check: metrics")',
  async run(v) {
    const cluster = v.config.clusterName
    const table = `${v.config.dynamodbNamespacePrefix}scalar.asset`
    // EndTime is exclusive: the end of the next whole minute, so a point of the current second
    // counts (and the periods line up with whole minutes, as CloudWatch advises).
    const end = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 60_000)
    const out = await v.aws.cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(end.getTime() - METRICS_WINDOW_MS - 60_000),
        EndTime: end,
        MetricDataQueries: [
          query('nodes', 'ContainerInsights', 'cluster_node_count', ['ClusterName', cluster], 60),
          query('provisioned', 'AWS/DynamoDB', 'ProvisionedReadCapacityUnits', ['TableName', table], 300),
          query('consumed', 'AWS/DynamoDB', 'ConsumedReadCapacityUnits', ['TableName', table], 60),
        ],
      }),
    )
    const points = (id: string) => out.MetricDataResults?.find((r) => r.Id === id)?.Values?.length ?? 0
    const problems: string[] = []
    if (!points('nodes')) problems.push(`no ContainerInsights cluster_node_count data for ClusterName=${cluster} in the last 15 minutes`)
    if (!points('provisioned') && !points('consumed')) problems.push(`no AWS/DynamoDB capacity data for ${table} in the last 15 minutes`)
    if (problems.length) return { ok: false, detail: problems.join('; ') }
    const nodes = out.MetricDataResults?.find((r) => r.Id === 'nodes')?.Values?.[0]
    return {
      ok: true,
      detail: `ContainerInsights: cluster_node_count ${nodes} (${points('nodes')} point(s)); AWS/DynamoDB: ${table} (${points('provisioned') + points('consumed')} point(s))`,
    }
  },
}

if (isMain(import.meta.url, 'metrics')) await (await import('../lib/verify/runner.ts')).verify([metricsCheck])
