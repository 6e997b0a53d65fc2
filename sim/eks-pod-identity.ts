// EKS Pod Identity associations, which moto's EKS does not have (getmoto/moto@5.2.1
// IMPLEMENTATION_COVERAGE.md: create/list/describe/delete_pod_identity_association unchecked),
// served by the AWS layer in front of moto. Paths and shapes: botocore data/eks/2017-11-01
// service-2.json (CreatePodIdentityAssociation POST /clusters/{name}/pod-identity-associations;
// List GET on the same path with namespace and serviceAccount filters, its summaries without
// roleArn; Describe and Delete on .../{associationId}).
import { randomBytes } from 'node:crypto'
import type { AwsHooks } from './faults.ts'

interface Association {
  clusterName: string
  namespace: string
  serviceAccount: string
  roleArn: string
  associationArn: string
  associationId: string
  tags: Record<string, string>
  createdAt: number
  modifiedAt: number
}

type Answer = { status: number; body: unknown; errorType?: string }
const error = (status: number, errorType: string, message: string): Answer => ({ status, errorType, body: { message } })

export class PodIdentity {
  private readonly byCluster = new Map<string, Map<string, Association>>()

  constructor(private readonly clusterExists: (name: string) => boolean) {}

  /** The role a service account's Pods get, if an association names it. */
  roleFor(cluster: string, namespace: string, serviceAccount: string): string | undefined {
    return [...(this.byCluster.get(cluster)?.values() ?? [])].find((a) => a.namespace === namespace && a.serviceAccount === serviceAccount)
      ?.roleArn
  }

  /** A deleted cluster takes its associations with it. */
  forget(cluster: string): void {
    this.byCluster.delete(cluster)
  }

  hooks(): AwsHooks {
    return {
      serve: async (service, method, rawPath, body, _authorization, region) => {
        if (service !== 'eks') return undefined
        const url = new URL(rawPath, 'http://eks')
        const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
        if (parts[0] !== 'clusters' || parts[2] !== 'pod-identity-associations') return undefined
        const cluster = parts[1]!
        if (!this.clusterExists(cluster)) return error(404, 'ResourceNotFoundException', `No cluster found for name: ${cluster}.`)
        const list = this.byCluster.get(cluster) ?? this.byCluster.set(cluster, new Map()).get(cluster)!
        const summary = (a: Association) => ({
          clusterName: a.clusterName,
          namespace: a.namespace,
          serviceAccount: a.serviceAccount,
          associationArn: a.associationArn,
          associationId: a.associationId,
        })
        if (parts.length === 3 && method === 'POST') {
          const b = JSON.parse(body || '{}') as Partial<Association> & { tags?: Record<string, string> }
          if (!b.namespace || !b.serviceAccount || !b.roleArn)
            return error(400, 'InvalidParameterException', 'namespace, serviceAccount and roleArn are required')
          // One association per service account (the model's ResourceInUseException; EKS's exact words not verified).
          if ([...list.values()].some((a) => a.namespace === b.namespace && a.serviceAccount === b.serviceAccount))
            return error(409, 'ResourceInUseException', `Association already exists for ${b.namespace}/${b.serviceAccount}`)
          const id = `a-${randomBytes(9).toString('hex').slice(0, 17)}`
          const now = Date.now() / 1000
          const a: Association = {
            clusterName: cluster,
            namespace: b.namespace,
            serviceAccount: b.serviceAccount,
            roleArn: b.roleArn,
            associationId: id,
            associationArn: `arn:aws:eks:${region}:123456789012:podidentityassociation/${cluster}/${id}`,
            tags: b.tags ?? {},
            createdAt: now,
            modifiedAt: now,
          }
          list.set(id, a)
          return { status: 200, body: { association: a } }
        }
        if (parts.length === 3 && method === 'GET') {
          const ns = url.searchParams.get('namespace')
          const sa = url.searchParams.get('serviceAccount')
          const found = [...list.values()].filter((a) => (!ns || a.namespace === ns) && (!sa || a.serviceAccount === sa))
          return { status: 200, body: { associations: found.map(summary) } }
        }
        const a = list.get(parts[3] ?? '')
        if (!a) return error(404, 'ResourceNotFoundException', `Association not found: ${parts[3]}`)
        if (method === 'GET') return { status: 200, body: { association: a } }
        if (method === 'DELETE') {
          list.delete(a.associationId)
          return { status: 200, body: { association: a } }
        }
        return undefined
      },
    }
  }
}
