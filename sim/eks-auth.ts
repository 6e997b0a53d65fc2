// Who may call a simulated EKS cluster's API, decided as EKS decides it: the bearer token is
// checked as aws-iam-authenticator checks it (sim/eks-token.ts); a principal EKS cannot map (no
// access entry, not in aws-auth) is not authenticated, so 401 Unauthorized; a mapped one may do
// what its access policies allow (https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html),
// else 403 Forbidden in the words of the RBAC authorizer (kubernetes v1.32.4,
// plugin/pkg/auth/authorizer/rbac/rbac.go and staging/src/k8s.io/apiserver/pkg/endpoints/handlers/
// responsewriters/errors.go ForbiddenStatusError). No token: the anonymous user, who may read only
// the public paths (system:public-info-viewer: /version, /healthz, /livez, /readyz).
import YAML from 'yaml'
import { canonicalPrincipal, type EksAccess, type Grants } from './eks-access.ts'
import { verifyEksToken } from './eks-token.ts'
import { ApiError, type Obj } from './kube/store.ts'

type Authorize = (authorization: string | undefined, method: string, url: URL) => Promise<ApiError | undefined>

/** The request as the authorizer sees it (k8s.io/apiserver pkg/endpoints/request/requestinfo.go). */
interface RequestInfo {
  verb: string
  group: string
  resource?: string
  namespace?: string
  path: string
}

function requestInfo(method: string, url: URL): RequestInfo {
  const parts = url.pathname.split('/').filter(Boolean)
  const lower = method.toLowerCase()
  const resourceRequest = (parts[0] === 'api' && parts.length >= 3) || (parts[0] === 'apis' && parts.length >= 4)
  if (!resourceRequest) return { verb: lower === 'get' ? 'get' : lower, group: '', path: url.pathname }
  const group = parts[0] === 'api' ? '' : parts[1]!
  let rest = parts.slice(parts[0] === 'api' ? 2 : 3)
  let namespace: string | undefined
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]
    rest = rest.slice(2)
  }
  const [resource, name] = rest as [string, string | undefined]
  const collection = name === undefined
  const verb =
    lower === 'get'
      ? url.searchParams.get('watch') === 'true'
        ? 'watch'
        : collection
          ? 'list'
          : 'get'
      : lower === 'post'
        ? 'create'
        : lower === 'put'
          ? 'update'
          : lower === 'patch'
            ? 'patch'
            : collection
              ? 'deletecollection'
              : 'delete'
  return { verb, group, resource, namespace, path: url.pathname }
}

const READ = new Set(['get', 'list', 'watch'])
/**
 * What an anonymous request may read. Kubernetes' default RBAC gives system:unauthenticated the
 * health checks and /version (ClusterRole system:public-info-viewer); from EKS 1.32 "anonymous
 * authentication is restricted to the following API server health check endpoints: /healthz
 * /livez /readyz. Requests to any other endpoint using the system:unauthenticated user will receive
 * a 401 Unauthorized HTTP response" (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions-standard.html,
 * "Anonymous authentication changes"; upstream KEP-4633, AnonymousAuthConfigurableEndpoints, beta in 1.32).
 */
export function anonymousAnswer(minor: number, method: string, path: string): 'allow' | 401 | 403 {
  const health = ['/healthz', '/livez', '/readyz']
  if (method === 'GET' && health.includes(path)) return 'allow'
  if (minor >= 32) return 401
  return method === 'GET' && (path === '/version' || path === '/version/') ? 'allow' : 403
}
/** Paths every authenticated user may read (system:discovery, system:basic-user). */
const DISCOVERY = /^\/(api|apis|openapi|version|healthz|livez|readyz)(\/|$)/

/** Whether one access policy allows the request (the policy names are AWS's; their rights, as that page lists them). */
function policyAllows(policyArn: string, scope: { type: string; namespaces?: string[] }, r: RequestInfo): boolean {
  if (scope.type === 'namespace' && (!r.namespace || !scope.namespaces?.includes(r.namespace))) return false
  const name = policyArn.split('/').pop()
  const read = READ.has(r.verb)
  switch (name) {
    case 'AmazonEKSClusterAdminPolicy':
      return true
    case 'AmazonEKSAdminPolicy':
      // admin: everything in namespaces, RBAC roles included; not the cluster-scoped objects.
      return Boolean(r.namespace) || read
    case 'AmazonEKSEditPolicy':
      return r.group !== 'rbac.authorization.k8s.io' && (Boolean(r.namespace) || read) && r.resource !== 'namespaces'
    case 'AmazonEKSAdminViewPolicy':
      return read
    case 'AmazonEKSViewPolicy':
      return read && r.resource !== 'secrets'
    default:
      return false
  }
}

