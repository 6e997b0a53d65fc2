// Step 6: control-plane logging, Container Insights (CloudWatch agent + Fluent Bit) through the
// amazon-cloudwatch-observability add-on with the Scalar DL toleration, the agents on every node,
// and log retention.
import { callerBoundaryArn } from '../iam/boundary-task.ts'
import path from 'node:path'
import { CreateLogGroupCommand, DescribeLogGroupsCommand, PutRetentionPolicyCommand, type LogGroup } from '@aws-sdk/client-cloudwatch-logs'
import YAML from 'yaml'
import { CLUSTER_TAG } from '../aws/tags.ts'
import { LOG_TYPES } from '../config/load.ts'
import { POOL_TAINT } from '../eks/cluster-config.ts'
import { eksRead } from '../eks/read.ts'
import { kubectlFor } from '../eks/tasks.ts'
import { Eksctl, type EksctlAddon } from '../tools/eksctl.ts'
import { writePrivateFile } from '../engine/files.ts'
import type { KubeObject } from '../tools/kubectl.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { waitFor } from '../engine/wait.ts'

export const ADDON = 'amazon-cloudwatch-observability'
export const AGENT_NAMESPACE = 'amazon-cloudwatch'
const AGENTS = ['cloudwatch-agent', 'fluent-bit']

const eksctl = (ctx: TaskContext) => new Eksctl({ command: ctx.config.tools.eksctl, region: ctx.config.region })

/** The add-on's configuration values: the Scalar DL toleration explicitly, and every other taint as the add-on's default does. */
function addonConfigurationValues(): string {
  return JSON.stringify({
    tolerations: [{ key: POOL_TAINT.key, operator: 'Equal', value: POOL_TAINT.value, effect: POOL_TAINT.effect }, { operator: 'Exists' }],
  })
}

export function controlPlaneLoggingTask(): Task {
  return {
    title: 'EKS control-plane logging (CONTROL_PLANE_LOG_TYPES)',
    async check(ctx) {
      const c = await eksRead(ctx).cluster()
      if (!c)
        return ctx.dryRun
          ? { holds: false, detail: 'once 03-eks has made the cluster' }
          : { holds: false, conflict: `cluster ${ctx.config.clusterName} not found`, hint: 'run 03-eks first' }
      const enabled = new Set((c.Logging?.ClusterLogging ?? []).filter((l) => l.Enabled).flatMap((l) => l.Types ?? []))
      const want = new Set(ctx.config.monitoring.controlPlaneLogTypes)
      const same = enabled.size === want.size && [...want].every((t) => enabled.has(t))
      const label = (s: Set<string>) => (s.size ? [...s].join(',') : 'off')
      return same ? { holds: true, detail: label(enabled) } : { holds: false, detail: `${label(enabled)} -> ${label(want)}` }
    },
    async apply(ctx) {
      const want = ctx.config.monitoring.controlPlaneLogTypes
      await eksctl(ctx).updateClusterLogging(
        ctx.config.clusterName,
        want,
        LOG_TYPES.filter((t) => !want.includes(t)),
      )
      return `enabled ${want.join(',') || 'none'}`
    },
  }
}

function addonConfigFile(ctx: TaskContext): string {
  return path.join(ctx.config.stateDir, ctx.config.clusterName, 'eksctl-addons.yaml')
}

const POD_IDENTITY_AGENT = 'eks-pod-identity-agent'
/** The service account both agents run as (aws-observability/helm-charts amazon-cloudwatch-observability-6.4.0 templates/linux/fluent-bit-daemonset.yaml:147, cloudwatch-agent-custom-resource.yaml:91). */
export const AGENT_SERVICE_ACCOUNT = 'cloudwatch-agent'
const AGENT_POLICY = 'arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy'

/**
 * What `eksctl create|update addon -f` is given: the Pod Identity Agent, and the CloudWatch add-on
 * with its configuration values and a Pod Identity association for its agents' service account
 * (eksctl-io/eksctl v0.230.0 pkg/apis/eksctl.io/v1alpha5/addon.go:166-173: namespace and
 * serviceAccountName are required; eksctl makes the role, trusted by pods.eks.amazonaws.com).
 */
