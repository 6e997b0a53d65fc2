// The amazon-cloudwatch-observability EKS add-on as it lands in a cluster: namespace
// amazon-cloudwatch, the operator, and the cloudwatch-agent and fluent-bit DaemonSets. Their
// tolerations come from the configuration values: the component's own key, else the root
// `tolerations`, else the chart default that tolerates every taint.
import YAML from 'yaml'
import { CliFailure } from './common.ts'

export const ADDON_NAME = 'amazon-cloudwatch-observability'
export const ADDON_VERSIONS = ['v4.1.0-eksbuild.1', 'v4.4.0-eksbuild.1', 'v6.4.0-eksbuild.1']
const NS = 'amazon-cloudwatch'

export function parseConfigurationValues(text: string | undefined): any {
  if (!text) return {}
  try {
    const v = YAML.parse(text)
    if (v !== null && typeof v !== 'object') throw new Error('not an object')
    return v ?? {}
  } catch (e) {
    throw new CliFailure(`ConfigurationValue is not in valid JSON or YAML format: ${(e as Error).message}`)
  }
}

export function cloudwatchAddonObjects(cluster: string, region: string, values: any): any[] {
  const everything = [{ operator: 'Exists' }]
  const root = values.tolerations ?? everything
  const agentTol = values.agent?.tolerations ?? root
  const fluentTol = values.containerLogs?.fluentBit?.tolerations ?? root
  const managerTol = values.manager?.tolerations ?? []
  const ds = (name: string, image: string, tolerations: unknown) => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'EKS' } },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': name } },
        spec: {
          serviceAccountName: name,
          tolerations,
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          containers: [{ name, image, env: [{ name: 'CLUSTER_NAME', value: cluster }, { name: 'AWS_REGION', value: region }] }],
        },
      },
    },
  })
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { name: NS } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'cloudwatch-agent', namespace: NS } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'fluent-bit', namespace: NS } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'amazon-cloudwatch-observability-controller-manager', namespace: NS, labels: { 'app.kubernetes.io/name': 'amazon-cloudwatch-observability' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'amazon-cloudwatch-observability' } },
        template: { metadata: { labels: { 'app.kubernetes.io/name': 'amazon-cloudwatch-observability' } }, spec: { tolerations: managerTol, containers: [{ name: 'manager', image: 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent-operator:3.1.0' }] } },
      },
    },
    ds('cloudwatch-agent', 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300052.0b1024', agentTol),
    ds('fluent-bit', 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.5', fluentTol),
  ]
}
