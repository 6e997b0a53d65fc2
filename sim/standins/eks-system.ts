// What EKS runs in kube-system of a new cluster, with the tolerations the real ones have:
// CoreDNS tolerates only CriticalAddonsOnly and the control-plane taint, so it cannot run on
// nodes that carry only the Scalar DL taint; kube-proxy and aws-node tolerate everything.
export function eksSystemObjects(): any[] {
  const daemon = (name: string, image: string, labels: Record<string, string>) => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'kube-system', labels },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }], containers: [{ name, image }] },
      },
    },
  })
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'eks.amazonaws.com/component': 'coredns' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { 'k8s-app': 'kube-dns', 'eks.amazonaws.com/component': 'coredns' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns', 'eks.amazonaws.com/component': 'coredns' } },
          spec: {
            priorityClassName: 'system-cluster-critical',
            tolerations: [
              { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
              { key: 'CriticalAddonsOnly', operator: 'Exists' },
            ],
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }],
                },
              },
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    podAffinityTerm: {
                      labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }] },
                      topologyKey: 'kubernetes.io/hostname',
                    },
                  },
                ],
              },
            },
            containers: [
              {
                name: 'coredns',
                image: '602401143452.dkr.ecr.ap-northeast-1.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2',
                ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }],
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: { selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }] },
    },
    daemon('kube-proxy', '602401143452.dkr.ecr.ap-northeast-1.amazonaws.com/eks/kube-proxy:v1.31.3-minimal-eksbuild.2', {
      'k8s-app': 'kube-proxy',
    }),
    daemon('aws-node', '602401143452.dkr.ecr.ap-northeast-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1', { 'k8s-app': 'aws-node' }),
  ]
}

/**
 * The eks-pod-identity-agent add-on: one DaemonSet in kube-system on the host network, tolerating
 * every taint (aws/eks-pod-identity-agent@d4dc0f3 charts/eks-pod-identity-agent
 * templates/daemonset.yaml: hostNetwork: true; values.yaml:177-178 tolerations: operator Exists;
 * selector labels app.kubernetes.io/name and app.kubernetes.io/instance from _helpers.tpl).
 */
export function podIdentityAgentObjects(): any[] {
  const labels = { 'app.kubernetes.io/name': 'eks-pod-identity-agent', 'app.kubernetes.io/instance': 'eks-pod-identity-agent' }
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'eks-pod-identity-agent', namespace: 'kube-system', labels },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            tolerations: [{ operator: 'Exists' }],
            containers: [{ name: 'eks-pod-identity-agent', image: 'public.ecr.aws/eks/eks-pod-identity-agent:0.1.6' }],
          },
        },
      },
    },
  ]
}
