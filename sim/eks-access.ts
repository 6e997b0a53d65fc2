// EKS cluster access (access entries, access policies, the cluster's authentication mode), which
// moto's EKS does not have, served by the AWS layer in front of moto so the AWS SDK, boto3 and the
// AWS CLI all see it. REST paths and shapes: the EKS API model (@aws-sdk/client-eks 3.1175
// dist-cjs/index.js: CreateAccessEntry :2895, DescribeAccessEntry :2952, DeleteAccessEntry :2922,
// ListAccessEntries :3006, AssociateAccessPolicy :2883, ListAssociatedAccessPolicies :3015,
// DisassociateAccessPolicy :3000, UpdateClusterConfig :3072). Error texts as EKS answers them.
import { randomUUID } from 'node:crypto'
import type { AwsHooks } from './faults.ts'

const CLUSTER_ADMIN_POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'
/** The access policies EKS offers (ListAccessPolicies); https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html */
const POLICIES = [
  'AmazonEKSAdminPolicy',
  'AmazonEKSClusterAdminPolicy',
  'AmazonEKSAdminViewPolicy',
  'AmazonEKSEditPolicy',
  'AmazonEKSViewPolicy',
].map((name) => ({ name, arn: `arn:aws:eks::aws:cluster-access-policy/${name}` }))

type Mode = 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP'
interface Scope {
  type: 'cluster' | 'namespace'
  namespaces?: string[]
}
interface Entry {
  clusterName: string
  principalArn: string
  kubernetesGroups: string[]
  accessEntryArn: string
  createdAt: number
  modifiedAt: number
  tags: Record<string, string>
  username: string
  type: string
  policies: Map<string, { policyArn: string; accessScope: Scope; associatedAt: number; modifiedAt: number }>
}
interface ClusterAccess {
  mode: Mode
  bootstrap: boolean
  entries: Map<string, Entry>
  /** Who created the cluster: in CONFIG_MAP mode EKS gives it system:masters without any entry. */
  creator: string
}

/** What a principal may do in a cluster: its access policies and their scopes, or the groups aws-auth gives it. */
export interface Grants {
  mode: Mode
  policies: { policyArn: string; accessScope: Scope }[]
  /** The creator of a cluster in CONFIG_MAP mode (system:masters, invisible in aws-auth). */
  creatorInConfigMapMode: boolean
}

type Answer = { status: number; body: unknown; errorType?: string }
const err = (status: number, errorType: string, message: string): Answer => ({ status, errorType, body: { message } })

/**
 * aws-iam-authenticator pkg/arn/arn.go:56-62 (Canonicalize): an assumed-role session stands for its
 * role, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION -> arn:aws:iam::ACCOUNT:role/ROLE.
 */
export function canonicalPrincipal(arn: string): string {
  const m = /^arn:([^:]+):sts::(\d+):assumed-role\/(.+)\/[^/]+$/.exec(arn)
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn
}

/**
 * Who an ARN names, as EKS tells principals apart: the account, the kind and the name. An IAM
 * role's or user's name is unique in its account whatever its path (IAM user guide, "IAM
 * identifiers"), and EKS maps a request to its entry by the principal, not by how its ARN is spelt:
 * an assumed-role session (whose ARN has no path) is its role, an entry's ARN keeps the role's
 * path ("If the ARN is for an IAM role, it can include a path": EKS user guide, creating-access-entries).
 */
export function principalKey(arn: string): string {
  const p = canonicalPrincipal(arn)
  const m = /^arn:[^:]+:(?:iam|sts)::(\d+):(role|user)\/(?:.*\/)?([^/]+)$/.exec(p)
  return m ? `${m[1]}:${m[2]}:${m[3]}` : p
}

export class EksAccess {
  private readonly clusters = new Map<string, ClusterAccess>()
  /** CreateCluster requests seen, by name, until moto's answer says the cluster was made. */
  private readonly pending = new Map<string, ClusterAccess>()

  constructor(
    /** Who signed a request: moto's GetCallerIdentity for the request's access key. */
    private readonly callerOf: (authorization: string) => Promise<string>,
    /** The ARN IAM holds (path included) for the role or user an ARN names, or undefined when there is none. */
    private readonly iamArnOf: (arn: string) => Promise<string | undefined> = async (arn) => arn,
    /**
     * How long a new entry or policy association takes to be effective: "access entry creation and
     * updates are eventually consistent, and may take several seconds to be effective after the
     * initial API call returns successfully" (EKS user guide, creating-access-entries).
     */
    private readonly settleMs: () => number = () => 0,
    /** The update UpdateClusterConfig just began on a cluster, as the API shows it (sim/eks-updates.ts). */
    private readonly updateOf: (cluster: string) => unknown = () => undefined,
  ) {}

  private find(c: ClusterAccess, principalArn: string): Entry | undefined {
    const key = principalKey(principalArn)
    for (const e of c.entries.values()) if (principalKey(e.principalArn) === key) return e
    return undefined
  }