function addonsConfig(ctx: TaskContext, boundary: string): Record<string, unknown> {
  return {
    apiVersion: 'eksctl.io/v1alpha5',
    kind: 'ClusterConfig',
    metadata: { name: ctx.config.clusterName, region: ctx.config.region },
    addons: podIdentityAddons(addonConfigurationValues(), boundary),
  }
}

/**
 * The two add-ons, with these configuration values for the CloudWatch one (what the tests install
 * by hand, too). The agents' role carries the permissions boundary (lib/iam/boundary.ts) when given:
 * permissionsBoundaryARN (eksctl-io/eksctl v0.228.0 pkg/apis/eksctl.io/v1alpha5/iam.go:190,
 * pkg/cfn/builder/iam.go:379).
 */
export function podIdentityAddons(configurationValues: string, boundary?: string): Record<string, unknown>[] {
  return [
    { name: POD_IDENTITY_AGENT },
    {
      name: ADDON,
      configurationValues,
      podIdentityAssociations: [
        {
          namespace: AGENT_NAMESPACE,
          serviceAccountName: AGENT_SERVICE_ACCOUNT,
          permissionPolicyARNs: [AGENT_POLICY],
          ...(boundary ? { permissionsBoundaryARN: boundary } : {}),
        },
      ],
    },
  ]
}

const hasAgentAssociation = (a: EksctlAddon) =>
  (a.PodIdentityAssociations ?? []).some((p) => p.Namespace === AGENT_NAMESPACE && p.ServiceAccount === AGENT_SERVICE_ACCOUNT)

interface AddonsRead {
  addon?: EksctlAddon
  agent?: EksctlAddon
}

const addonsRead = (all: EksctlAddon[]): AddonsRead => ({
  addon: all.find((a) => a.Name === ADDON),
  agent: all.find((a) => a.Name === POD_IDENTITY_AGENT),
})

export function containerInsightsTask(): Task<unknown, AddonsRead> {
  return {
    title: `Container Insights add-on ${ADDON} (tolerates the Scalar DL taint; its agents' role through EKS Pod Identity)`,
    async check(ctx) {
      // Every read at once: the add-ons' answers count only if the cluster exists.
      const [cluster, addons] = await Promise.all([
        eksRead(ctx).cluster(),
        eksctl(ctx)
          .getAddons(ctx.config.clusterName)
          .catch((err: unknown) => err as Error),
      ])
      if (!cluster)
        return ctx.dryRun
          ? { holds: false, detail: 'once 03-eks has made the cluster' }
          : { holds: false, conflict: `cluster ${ctx.config.clusterName} not found`, hint: 'run 03-eks first' }
      if (addons instanceof Error) throw addons
      const { addon, agent } = addonsRead(addons)
      const plan = `eksctl create addon ${POD_IDENTITY_AGENT} and ${ADDON} (configuration values ${addonConfigurationValues()}, Pod Identity for ${AGENT_NAMESPACE}/${AGENT_SERVICE_ACCOUNT})`
      if (!addon || !agent)
        return {
          holds: false,
          detail: `${plan}${addon ? ` (${ADDON} exists)` : ''}${agent ? ` (${POD_IDENTITY_AGENT} exists)` : ''}`,
          reading: { addon, agent },
        }
      const changes = [
        ...(addon.ConfigurationValues !== addonConfigurationValues()
          ? [`configuration values ${addon.ConfigurationValues || '(none)'} -> ${addonConfigurationValues()}`]
          : []),
        ...(hasAgentAssociation(addon) ? [] : [`Pod Identity association for ${AGENT_NAMESPACE}/${AGENT_SERVICE_ACCOUNT} (none)`]),
      ]
      if (changes.length) return { holds: false, detail: `eksctl update addon ${ADDON}: ${changes.join('; ')}`, reading: { addon, agent } }
      // A degraded add-on is installed as wanted but unhealthy: said, with EKS's issues; the
      // agents' task below says which node lacks what.
      if (addon.issues?.length || addon.Status === 'DEGRADED')
        ctx.log.warn(`${addon.Name} is ${addon.Status}: ${addon.issues?.join('; ') || 'no issue given'}`)
      const role = addon.PodIdentityAssociations!.find((p) => p.ServiceAccount === AGENT_SERVICE_ACCOUNT)!.RoleARN
      return {
        holds: true,
        detail: `${addon.Name} ${addon.Version} ${addon.Status}${addon.issues?.length ? ` (issues: ${addon.issues.join('; ')})` : ''}; agents' role ${role}`,
      }
    },
    async apply(ctx, _s, read) {
      const file = addonConfigFile(ctx)
      writePrivateFile(file, YAML.stringify(addonsConfig(ctx, await callerBoundaryArn(ctx))))
      const e = eksctl(ctx)
      // What the check read; read again only when apply runs without it.
      const { addon, agent } = read ?? addonsRead(await e.getAddons(ctx.config.clusterName))
      const done: string[] = []
      // create makes what is missing, the agent first, and skips what exists (eksctl
      // pkg/actions/addon/create.go:93-97); an existing CloudWatch add-on is changed by update.
      if (!addon || !agent) {
        await e.addon('create', file)
        done.push(`created ${[...(agent ? [] : [POD_IDENTITY_AGENT]), ...(addon ? [] : [ADDON])].join(' and ')}`)
      }
      if (addon && (addon.ConfigurationValues !== addonConfigurationValues() || !hasAgentAssociation(addon))) {
        await e.addon('update', file)
        done.push(`updated ${ADDON}`)
      }
      return done.join('; ')
    },
  }
}

