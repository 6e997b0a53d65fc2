// Check: Container Insights metrics exist for the cluster, and DynamoDB metrics for the tables.
import { ListMetricsCommand } from '@aws-sdk/client-cloudwatch'
import { isMain } from '../lib/main.ts'
import type { Check } from '../lib/verify/check.ts'

export const metricsCheck: Check = {
  name: 'metrics',
  title: 'Container Insights and DynamoDB metrics in CloudWatch',
  hint: 'no Container Insights metrics: the CloudWatch agent is not running or lacks CloudWatchAgentServerPolicy (rerun 06-monitoring); no DynamoDB metrics: the tables get no traffic yet or do not exist (RUNBOOK.md, 07-verify: metrics)',
  async run(v) {
    const cluster = v.config.clusterName
    const table = `${v.config.dynamodbNamespacePrefix}scalar.asset`
    const [ci, ddb] = await Promise.all([
      v.aws.cloudwatch.send(
        new ListMetricsCommand({ Namespace: 'ContainerInsights', Dimensions: [{ Name: 'ClusterName', Value: cluster }] }),
      ),
      v.aws.cloudwatch.send(new ListMetricsCommand({ Namespace: 'AWS/DynamoDB', Dimensions: [{ Name: 'TableName', Value: table }] })),
    ])
    const problems: string[] = []
    const names = new Set((ci.Metrics ?? []).map((m) => m.MetricName))
    if (!names.size) problems.push(`no ContainerInsights metrics for ClusterName=${cluster}`)
    if (!(ddb.Metrics ?? []).length) problems.push(`no AWS/DynamoDB metrics for ${table}`)
    return problems.length
      ? { ok: false, detail: problems.join('; ') }
      : {
          ok: true,
          detail: `ContainerInsights: ${[...names].slice(0, 3).join(', ')}${names.size > 3 ? ` and ${names.size - 3} more` : ''}; AWS/DynamoDB for ${table}`,
        }
  },
}

if (isMain(import.meta.url, 'metrics')) await (await import('../lib/verify/runner.ts')).verify([metricsCheck])