  /** What the principal's access entry grants in the cluster (the simulated API server asks); undefined: the cluster is unknown. */
  grantsOf(cluster: string, principalArn: string): Grants | undefined {
    const c = this.clusters.get(cluster)
    if (!c) return undefined
    const e = c.mode === 'CONFIG_MAP' ? undefined : this.find(c, principalArn)
    const settled = Date.now() / 1000 - this.settleMs() / 1000
    return {
      mode: c.mode,
      policies: e
        ? [...e.policies.values()]
            .filter((p) => p.modifiedAt <= settled)
            .map((p) => ({ policyArn: p.policyArn, accessScope: p.accessScope }))
        : [],
      creatorInConfigMapMode: c.mode === 'CONFIG_MAP' && c.bootstrap && principalKey(c.creator) === principalKey(principalArn),
    }
  }

  /** Whether the principal has an effective access entry at all (policies or not). */
  hasEntry(cluster: string, principalArn: string): boolean {
    const c = this.clusters.get(cluster)
    const e = c && c.mode !== 'CONFIG_MAP' ? this.find(c, principalArn) : undefined
    return Boolean(e && e.createdAt <= Date.now() / 1000 - this.settleMs() / 1000)
  }

  private entry(
    cluster: string,
    principalArn: string,
    o: { groups?: string[]; username?: string; type?: string; tags?: Record<string, string> },
    account: string,
  ): Entry {
    const now = Date.now() / 1000
    return {
      clusterName: cluster,
      principalArn,
      kubernetesGroups: o.groups ?? [],
      accessEntryArn: `arn:aws:eks:${account}:access-entry/${cluster}/${principalArn.split(':').pop()}/${randomUUID()}`,
      createdAt: now,
      modifiedAt: now,
      tags: o.tags ?? {},
      username: o.username ?? principalArn,
      type: o.type ?? 'STANDARD',
      policies: new Map(),
    }
  }

  private show(e: Entry) {
    const { policies: _p, ...rest } = e
    return rest
  }

  hooks(): AwsHooks {
    return {
      serve: (service, method, path, body, authorization, region) =>
        service === 'eks' ? this.serve(method, path, body, authorization, region) : Promise.resolve(undefined),
      rewrite: (service, action, _params, text) => (service === 'eks' ? this.rewrite(action, text) : text),
    }
  }