interface Coverage {
  missing: { agent: string; node: string; reason: string }[]
  nodes: number
}

const untolerated = (node: KubeObject, tolerations: { key?: string; operator?: string; value?: string; effect?: string }[]) =>
  ((node.spec?.taints ?? []) as { key: string; value?: string; effect: string }[]).filter(
    (t) =>
      t.effect !== 'PreferNoSchedule' &&
      !tolerations.some(
        (x) =>
          (!x.effect || x.effect === t.effect) &&
          (!x.key ? x.operator === 'Exists' : x.key === t.key && (x.operator === 'Exists' || (x.value ?? '') === (t.value ?? ''))),
      ),
  )

/** Which node lacks a ready agent Pod, and why, in two kubectl calls. */
async function agentCoverage(ctx: TaskContext): Promise<Coverage> {
  const k = kubectlFor(ctx)
  const [nodes, objects] = await Promise.all([k.list('nodes'), k.list('daemonsets,pods', { namespace: AGENT_NAMESPACE })])
  const missing: Coverage['missing'] = []
  for (const agent of AGENTS) {
    const ds = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === agent)
    // The DaemonSet's own selector finds its Pods: the add-on labels Fluent Bit `k8s-app:
    // fluent-bit` and its operator labels the agent otherwise; no label is guessed.
    const selector = (ds?.spec?.selector?.matchLabels ?? {}) as Record<string, string>
    const pods = ds
      ? objects.filter(
          (o) =>
            o.kind === 'Pod' &&
            Object.keys(selector).length > 0 &&
            Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v),
        )
      : []
    for (const node of nodes) {
      const pod = pods.find((p) => p.spec?.nodeName === node.metadata.name)
      const ready =
        pod?.status?.phase === 'Running' &&
        (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')
      if (ready) continue
      let reason: string
      if (!ds) reason = `DaemonSet ${agent} not found`
      else {
        const taints = untolerated(node, ds.spec?.template?.spec?.tolerations ?? [])
        reason = taints.length
          ? `taint ${taints.map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`).join(', ')} not tolerated`
          : pod
            ? `pod ${pod.metadata.name} ${pod.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? pod.status?.phase}`
            : 'no pod yet'
      }
      missing.push({ agent, node: node.metadata.name, reason })
    }
  }
  return { missing, nodes: nodes.length }
}

const describeMissing = (c: Coverage) => c.missing.map((m) => `${m.agent} on ${m.node}: ${m.reason}`).join('; ')

export function agentsOnEveryNodeTask(): Task {
  return {
    title: 'CloudWatch agent and Fluent Bit ready on every node, tainted pool nodes included',
    async check(ctx) {
      if (ctx.dryRun) {
        try {
          const c = await agentCoverage(ctx)
          return c.missing.length
            ? { holds: false, detail: `wait: ${describeMissing(c)}` }
            : { holds: true, detail: `${c.nodes} nodes covered` }
        } catch {
          return { holds: false, detail: 'once the add-on runs' }
        }
      }
      const c = await agentCoverage(ctx)
      return c.missing.length
        ? { holds: false, detail: `wait: ${describeMissing(c)}` }
        : { holds: true, detail: `both agents on all ${c.nodes} nodes` }
    },
    async apply(ctx) {
      const done = await waitFor(
        { what: 'the CloudWatch agent and Fluent Bit on every node', timeoutMs: Math.min(ctx.config.waitTimeoutMs, 600_000), log: ctx.log },
        async () => {
          const c = await agentCoverage(ctx)
          const hopeless = c.missing.filter((m) => /not tolerated|not found/.test(m.reason))
          return {
            done: !c.missing.length,
            status: describeMissing(c) || 'all ready',
            value: c,
            failed: hopeless.length ? describeMissing({ missing: hopeless, nodes: c.nodes }) : undefined,
          }
        },
      )
      return `both agents on all ${done?.nodes} nodes`
    },
    hint: 'a node whose taint the agents do not tolerate sends no logs or metrics: rerun 06 (it sets the add-on tolerations); RUNBOOK.md, 06-monitoring',
  }
}

function logGroupNames(ctx: TaskContext): string[] {
  const c = ctx.config.clusterName
  return [
    ...['application', 'dataplane', 'host', 'performance'].map((g) => `/aws/containerinsights/${c}/${g}`),
    ...(ctx.config.monitoring.controlPlaneLogTypes.length ? [`/aws/eks/${c}/cluster`] : []),
  ]
}

async function logGroups(ctx: TaskContext): Promise<Map<string, LogGroup>> {
  const c = ctx.config.clusterName
  const out = new Map<string, LogGroup>()
  // Two prefix queries: never a listing of every log group of the account.
  for (const prefix of [`/aws/containerinsights/${c}/`, `/aws/eks/${c}/`]) {
    let nextToken: string | undefined
    do {
      const page = await ctx.aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, nextToken }))
      for (const g of page.logGroups ?? []) out.set(g.logGroupName!, g)
      nextToken = page.nextToken
    } while (nextToken)
  }
  return out
}

export function logRetentionTask(): Task {
  return {
    title: 'Log groups with retention (LOG_RETENTION_DAYS)',
    async check(ctx) {
      const have = await logGroups(ctx)
      const days = ctx.config.monitoring.logRetentionDays
      const todo = logGroupNames(ctx).filter((n) => have.get(n)?.retentionInDays !== days)
      return todo.length
        ? { holds: false, detail: `${days} days on ${todo.join(', ')}` }
        : { holds: true, detail: `${days} days on ${logGroupNames(ctx).length} log groups` }
    },
    async apply(ctx) {
      const have = await logGroups(ctx)
      const days = ctx.config.monitoring.logRetentionDays
      const todo = logGroupNames(ctx).filter((n) => have.get(n)?.retentionInDays !== days)
      for (const name of todo) {
        if (!have.has(name)) {
          try {
            await ctx.aws.logs.send(new CreateLogGroupCommand({ logGroupName: name, tags: { [CLUSTER_TAG]: ctx.config.clusterName } }))
          } catch (e) {
            if ((e as Error).name !== 'ResourceAlreadyExistsException') throw e
          }
        }
        await ctx.aws.logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: days }))
      }
      return `${days} days on ${todo.join(', ')}`
    },
  }
}