/** aws-auth's mapRoles/mapUsers entry for the principal, if any (the CONFIG_MAP side). */
function awsAuthGroups(awsAuth: Obj | undefined, principalArn: string): string[] | undefined {
  const data = (awsAuth?.data ?? {}) as Record<string, string>
  const canonical = canonicalPrincipal(principalArn)
  for (const [key, field] of [
    ['mapRoles', 'rolearn'],
    ['mapUsers', 'userarn'],
  ] as const) {
    const list = (YAML.parse(data[key] ?? '[]') ?? []) as Record<string, unknown>[]
    const hit = list.find((m) => m[field] === canonical)
    if (hit) return (hit.groups as string[] | undefined) ?? []
  }
  return undefined
}

function forbidden(user: string, r: RequestInfo): ApiError {
  if (!r.resource) return new ApiError(403, 'Forbidden', `forbidden: User "${user}" cannot ${r.verb} path "${r.path}"`)
  const where = r.namespace ? `in the namespace "${r.namespace}"` : 'at the cluster scope'
  return new ApiError(
    403,
    'Forbidden',
    `${r.resource} is forbidden: User "${user}" cannot ${r.verb} resource "${r.resource}" in API group "${r.group}" ${where}`,
    { kind: r.resource },
  )
}

/**
 * The authorizer of one cluster. `callerOf` asks the simulated STS who signed; `awsAuth` reads the
 * cluster's kube-system/aws-auth ConfigMap. Verified tokens are remembered for two minutes, as the
 * API server caches a webhook's answers (kube-apiserver --authentication-token-webhook-cache-ttl,
 * default 2m0s).
 */
export function eksAuthorizer(o: {
  cluster: string
  access: EksAccess
  stsHosts: string[]
  callerOf: (authorization: string, securityToken?: string) => Promise<string | undefined>
  awsAuth: () => Obj | undefined
  /** The cluster's Kubernetes minor version: what an anonymous request may read depends on it. */
  serverMinor: number
}): Authorize {
  const cache = new Map<string, { arn: string; until: number }>()
  const identify = async (token: string): Promise<string | undefined> => {
    const hit = cache.get(token)
    if (hit && hit.until > Date.now()) return hit.arn
    const v = await verifyEksToken(token, o.stsHosts, o.callerOf)
    if (!('arn' in v)) return undefined
    if (cache.size > 1000) cache.clear()
    cache.set(token, { arn: v.arn, until: Date.now() + 120_000 })
    return v.arn
  }
  return async (authorization, method, url) => {
    const r = requestInfo(method, url)
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1]
    if (!authorization) {
      const a = anonymousAnswer(o.serverMinor, method, url.pathname)
      if (a === 'allow') return undefined
      return a === 401 ? new ApiError(401, 'Unauthorized', 'Unauthorized') : forbidden('system:anonymous', r)
    }
    const arn = bearer ? await identify(bearer) : undefined
    if (!arn) return new ApiError(401, 'Unauthorized', 'Unauthorized')
    const grants: Grants | undefined = o.access.grantsOf(o.cluster, arn)
    const groups = grants && grants.mode !== 'API' ? awsAuthGroups(o.awsAuth(), arn) : undefined
    const mapped = Boolean(grants && (o.access.hasEntry(o.cluster, arn) || grants.creatorInConfigMapMode || groups))
    if (!grants || !mapped) return new ApiError(401, 'Unauthorized', 'Unauthorized')
    if (DISCOVERY.test(url.pathname) && !r.resource && method === 'GET') return undefined
    if (grants.creatorInConfigMapMode || groups?.includes('system:masters')) return undefined
    if (grants.policies.some((p) => policyAllows(p.policyArn, p.accessScope, r))) return undefined
    return forbidden(arn, r)
  }
}
