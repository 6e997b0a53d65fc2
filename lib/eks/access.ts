// Who may use the cluster: EKS access entries with AmazonEKSClusterAdminPolicy for the bastion's
// role and CLUSTER_ADMIN_ARNS. eksctl's default access configuration (API_AND_CONFIG_MAP, the
// creator's admin access: eksctl v0.230.0 v1alpha5 defaults.go:58-64) gives the cluster to the
// principal that ran `eksctl create cluster` alone; an operator who created it from a laptop and
// runs 04 on the bastion, a teammate or CI then gets `Unauthorized` from kubectl.
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  type Cluster,
  ListAssociatedAccessPoliciesCommand,
  UpdateClusterConfigCommand,
  DescribeUpdateCommand,
  paginateListAccessEntries,
  type EKSClient,
} from '@aws-sdk/client-eks'
import { createHash } from 'node:crypto'
import { GetRoleCommand } from '@aws-sdk/client-iam'
import { bastionRoleName } from '../aws/bastion.ts'
import { CLUSTER_TAG } from '../aws/tags.ts'
import { apiReachProblems, apiStatus, clusterCa, describeCluster } from './reach.ts'
import { ensureKubeconfig } from './kubeconfig.ts'
import type { ConfigProblem } from '../config/load.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import type { Logger } from '../engine/log.ts'
import { waitFor, WaitTimeoutError } from '../engine/wait.ts'
import { eksToken } from './token.ts'

const CLUSTER_ADMIN_POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'

/** aws-iam-authenticator pkg/arn/arn.go:56-62: an assumed-role session is its role to EKS. */
function canonicalPrincipal(arn: string): string {
  const m = /^arn:([^:]+):sts::(\d+):assumed-role\/(.+)\/[^/]+$/.exec(arn)
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn
}

/**
 * Who an ARN names, as EKS tells principals apart: account, kind and name. A role's or user's name
 * is unique in its account whatever its path (IAM user guide, "IAM identifiers"), and an
 * assumed-role session's ARN carries no path while EKS keeps the role's path in its access entries
 * ("If the ARN is for an IAM role, it can include a path": EKS user guide, creating-access-entries),
 * so two spellings of one role compare equal here and never as strings.
 */
function principalKey(arn: string): string {
  const m = /^arn:[^:]+:iam::(\d+):(role|user)\/(?:.*\/)?([^/]+)$/.exec(canonicalPrincipal(arn))
  return m ? `${m[1]}:${m[2]}:${m[3]}` : arn
}

export const samePrincipal = (a: string, b: string) => principalKey(a) === principalKey(b)

/**
 * The caller's principal as EKS sees it: for an assumed-role session (IAM Identity Center, a CI
 * role) its role's ARN with the role's path, read from IAM (GetRole); the path-less ARN when IAM
 * does not say (then only messages show it: access is compared by samePrincipal).
 */
export async function callerPrincipal(ctx: Pick<TaskContext, 'aws'>): Promise<string> {
  const arn = canonicalPrincipal((await ctx.aws.identity()).Arn!)
  const role = /^arn:[^:]+:iam::\d+:role\/(.+)$/.exec(arn)?.[1]
  if (!role) return arn
  try {
    return (await ctx.aws.iam.send(new GetRoleCommand({ RoleName: role }))).Role?.Arn ?? arn
  } catch {
    return arn
  }
}

/** The principals the runbook gives cluster-admin access: the bastion's role (the Ledger's, for the Auditor's cluster) and CLUSTER_ADMIN_ARNS. */
export async function clusterAdmins(ctx: Pick<TaskContext, 'aws' | 'config'>): Promise<string[]> {
  const c = ctx.config
  const bastionCluster = c.bastionOf ?? (c.bastion.enabled ? c.clusterName : undefined)
  const bastion: string[] = []
  if (bastionCluster) {
    const [, partition, , , account] = (await ctx.aws.identity()).Arn!.split(':')
    bastion.push(`arn:${partition}:iam::${account}:role/${bastionRoleName(bastionCluster)}`)
  }
  const all = [...bastion, ...c.clusterAdminArns]
  return all.filter((a, i) => all.findIndex((b) => samePrincipal(a, b)) === i)
}

/** eksctl's ClusterConfig accessConfig for 03: the entries it makes with the cluster. */
export function accessConfig(admins: string[]): Record<string, unknown> {
  return {
    authenticationMode: 'API_AND_CONFIG_MAP',
    bootstrapClusterCreatorAdminPermissions: true,
    ...(admins.length
      ? {
          accessEntries: admins.map((principalARN) => ({
            principalARN,
            accessPolicies: [{ policyARN: CLUSTER_ADMIN_POLICY, accessScope: { type: 'cluster' } }],
          })),
        }
      : {}),
  }
}

interface AccessSurvey {
  mode?: string
  /** Every principal with an entry. */
  entries: string[]
  /** Admins without an entry, and those whose entry lacks the cluster-admin policy. */
  missing: string[]
  weak: string[]
}

