// Where a cluster's files are kept in the runbook's state directory (RUNBOOK_STATE_DIR/<cluster>/).
import path from 'node:path'
import type { Config } from '../config/load.ts'

export function clusterConfigFile(c: Config): string {
  return path.join(c.stateDir, c.clusterName, 'eksctl-cluster.yaml')
}

export function kubeconfigFile(c: Config): string {
  return path.join(c.stateDir, c.clusterName, 'kubeconfig')
}
