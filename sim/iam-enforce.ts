// IAM enforced in the AWS layer: a request signed by an IAM role's session or an IAM user is
// refused what that principal's policies (and permissions boundary) do not allow, in the refusing
// service's own words, before moto or the layer's other parts see it. moto's own access control
// (INITIAL_NO_AUTH_ACTION_COUNT) is documented as very basic and applies to every key, the
// simulator's and the operator's too; here only principals IAM knows are judged.
//
// Who is judged: the principal moto's STS names for the request's key, when it is an IAM role (an
// assumed-role session: the bastion's instance role, an IAM Identity Center role) or an IAM user
// that exists in moto's IAM. A key IAM does not know (moto's default test key, which moto's STS
// calls user/moto) stands for the account's administrator and is not judged.
// What is judged: the action (sim/iam-actions.ts, and S3's REST operations below) and, for IAM
// roles and instance profiles, DynamoDB tables, SSM parameters, CloudWatch Logs groups, S3 buckets
// and objects and EKS clusters, the resource's ARN (each service's "Actions, resources, and
// condition keys" page of the Service Authorization Reference); other actions are judged by the
// action alone. Condition keys: iam:PermissionsBoundary, iam:AWSServiceName, iam:PassedToService
// and aws:RequestedRegion (sim/iam-eval.ts says what is done with others).
// What the refusal looks like: EC2 UnauthorizedOperation (403), the query services AccessDenied
// (403), JSON services AccessDeniedException (400), EKS AccessDeniedException (403), S3
// AccessDenied (403), with IAM's message "User: ARN is not authorized to perform: ACTION on
// resource: RESOURCE because no identity-based policy allows the ACTION action"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListAttachedGroupPoliciesCommand,
  ListGroupPoliciesCommand,
  GetGroupPolicyCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  GetInstanceProfileCommand,
} from '@aws-sdk/client-iam'
import { signingKey, type AwsHooks } from './faults.ts'
import { iamAction, s3Action } from './iam-actions.ts'
import { evaluate, RESOURCE_TAGS_KNOWN, type PolicyDocument, type Request } from './iam-eval.ts'
import { DescribeTableCommand, DynamoDBClient, ListTagsOfResourceCommand } from '@aws-sdk/client-dynamodb'
import { iamPrincipalOf, motoIamArn, ownAws } from './own-aws.ts'

/** The role actions whose iam:PermissionsBoundary is the role's current boundary. */
const ROLE_BOUNDARY_ACTIONS = new Set([
  'AttachRolePolicy',
  'DetachRolePolicy',
  'PutRolePolicy',
  'DeleteRolePolicy',
  'DeleteRolePermissionsBoundary',
])

interface Principal {
  arn: string
  account: string
  kind: 'role' | 'user'
  name: string
}

interface Policies {
  identity: PolicyDocument[]
  boundary?: PolicyDocument
  at: number
}

const doc = (text: string | undefined): PolicyDocument =>
  JSON.parse(text && /^%7B/i.test(text) ? decodeURIComponent(text) : (text ?? '{"Statement":[]}'))

export { s3Action }

export class IamEnforcement {
  private readonly principals = new Map<string, Principal | null>()
  private readonly policies = new Map<string, Policies>()
  private readonly rolePaths = new Map<string, string>()
  /** DynamoDB tables' tags by region/table. */
  private readonly tags = new Map<string, { Key: string; Value: string }[] | undefined>()
  private readonly iam: IAMClient
  private readonly iamArnOf: (arn: string) => Promise<string | undefined>

  constructor(
    private readonly motoEndpoint: string,
    /** moto's STS answer for the key of a signature (and a session's token). */
    private readonly callerOf: (authorization: string, securityToken?: string) => Promise<string | undefined>,
    /**
     * How long policies read from IAM are reused. Every change to IAM made through the layer (the
     * runbook's, eksctl's, an operator's) drops them at once; the time bounds changes made to moto
     * behind the layer's back.
     */
    private readonly ttlMs = 30_000,
  ) {
    this.iam = new IAMClient(ownAws('us-east-1', motoEndpoint))
    this.iamArnOf = motoIamArn(motoEndpoint)
  }