/** The cluster's authentication mode (`{}` when EKS does not say), or undefined when there is no such cluster. */
async function accessMode(eks: EKSClient, cluster: string): Promise<{ mode?: string } | undefined> {
  const c = await describeCluster(eks, cluster)
  return c && { mode: c.accessConfig?.authenticationMode }
}

/** Every principal with an access entry on the cluster. */
async function listAccessEntries(eks: EKSClient, cluster: string): Promise<string[]> {
  const entries: string[] = []
  for await (const page of paginateListAccessEntries({ client: eks }, { clusterName: cluster })) entries.push(...(page.accessEntries ?? []))
  return entries
}

/** Given the cluster's authentication mode: which admins lack an entry or the cluster-admin policy. */
async function surveyAccess(eks: EKSClient, cluster: string, mode: string | undefined, admins: string[]): Promise<AccessSurvey> {
  if (mode === 'CONFIG_MAP') return { mode, entries: [], missing: admins, weak: [] }
  const entries = await listAccessEntries(eks, cluster)
  const entryOf = (a: string) => entries.find((e) => samePrincipal(e, a))
  const weak = (
    await Promise.all(
      admins.map(async (a) => {
        // The entry as EKS holds it (a role's path included), whatever the spelling asked for.
        const principalArn = entryOf(a)
        if (!principalArn) return undefined
        const p =
          (await eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName: cluster, principalArn }))).associatedAccessPolicies ?? []
        return p.some((x) => x.policyArn === CLUSTER_ADMIN_POLICY && x.accessScope?.type === 'cluster') ? undefined : principalArn
      }),
    )
  ).filter((a): a is string => Boolean(a))
  return { mode, entries, missing: admins.filter((a) => !entryOf(a)), weak }
}

