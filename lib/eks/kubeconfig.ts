// A kubeconfig for a cluster this host has not made: from any machine with access (a new bastion,
// an on-call laptop inside the VPC), the steps after 03 and 07 write the one `aws eks
// update-kubeconfig` would, from DescribeCluster (its endpoint and certificate authority), with the
// exec entry eksctl writes (eksctl pkg/utils/kubeconfig/kubeconfig.go@v0.228.0:171-212:
// `aws eks get-token`, AWS_STS_REGIONAL_ENDPOINTS=regional), whose token the runbook then makes
// in-process (lib/eks/kube-session.ts). 03's own kubeconfig, where it exists, is left as it is.
import fs from 'node:fs'
import YAML from 'yaml'
import type { Cluster, EKSClient } from '@aws-sdk/client-eks'
import type { Config } from '../config/load.ts'
import { writePrivateFile } from '../engine/files.ts'
import { kubeconfigFile } from './files.ts'
import { describeCluster } from './reach.ts'

/** 'present' (03 wrote it, or an earlier run), 'written' (from DescribeCluster, mode 600), or 'no-cluster'. */
export async function ensureKubeconfig(
  eks: EKSClient,
  c: Config,
  /** The cluster as the caller already described it (undefined inside: no such cluster). */
  described?: { cluster: Cluster | undefined },
): Promise<'present' | 'written' | 'no-cluster'> {
  const file = kubeconfigFile(c)
  if (fs.existsSync(file)) return 'present'
  const cluster = described ? described.cluster : await describeCluster(eks, c.clusterName)
  if (!cluster?.endpoint || cluster.status !== 'ACTIVE') return 'no-cluster'
  const name = `${c.clusterName}.${c.region}.eksctl.io`
  writePrivateFile(
    file,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name,
          cluster: {
            server: cluster.endpoint,
            ...(cluster.certificateAuthority?.data ? { 'certificate-authority-data': cluster.certificateAuthority.data } : {}),
          },
        },
      ],
      users: [
        {
          name,
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1beta1',
              command: 'aws',
              args: ['eks', 'get-token', '--output', 'json', '--cluster-name', c.clusterName, '--region', c.region],
              env: [{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }],
              interactiveMode: 'IfAvailable',
              provideClusterInfo: false,
            },
          },
        },
      ],
      contexts: [{ name, context: { cluster: name, user: name } }],
      'current-context': name,
      preferences: {},
    }),
  )
  return 'written'
}
