// 00-preflight: a fresh deployment must not move into tables that are someone else's. With the
// default empty DYNAMODB_NAMESPACE_PREFIX the schema loader would use coordinator.state and the
// other shared names of any ScalarDB application in the region, and the deployment would share
// them without a word. Once this deployment's cluster exists, 04 and 05 judge each table
// themselves (lib/database/protection.ts).
import { describeCluster } from '../eks/reach.ts'
import { AUDITOR_NAMESPACES, LEDGER_NAMESPACES, byOwner, namespaceTables } from '../database/ownership.ts'
import { deploymentClusters, type ConfigProblem } from '../config/load.ts'
import type { TaskContext } from '../engine/task.ts'

export async function foreignTablesProblems(ctx: Pick<TaskContext, 'aws' | 'config'>): Promise<ConfigProblem[]> {
  // AWS not reachable, or no credentials: 00's own tasks (identity, access) say so, each with its fix.
  return foreignTables(ctx).catch(() => [])
}

async function foreignTables(ctx: Pick<TaskContext, 'aws' | 'config'>): Promise<ConfigProblem[]> {
  const c = ctx.config
  if (await describeCluster(ctx.aws.eks, c.clusterName)) return []
  const namespaces = [...LEDGER_NAMESPACES, ...(c.auditor.enabled ? AUDITOR_NAMESPACES : [])]
  const { others } = byOwner(await namespaceTables(ctx.aws.dynamodb, c.dynamodbNamespacePrefix, namespaces), deploymentClusters(c))
  if (!others.length) return []
  const names = others.map((t) => `${t.name}${t.owner ? ` (of ${t.owner})` : ''}`)
  return [
    {
      key: 'DYNAMODB_NAMESPACE_PREFIX',
      message: `is "${c.dynamodbNamespacePrefix}", and ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''} already exist${others.length === 1 ? 's' : ''} in ${c.region} without this deployment's tag: the schema loader would share ${others.length === 1 ? 'it' : 'them'} with another application`,
      fix: `set DYNAMODB_NAMESPACE_PREFIX to a prefix no table in ${c.region} uses, e.g. DYNAMODB_NAMESPACE_PREFIX=${c.clusterName.replace(/-/g, '_')}_`,
    },
  ]
}
