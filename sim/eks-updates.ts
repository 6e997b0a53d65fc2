// EKS cluster updates (UpdateClusterConfig), as EKS runs them and moto does not: the call answers
// an `update` (moto answers the cluster), "During an update, the cluster status moves to UPDATING
// ... When the update is complete (either Failed or Successful), the cluster status moves to
// Active" (EKS API model, UpdateClusterConfig: botocore eks/2017-11-01/service-2.json), the update
// is read with DescribeUpdate, and a second update while one is in progress is refused with
// ResourceInUseException, "Cannot <type> because cluster <name> currently has update <id> in
// progress" (as EKS words it: aws/aws-cdk#33452, aws-controllers-k8s/community#1192).
import { randomUUID } from 'node:crypto'
import type { AwsHooks } from './faults.ts'

interface ClusterUpdate {
  id: string
  type: string
  params: { type: string; value: string }[]
  createdAt: number
  until: number
}

const CONFIG = /^POST \/clusters\/([^/]+)\/update-config$/

/** The update type EKS gives an UpdateClusterConfig body (the API model's UpdateType values). */
function updateOf(body: Record<string, unknown>): Pick<ClusterUpdate, 'type' | 'params'> {
  if (body.accessConfig)
    return {
      type: 'AccessConfigUpdate',
      params: [{ type: 'AuthenticationMode', value: String((body.accessConfig as { authenticationMode?: string }).authenticationMode) }],
    }
  if (body.logging) return { type: 'LoggingUpdate', params: [{ type: 'ClusterLogging', value: JSON.stringify(body.logging) }] }
  if (body.resourcesVpcConfig) return { type: 'EndpointAccessUpdate', params: [] }
  return { type: 'ConfigUpdate', params: [] }
}

export class ClusterUpdates {
  private readonly byCluster = new Map<string, ClusterUpdate[]>()

  /** How long an update lasts (AWS: minutes; the simulator's scale applies). */
  constructor(private readonly durationMs: () => number) {}

  /** The update in progress on a cluster, if any. */
  inProgress(cluster: string): ClusterUpdate | undefined {
    return this.byCluster.get(cluster)?.find((u) => u.until > Date.now())
  }

  latest(cluster: string): ClusterUpdate | undefined {
    return this.byCluster.get(cluster)?.at(-1)
  }

  /** The update as the API shows it. */
  show(u: ClusterUpdate) {
    return {
      id: u.id,
      status: u.until > Date.now() ? 'InProgress' : 'Successful',
      type: u.type,
      params: u.params,
      createdAt: u.createdAt / 1000,
      errors: [],
    }
  }

  hooks(): AwsHooks {
    return {
      refuse: async (service, action, _params, _region, _authorization, request) => {
        const m = service === 'eks' ? CONFIG.exec(`${request.method} ${request.url.split('?')[0]}`) : null
        if (!m) return undefined
        const cluster = decodeURIComponent(m[1]!)
        const busy = this.inProgress(cluster)
        if (busy) {
          const type = updateOf(JSON.parse(request.body || '{}')).type
          return {
            code: 'ResourceInUseException',
            message: `Cannot ${type} because cluster ${cluster} currently has update ${busy.id} in progress`,
            status: 409,
          }
        }
        void action
        const u: ClusterUpdate = {
          id: randomUUID(),
          ...updateOf(JSON.parse(request.body || '{}')),
          createdAt: Date.now(),
          until: Date.now() + this.durationMs(),
        }
        this.byCluster.set(cluster, [...(this.byCluster.get(cluster) ?? []), u])
        return undefined
      },
      serve: async (service, method, rawPath) => {
        if (service !== 'eks' || method !== 'GET') return undefined
        const m = /^\/clusters\/([^/]+)\/updates(?:\/([^/?]+))?(?:\?.*)?$/.exec(rawPath)
        if (!m) return undefined
        const cluster = decodeURIComponent(m[1]!)
        const all = this.byCluster.get(cluster) ?? []
        if (!m[2]) return { status: 200, body: { updateIds: all.map((u) => u.id) } }
        const u = all.find((x) => x.id === decodeURIComponent(m[2]!))
        return u
          ? { status: 200, body: { update: this.show(u) } }
          : { status: 404, errorType: 'ResourceNotFoundException', body: { message: `No update found for ID: ${m[2]}` } }
      },
      rewrite: (service, action, _params, text) => {
        if (service !== 'eks') return text
        const m = CONFIG.exec(action)
        if (m) {
          // moto answers the cluster; EKS answers the update.
          const u = this.latest(decodeURIComponent(m[1]!))
          return u && !/"update"\s*:/.test(text) ? JSON.stringify({ update: this.show(u) }) : text
        }
        const d = /^GET \/clusters\/([^/]+)$/.exec(action)
        if (d && this.inProgress(decodeURIComponent(d[1]!))) return text.replace(/"status"\s*:\s*"ACTIVE"/, '"status": "UPDATING"')
        return text
      },
    }
  }
}
