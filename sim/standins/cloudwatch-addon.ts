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

/**
 * The objects, as the add-on makes them. aws-observability/helm-charts tag
 * amazon-cloudwatch-observability-6.4.0, charts/amazon-cloudwatch-observability:
 * templates/linux/fluent-bit-daemonset.yaml:7-33 (DaemonSet fluent-bit, labels and selector
 * k8s-app: fluent-bit), values.yaml:26-28 (root tolerations: operator Exists) and _helpers.tpl:8-19
 * (a component's own tolerations, when set, replace the root's). The CloudWatch agent is an
 * AmazonCloudWatchAgent resource (templates/linux/cloudwatch-agent-custom-resource.yaml:72-76) from
 * which the operator (aws/amazon-cloudwatch-agent-operator v3.6.0) makes the DaemonSet
 * `cloudwatch-agent`: internal/manifests/collector/daemonset.go:18-45 and
 * manifestutils/labels.go:51-72 (selector: managed-by, instance, part-of, component), owned by the
 * resource (controllers/common.go:72). The custom resource itself is not served by the fake API:
 * the DaemonSet carries its ownerReference.
 */
export function cloudwatchAddonObjects(cluster: string, region: string, values: any): any[] {
  const everything = [{ operator: 'Exists' }]
  const root = values.tolerations ?? everything
  const agentTol = values.agent?.tolerations ?? root
  const fluentTol = values.containerLogs?.fluentBit?.tolerations ?? root
  const managerTol = values.manager?.tolerations ?? []
  const env = [
    { name: 'CLUSTER_NAME', value: cluster },
    { name: 'AWS_REGION', value: region },
  ]
  const fluentLabels = { 'k8s-app': 'fluent-bit', version: 'v1', 'kubernetes.io/cluster-service': 'true' }
  const agentSelector = {
    'app.kubernetes.io/managed-by': 'amazon-cloudwatch-agent-operator',
    'app.kubernetes.io/instance': `${NS}.cloudwatch-agent`,
    'app.kubernetes.io/part-of': 'amazon-cloudwatch-agent',
    'app.kubernetes.io/component': 'amazon-cloudwatch-agent',
  }
  const agentImage = 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300052.0b1024'
  const agentLabels = {
    ...agentSelector,
    'app.kubernetes.io/name': 'cloudwatch-agent',
    'app.kubernetes.io/version': agentImage.split(':')[1]!,
  }
  const daemonSet = (
    name: string,
    labels: Record<string, string>,
    selector: Record<string, string>,
    image: string,
    tolerations: unknown,
    extra: object = {},
  ) => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: NS, labels, ...extra },
    spec: {
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: { serviceAccountName: name, tolerations, nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name, image, env }] },
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
      metadata: {
        name: 'amazon-cloudwatch-observability-controller-manager',
        namespace: NS,
        labels: { 'app.kubernetes.io/name': 'amazon-cloudwatch-observability' },
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'amazon-cloudwatch-observability' } },
        template: {
          metadata: { labels: { 'app.kubernetes.io/name': 'amazon-cloudwatch-observability' } },
          spec: {
            tolerations: managerTol,
            containers: [{ name: 'manager', image: 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent-operator:3.1.0' }],
          },
        },
      },
    },
    daemonSet('cloudwatch-agent', agentLabels, agentSelector, agentImage, agentTol, {
      ownerReferences: [
        {
          apiVersion: 'cloudwatch.aws.amazon.com/v1alpha1',
          kind: 'AmazonCloudWatchAgent',
          name: 'cloudwatch-agent',
          uid: '00000000-0000-4000-8000-00000000c0a6',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    }),
    daemonSet(
      'fluent-bit',
      fluentLabels,
      { 'k8s-app': 'fluent-bit' },
      'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.5',
      fluentTol,
    ),
  ]
}