  private async principal(authorization: string, securityToken?: string): Promise<Principal | undefined> {
    const key = signingKey(authorization)
    if (!key) return undefined
    if (this.principals.has(key)) return this.principals.get(key) ?? undefined
    const arn = await this.callerOf(authorization, securityToken)
    const who = arn ? iamPrincipalOf(arn) : undefined
    // A principal moto's IAM does not hold (moto's default key) stands for the account's administrator.
    const p: Principal | null = arn && who && (await this.iamArnOf(arn)) ? { arn, ...who } : null
    this.principals.set(key, p)
    return p ?? undefined
  }

  private async policyDocs(p: Principal): Promise<Policies> {
    const cacheKey = `${p.kind}/${p.name}`
    const hit = this.policies.get(cacheKey)
    if (hit && Date.now() - hit.at < this.ttlMs) return hit
    const managed = async (arn: string): Promise<PolicyDocument> => {
      const pol = (await this.iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!
      return doc(
        (await this.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: pol.DefaultVersionId }))).PolicyVersion?.Document,
      )
    }
    const identity: PolicyDocument[] = []
    let boundaryArn: string | undefined
    if (p.kind === 'role') {
      const role = (await this.iam.send(new GetRoleCommand({ RoleName: p.name }))).Role!
      boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn
      for (const a of (await this.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: p.name }))).AttachedPolicies ?? [])
        identity.push(await managed(a.PolicyArn!))
      for (const n of (await this.iam.send(new ListRolePoliciesCommand({ RoleName: p.name }))).PolicyNames ?? [])
        identity.push(doc((await this.iam.send(new GetRolePolicyCommand({ RoleName: p.name, PolicyName: n }))).PolicyDocument))
    } else {
      const user = (await this.iam.send(new GetUserCommand({ UserName: p.name }))).User!
      boundaryArn = user.PermissionsBoundary?.PermissionsBoundaryArn
      for (const a of (await this.iam.send(new ListAttachedUserPoliciesCommand({ UserName: p.name }))).AttachedPolicies ?? [])
        identity.push(await managed(a.PolicyArn!))
      for (const n of (await this.iam.send(new ListUserPoliciesCommand({ UserName: p.name }))).PolicyNames ?? [])
        identity.push(doc((await this.iam.send(new GetUserPolicyCommand({ UserName: p.name, PolicyName: n }))).PolicyDocument))
      for (const g of (await this.iam.send(new ListGroupsForUserCommand({ UserName: p.name }))).Groups ?? []) {
        for (const a of (await this.iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: g.GroupName! }))).AttachedPolicies ?? [])
          identity.push(await managed(a.PolicyArn!))
        for (const n of (await this.iam.send(new ListGroupPoliciesCommand({ GroupName: g.GroupName! }))).PolicyNames ?? [])
          identity.push(doc((await this.iam.send(new GetGroupPolicyCommand({ GroupName: g.GroupName!, PolicyName: n }))).PolicyDocument))
      }
    }
    const out = { identity, boundary: boundaryArn ? await managed(boundaryArn) : undefined, at: Date.now() }
    this.policies.set(cacheKey, out)
    return out
  }

  /** A role's ARN with its path, for resource ARNs (role names are unique in an account, paths are not in the request). */
  private async roleArn(account: string, name: string, createPath?: string): Promise<string> {
    if (createPath !== undefined) return `arn:aws:iam::${account}:role${createPath || '/'}${name}`
    let path = this.rolePaths.get(name)
    if (path === undefined) {
      path = await this.iam.send(new GetRoleCommand({ RoleName: name })).then(
        (r) => r.Role?.Path ?? '/',
        () => '/',
      )
      this.rolePaths.set(name, path)
    }
    return `arn:aws:iam::${account}:role${path}${name}`
  }

  /** The request as IAM judges it: its action(s), resources and context keys. */
  /** aws:PrincipalArn: for a role's session, the role's ARN (its path included); for a user, the user's. */
  private async principalArn(account: string, p: Principal): Promise<string> {
    return p.kind === 'role' ? this.roleArn(account, p.name) : p.arn
  }

  /** A table's tags, read with the simulator's own key (cached until a tag changes through the layer); undefined: no such table. */
  private async tableTags(region: string, table: string): Promise<{ Key: string; Value: string }[] | undefined> {
    const key = `${region}/${table}`
    if (this.tags.has(key)) return this.tags.get(key)
    const ddb = new DynamoDBClient(ownAws(region, this.motoEndpoint))
    try {
      const arn = (await ddb.send(new DescribeTableCommand({ TableName: table }))).Table?.TableArn
      const tags = arn ? ((await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags ?? []) : undefined
      const out = tags?.map((t) => ({ Key: t.Key!, Value: t.Value! }))
      // (A table not made yet is not remembered: the schema loader makes its tables behind the layer.)
      if (out) this.tags.set(key, out)
      return out
    } catch {
      return undefined
    } finally {
      ddb.destroy()
    }
  }

  private async requestsOf(
    service: string,
    action: string,
    params: URLSearchParams,
    region: string,
    principal: Principal,
    r: { body: string; url: string; method: string },
  ): Promise<Request[]> {
    const account = principal.account
    const context: Request['context'] = { 'aws:requestedregion': region, 'aws:principalarn': await this.principalArn(account, principal) }
    const json = (() => {
      try {
        return r.body && /^\s*\{/.test(r.body) ? JSON.parse(r.body) : {}
      } catch {
        return {}
      }
    })()
    const one = (a: string, resource = '?', extra: Request['context'] = {}): Request[] => [
      { action: a, resource, context: { ...context, ...extra } },
    ]
    if (service === 's3') {
      const s = s3Action(r.method, r.url)
      const resource = s.bucket ? `arn:aws:s3:::${s.bucket}${s.key ? `/${s.key}` : ''}` : '*'
      return one(s.action, resource)
    }
    const name = iamAction(service, action)
    if (service === 'iam') {
      const boundary = params.get('PermissionsBoundary')
      const extra: Request['context'] = {
        ...(boundary ? { 'iam:permissionsboundary': boundary } : {}),
        ...(params.get('AWSServiceName') ? { 'iam:awsservicename': params.get('AWSServiceName')! } : {}),
      }
      const role = params.get('RoleName')
      // On a request about an existing role, iam:PermissionsBoundary is that role's boundary (IAM
      // user guide, access_policies_boundaries, "Delegating responsibility to others using
      // permissions boundaries": a policy allows AttachRolePolicy, PutRolePolicy and the like only on
      // roles that carry a given boundary); CreateRole and PutRolePermissionsBoundary name theirs.
      if (role && !boundary && ROLE_BOUNDARY_ACTIONS.has(action)) {
        const current = await this.iam.send(new GetRoleCommand({ RoleName: role })).then(
          (r) => r.Role?.PermissionsBoundary?.PermissionsBoundaryArn,
          () => undefined,
        )
        if (current) extra['iam:permissionsboundary'] = current
      }
      if (role)
        return one(name, await this.roleArn(account, role, action === 'CreateRole' ? (params.get('Path') ?? '/') : undefined), extra)
      const profile = params.get('InstanceProfileName')
      if (profile) return one(name, `arn:aws:iam::${account}:instance-profile/${profile}`, extra)
      // SimulatePrincipalPolicy is authorised on the principal it simulates.
      if (params.get('PolicySourceArn')) return one(name, params.get('PolicySourceArn')!, extra)
      // A managed policy: by its ARN, or for CreatePolicy the ARN it will have.
      const policyArn = params.get('PolicyArn')
      if (policyArn) return one(name, policyArn, extra)
      if (action === 'CreatePolicy' && params.get('PolicyName'))
        return one(name, `arn:aws:iam::${account}:policy${params.get('Path') ?? '/'}${params.get('PolicyName')}`, extra)
      return one(name, '?', extra)
    }
    if (service === 'dynamodb') {
      const table = json.TableName ?? (json.ResourceArn ? String(json.ResourceArn).split('/')[1] : undefined)
      if (!table) return one(name, action === 'ListTables' ? '*' : '?')
      // The table's tags (aws:ResourceTag/...: DynamoDB's attribute-based access control), and
      // those a TagResource asks for (aws:RequestTag/..., aws:TagKeys).
      const tags = await this.tableTags(region, table)
      const requested: { Key: string; Value: string }[] = action === 'TagResource' ? (json.Tags ?? []) : []
      return one(name, `arn:aws:dynamodb:${region}:${account}:table/${table}`, {
        ...(tags ? { [RESOURCE_TAGS_KNOWN]: 'true' } : {}),
        ...Object.fromEntries((tags ?? []).map((t) => [`aws:resourcetag/${t.Key.toLowerCase()}`, t.Value])),
        ...Object.fromEntries(requested.map((t) => [`aws:requesttag/${t.Key.toLowerCase()}`, t.Value])),
        ...(requested.length ? { 'aws:tagkeys': requested.map((t) => t.Key) } : {}),
      })
    }
    if (service === 'ssm' && (/Parameter/.test(action) || (/TagsTo|TagsFor|TagsFrom/.test(action) && json.ResourceType === 'Parameter'))) {
      // GetParametersByPath is judged on the path; tag calls on the parameter (ResourceId).
      const names: string[] = json.Names ?? (json.Name ? [json.Name] : json.Path ? [json.Path] : json.ResourceId ? [json.ResourceId] : [])
      if (!names.length) return one(name)
      // AWS's public parameters (/aws/...) have no account in their ARN.
      return names.map((n) => {
        const path = String(n).replace(/^\//, '')
        return { action: name, resource: `arn:aws:ssm:${region}:${path.startsWith('aws/') ? '' : account}:parameter/${path}`, context }
      })
    }
    if (service === 'logs' && json.logGroupName) return one(name, `arn:aws:logs:${region}:${account}:log-group:${json.logGroupName}`)
    if (service === 'eks') {
      const cluster = /^\w+ \/clusters\/([^/]+)/.exec(action)?.[1]
      if (cluster) return one(name, `arn:aws:eks:${region}:${account}:cluster/${decodeURIComponent(cluster)}`)
    }
    // RunInstances with an instance profile passes its role (IAM user guide, id_roles_use_passrole).
    if (service === 'ec2' && action === 'RunInstances') {
      const profile = params.get('IamInstanceProfile.Name')
      const passed: Request[] = []
      if (profile) {
        const role = await this.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profile })).then(
          (o) => o.InstanceProfile?.Roles?.[0]?.RoleName,
          () => undefined,
        )
        if (role)
          passed.push({
            action: 'iam:PassRole',
            resource: await this.roleArn(account, role),
            context: { ...context, 'iam:passedtoservice': 'ec2.amazonaws.com' },
          })
      }
      return [...one(name), ...passed]
    }
    return one(name)
  }

  hooks(): AwsHooks {
    return {
      refuse: async (service, action, params, region, authorization, request) => {
        if (!authorization || service === 'unknown') return undefined
        // A change to IAM (a policy put or detached, a role made): what was read of it is stale.
        if (service === 'iam' && !/^(Get|List|Simulate|Generate)/.test(action)) {
          this.policies.clear()
          this.rolePaths.clear()
        }
        // GetCallerIdentity needs no permission (STS API reference).
        if (service === 'sts' && action === 'GetCallerIdentity') return undefined
        const p = await this.principal(authorization, request.securityToken)
        if (!p) return undefined
        const { identity, boundary } = await this.policyDocs(p)
        for (const r of await this.requestsOf(service, action, params, region, p, request)) {
          const d = evaluate(identity, boundary, r)
          if (d === 'allow') continue
          const why =
            d === 'explicit-deny'
              ? `with an explicit deny in a policy`
              : boundary && evaluate(identity, undefined, r) === 'allow'
                ? `because no permissions boundary allows the ${r.action} action`
                : `because no identity-based policy allows the ${r.action} action`
          const resource = r.resource === '?' || r.resource === '*' ? '*' : r.resource
          const message = `User: ${p.arn} is not authorized to perform: ${r.action} on resource: ${resource} ${why}`
          if (service === 'ec2')
            return { code: 'UnauthorizedOperation', message: `You are not authorized to perform this operation. ${message}`, status: 403 }
          if (service === 's3') return { code: 'AccessDenied', message: 'Access Denied', status: 403 }
          if (service === 'eks') return { code: 'AccessDeniedException', message, status: 403 }
          if (['iam', 'sts', 'monitoring', 'elasticloadbalancing', 'cloudformation'].includes(service))
            return { code: 'AccessDenied', message, status: 403 }
          return { code: 'AccessDeniedException', message, status: 400 }
        }
        return undefined
      },
      // SimulatePrincipalPolicy, which moto lacks: the principal's own policies and boundary
      // judged by the same evaluation as every request here (IAM API reference,
      // API_SimulatePrincipalPolicy: PolicySourceArn, ActionNames, ResourceArns, ContextEntries;
      // each EvaluationResult's EvalDecision is allowed, explicitDeny or implicitDeny).
      serveQuery: async (service, action, params) => {
        if (service !== 'iam' || action !== 'SimulatePrincipalPolicy') return undefined
        const source = params.get('PolicySourceArn') ?? ''
        const who = iamPrincipalOf(source.replace(/^arn:aws:sts::(\d+):assumed-role\/([^/]+)\/.*$/, 'arn:aws:iam::$1:role/$2'))
        if (!who) return undefined
        const p: Principal = { arn: source, ...who }
        const { identity, boundary } = await this.policyDocs(p)
        const list = (name: string) =>
          [...params.entries()].filter(([k]) => new RegExp(`^${name}\\.member\\.\\d+$`).test(k)).map(([, v]) => v)
        const context: Request['context'] = { 'aws:principalarn': await this.principalArn(who.account, p) }
        for (let i = 1; params.has(`ContextEntries.member.${i}.ContextKeyName`); i++) {
          const values = list(`ContextEntries.member.${i}.ContextKeyValues`)
          const type = params.get(`ContextEntries.member.${i}.ContextKeyType`) ?? 'string'
          context[params.get(`ContextEntries.member.${i}.ContextKeyName`)!.toLowerCase()] = type.endsWith('List') ? values : values[0]!
        }
        const resources = list('ResourceArns').length ? list('ResourceArns') : ['*']
        const decision = { allow: 'allowed', 'explicit-deny': 'explicitDeny', 'implicit-deny': 'implicitDeny' } as const
        const members = list('ActionNames').flatMap((a) =>
          resources.map(
            (r) =>
              `<member><EvalActionName>${a}</EvalActionName><EvalResourceName>${r}</EvalResourceName><EvalDecision>${
                decision[evaluate(identity, boundary, { action: a, resource: r, context })]
              }</EvalDecision><MatchedStatements/><MissingContextValues/></member>`,
          ),
        )
        return `<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>${members.join('')}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>sim-simulate</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`
      },
      // And once IAM has answered the change (a request read between the two would have cached the old state).
      rewrite: (service, action, _params, text) => {
        if (service === 'iam' && !/^(Get|List|Simulate|Generate)/.test(action)) {
          this.policies.clear()
          this.rolePaths.clear()
        }
        if (service === 'dynamodb' && /^(TagResource|UntagResource|CreateTable|DeleteTable)$/.test(action)) this.tags.clear()
        return text
      },
    }
  }
}