  private async serve(method: string, rawPath: string, body: string, authorization: string, region: string): Promise<Answer | undefined> {
    const [pathname, query] = rawPath.split('?') as [string, string | undefined]
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent)
    if (parts[0] !== 'clusters')
      return parts[0] === 'access-policies' && method === 'GET' ? { status: 200, body: { accessPolicies: POLICIES } } : undefined
    const b = body ? JSON.parse(body) : {}
    // CreateCluster: accessConfig as asked (the API's default mode is CONFIG_MAP; bootstrapClusterCreatorAdminPermissions defaults to true), the creator's entry.
    if (method === 'POST' && parts.length === 1) {
      const mode: Mode = b.accessConfig?.authenticationMode ?? 'CONFIG_MAP'
      const bootstrap = b.accessConfig?.bootstrapClusterCreatorAdminPermissions ?? true
      // The creator's entry is under its role's ARN as IAM holds it, path included (its session's ARN has none).
      const caller = canonicalPrincipal(await this.callerOf(authorization))
      const creator = (await this.iamArnOf(caller)) ?? caller
      const access: ClusterAccess = { mode, bootstrap, entries: new Map(), creator }
      if (bootstrap && mode !== 'CONFIG_MAP') {
        const e = this.entry(b.name, creator, {}, `${region}:${creator.split(':')[4]}`)
        // Made with the cluster: effective by the time the cluster is.
        e.createdAt = e.modifiedAt = 0
        e.policies.set(CLUSTER_ADMIN_POLICY, {
          policyArn: CLUSTER_ADMIN_POLICY,
          accessScope: { type: 'cluster' },
          associatedAt: 0,
          modifiedAt: 0,
        })
        access.entries.set(creator, e)
      }
      this.pending.set(b.name, access)
      return undefined
    }
    const cluster = parts[1]!
    const c = this.clusters.get(cluster)
    if (method === 'DELETE' && parts.length === 2) {
      this.clusters.delete(cluster)
      return undefined
    }
    // UpdateClusterConfig with accessConfig: CONFIG_MAP -> API_AND_CONFIG_MAP -> API, never back.
    if (method === 'POST' && parts[2] === 'update-config' && b.accessConfig) {
      if (!c) return err(404, 'ResourceNotFoundException', `No cluster found for name: ${cluster}.`)
      const order: Mode[] = ['CONFIG_MAP', 'API_AND_CONFIG_MAP', 'API']
      const want: Mode = b.accessConfig.authenticationMode
      if (order.indexOf(want) < order.indexOf(c.mode))
        return err(400, 'InvalidParameterException', `Unsupported authentication mode update from ${c.mode} to ${want}`)
      c.mode = want
      const begun = this.updateOf(cluster)
      if (begun) return { status: 200, body: { update: begun } }
      return {
        status: 200,
        body: {
          update: {
            id: randomUUID(),
            status: 'Successful',
            type: 'AccessConfigUpdate',
            params: [{ type: 'AuthenticationMode', value: want }],
            createdAt: Date.now() / 1000,
            errors: [],
          },
        },
      }
    }
    if (parts[2] !== 'access-entries') return undefined
    if (!c) return err(404, 'ResourceNotFoundException', `No cluster found for name: ${cluster}.`)
    if (c.mode === 'CONFIG_MAP')
      return err(
        400,
        'InvalidRequestException',
        "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.",
      )
    const principal = parts[3]
    const e = principal ? this.find(c, principal) : undefined
    const noEntry = () =>
      err(
        404,
        'ResourceNotFoundException',
        `The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.`,
      )
    if (parts.length === 3 && method === 'GET') {
      const policy = new URLSearchParams(query ?? '').get('associatedPolicyArn')
      return {
        status: 200,
        body: { accessEntries: [...c.entries.values()].filter((x) => !policy || x.policies.has(policy)).map((x) => x.principalArn) },
      }
    }
    if (parts.length === 3 && method === 'POST') {
      const arn = String(b.principalArn ?? '')
      // "You can't use the STS session principal type with access entries" (EKS API model,
      // CreateAccessEntry principalArn: botocore eks/2017-11-01/service-2.json); the answer as
      // EKS gives it (aws-samples/appmod-blueprints#319).
      if (/^arn:[^:]+:sts::/.test(arn)) return err(400, 'InvalidParameterException', 'The principalArn parameter format is not valid')
      if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+/.test(arn))
        return err(400, 'InvalidParameterException', 'The principalArn parameter format is not valid')
      // The principal must exist, under its ARN as IAM holds it: a role with a path named without
      // it is refused (terraform-aws-modules/terraform-aws-eks#2969, an SSO role's ARN without its
      // aws-reserved/sso.amazonaws.com/ path).
      if ((await this.iamArnOf(arn)) !== arn)
        return err(400, 'InvalidParameterException', 'The specified principalArn is invalid: invalid principal.')
      if (this.find(c, arn))
        return err(409, 'ResourceInUseException', 'The specified access entry resource is already in use on this cluster.')
      const created = this.entry(
        cluster,
        arn,
        { groups: b.kubernetesGroups, username: b.username, type: b.type, tags: b.tags },
        `${region}:${arn.split(':')[4]}`,
      )
      c.entries.set(arn, created)
      return { status: 200, body: { accessEntry: this.show(created) } }
    }
    if (parts.length === 4) {
      if (!e) return noEntry()
      if (method === 'GET') return { status: 200, body: { accessEntry: this.show(e) } }
      if (method === 'DELETE') {
        c.entries.delete(e.principalArn)
        return { status: 200, body: {} }
      }
      if (method === 'POST') {
        Object.assign(e, {
          ...(b.kubernetesGroups ? { kubernetesGroups: b.kubernetesGroups } : {}),
          ...(b.username ? { username: b.username } : {}),
          modifiedAt: Date.now() / 1000,
        })
        return { status: 200, body: { accessEntry: this.show(e) } }
      }
    }
    if (parts[4] === 'access-policies') {
      if (!e) return noEntry()
      const list = () => [...e.policies.values()]
      if (parts.length === 5 && method === 'GET')
        return { status: 200, body: { clusterName: cluster, principalArn: e.principalArn, associatedAccessPolicies: list() } }
      if (parts.length === 5 && method === 'POST') {
        if (!POLICIES.some((p) => p.arn === b.policyArn))
          return err(400, 'InvalidParameterException', `The specified policyArn is invalid: ${b.policyArn}`)
        const now = Date.now() / 1000
        const was = e.policies.get(b.policyArn)
        const p = {
          policyArn: b.policyArn,
          accessScope: b.accessScope ?? { type: 'cluster' },
          associatedAt: was?.associatedAt ?? now,
          modifiedAt: now,
        }
        e.policies.set(b.policyArn, p)
        return { status: 200, body: { clusterName: cluster, principalArn: e.principalArn, associatedAccessPolicy: p } }
      }
      if (parts.length === 6 && method === 'DELETE') {
        e.policies.delete(parts[5]!)
        return { status: 200, body: {} }
      }
    }
    return undefined
  }

  /** CreateCluster answered: its access configuration stands; DescribeCluster shows it (moto's has none). */
  private rewrite(action: string, text: string): string {
    if (action === 'POST /clusters') {
      const name = /"name"\s*:\s*"([^"]+)"/.exec(text)?.[1]
      const p = name ? this.pending.get(name) : undefined
      if (name && p) {
        this.clusters.set(name, p)
        this.pending.delete(name)
      }
    }
    const describe = /^GET \/clusters\/([^/]+)$/.exec(action)
    const name = describe
      ? decodeURIComponent(describe[1]!)
      : action === 'POST /clusters'
        ? /"name"\s*:\s*"([^"]+)"/.exec(text)?.[1]
        : undefined
    const c = name ? this.clusters.get(name) : undefined
    if (!c) return text
    const doc = JSON.parse(text)
    if (doc.cluster) doc.cluster.accessConfig = { bootstrapClusterCreatorAdminPermissions: c.bootstrap, authenticationMode: c.mode }
    return JSON.stringify(doc)
  }
}