/** Steps 3 and 5: the access entries converge on reruns; entries the runbook did not make are reported, never removed. */
export function accessEntriesTask<S extends { admins?: string[] }>(): Task<S> {
  return {
    title: 'Cluster access: the bastion role and CLUSTER_ADMIN_ARNS have cluster-admin access entries',
    async check(ctx, s) {
      const [cluster, admins] = await Promise.all([accessMode(ctx.aws.eks, ctx.config.clusterName), clusterAdmins(ctx)])
      s.admins = admins
      if (!cluster)
        return ctx.dryRun
          ? { holds: false, detail: `give ${s.admins.join(', ') || 'nobody else'} access once the cluster exists` }
          : { holds: false, conflict: 'no EKS cluster yet', hint: 'the cluster task comes first: rerun the step' }
      const a = await surveyAccess(ctx.aws.eks, ctx.config.clusterName, cluster.mode, s.admins)
      const others = a.entries.filter((e) => !s.admins!.some((x) => samePrincipal(x, e)))
      const also = others.length ? `; also has access, left alone: ${others.join(', ')}` : ''
      const todo = [
        ...(a.mode === 'CONFIG_MAP' ? ['switch the authentication mode to API_AND_CONFIG_MAP'] : []),
        ...a.missing.map((m) => `add ${m}`),
        ...a.weak.map((w) => `associate AmazonEKSClusterAdminPolicy with ${w}`),
      ]
      return todo.length
        ? { holds: false, detail: todo.join('; ') + also }
        : { holds: true, detail: `${s.admins.length ? s.admins.join(', ') : 'no one besides the creator'}${also}` }
    },
    async apply(ctx, s) {
      const eks = ctx.aws.eks
      const name = ctx.config.clusterName
      const admins = s.admins ?? (await clusterAdmins(ctx))
      let a = await surveyAccess(eks, name, (await accessMode(eks, name))?.mode, admins)
      const done: string[] = []
      if (a.mode === 'CONFIG_MAP') {
        // CONFIG_MAP -> API_AND_CONFIG_MAP keeps the aws-auth ConfigMap working; EKS allows no way back.
        const update = (
          await eks.send(new UpdateClusterConfigCommand({ name, accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' } }))
        ).update
        // The cluster is UPDATING until the update ends (EKS API, UpdateClusterConfig): wait for it.
        await waitFor(
          { what: `the authentication-mode update of ${name} to succeed`, timeoutMs: ctx.config.waitTimeoutMs, log: ctx.log },
          async () => {
            const u = update?.id ? (await eks.send(new DescribeUpdateCommand({ name, updateId: update.id }))).update : undefined
            return {
              done: !u || u.status === 'Successful',
              status: u?.status ?? 'done',
              failed:
                u?.status === 'Failed' || u?.status === 'Cancelled'
                  ? `update ${u.id} ${u.status}: ${JSON.stringify(u.errors ?? [])}`
                  : undefined,
            }
          },
        )
        done.push('authentication mode API_AND_CONFIG_MAP')
        a = await surveyAccess(eks, name, 'API_AND_CONFIG_MAP', admins)
      }
      for (const principalArn of a.missing) {
        // The token makes a retried create the same create (EKS's clientRequestToken).
        const token = createHash('sha256').update(`${name}/${principalArn}`).digest('hex').slice(0, 32)
        try {
          await eks.send(
            new CreateAccessEntryCommand({ clusterName: name, principalArn, clientRequestToken: token, tags: { [CLUSTER_TAG]: name } }),
          )
        } catch (e) {
          if ((e as Error).name !== 'ResourceInUseException') throw e
        }
      }
      for (const principalArn of [...a.missing, ...a.weak])
        await eks.send(
          new AssociateAccessPolicyCommand({
            clusterName: name,
            principalArn,
            policyArn: CLUSTER_ADMIN_POLICY,
            accessScope: { type: 'cluster' },
          }),
        )
      done.push(...a.missing.map((m) => `added ${m}`), ...a.weak.map((w) => `cluster-admin for ${w}`))
      return done.join('; ')
    },
    hint: 'a principal EKS refuses (InvalidParameterException: invalid principal) does not exist as written: fix CLUSTER_ADMIN_ARNS (a role with a path, such as an IAM Identity Center role, by its full ARN: aws iam get-role --role-name NAME --query Role.Arn); the bastion role is made by 01-vpc',
  }
}

/**
 * Whether the caller may use the cluster's Kubernetes API: it has an access entry (the creator's
 * is made by EKS). undefined when it may, or when the cluster is not there yet or uses the aws-auth
 * ConfigMap only (then EKS's API cannot tell); else why not, and the fix.
 */
export async function callerAccessProblem(
  ctx: Pick<TaskContext, 'aws' | 'config'> & { log?: Logger },
  described?: { cluster: Cluster | undefined },
): Promise<{ message: string; fix: string } | undefined> {
  const name = ctx.config.clusterName
  const cluster = described ? described.cluster : await describeCluster(ctx.aws.eks, name)
  const mode = cluster?.accessConfig?.authenticationMode
  if (!mode || mode === 'CONFIG_MAP') return undefined
  const [me, entries] = await Promise.all([callerPrincipal(ctx), listAccessEntries(ctx.aws.eks, name)])
  if (entries.some((e) => samePrincipal(e, me))) return await entryEffective(ctx, cluster!, me)
  return {
    message: `your AWS principal ${me} has no access entry on the EKS cluster ${name}: kubectl and helm would get "Unauthorized"`,
    fix: `add ${me} to CLUSTER_ADMIN_ARNS and rerun 03-eks as a principal that has access (${entries.slice(0, 3).join(', ') || 'the one that created the cluster'}), or run: aws eks create-access-entry --cluster-name ${name} --principal-arn ${me} && aws eks associate-access-policy --cluster-name ${name} --principal-arn ${me} --policy-arn ${CLUSTER_ADMIN_POLICY} --access-scope type=cluster`,
  }
}

/**
 * An access entry is effective "several seconds" after it was made ("access entry creation and
 * updates are eventually consistent": EKS user guide, creating-access-entries): right after 03
 * added a teammate, their first kubectl call may still get Unauthorized. So the caller's token is
 * tried on the API (GET /version, which EKS 1.32+ answers only to an authenticated caller) until
 * it is accepted, for up to a minute; an API this host cannot reach is apiReachProblems' to report.
 */
async function entryEffective(
  ctx: Pick<TaskContext, 'aws' | 'config'> & { log?: Logger },
  cluster: Cluster,
  me: string,
): Promise<{ message: string; fix: string } | undefined> {
  if (cluster.status !== 'ACTIVE' || !cluster.endpoint) return undefined
  const [ca, token] = [clusterCa(cluster), await eksToken(ctx.config.clusterName, ctx.config.region)]
  try {
    await waitFor(
      { what: `the access entry of ${me} to take effect on ${ctx.config.clusterName}`, timeoutMs: 60_000, log: ctx.log },
      async () => {
        // GET /version: EKS 1.32+ answers it only to an authenticated caller.
        const status = await apiStatus(cluster.endpoint!, '/version', ca, { token })
        return { done: status !== 401, status: status === 401 ? 'Unauthorized (entry not effective yet)' : String(status) }
      },
    )
  } catch (e) {
    if (!(e instanceof WaitTimeoutError)) throw e
    return {
      message: `your AWS principal ${me} has an access entry on ${ctx.config.clusterName}, but its API still answers Unauthorized after a minute`,
      fix: `check the entry and its policies: aws eks list-associated-access-policies --cluster-name ${ctx.config.clusterName} --principal-arn ${me}`,
    }
  }
  return undefined
}

/** As a step's preflight: exit 2 before any change when the caller has no access entry, or cannot reach the API from here. */
export async function clusterAccessProblems(
  ctx: Pick<TaskContext, 'aws' | 'config'> & { log?: Logger; dryRun?: boolean },
): Promise<ConfigProblem[]> {
  // One DescribeCluster for both checks.
  const described = { cluster: await describeCluster(ctx.aws.eks, ctx.config.clusterName) }
  // A host where 03 never ran (a new bastion): the kubeconfig `aws eks update-kubeconfig` would
  // write (a local file of the runbook's state; not in --dry-run, which writes nothing).
  if (described.cluster && !ctx.dryRun) await ensureKubeconfig(ctx.aws.eks, ctx.config, described)
  const [p, reach] = await Promise.all([callerAccessProblem(ctx, described), apiReachProblems(ctx, described)])
  return [...(p ? [{ key: 'AWS principal', message: p.message, fix: p.fix }] : []), ...reach]
}
