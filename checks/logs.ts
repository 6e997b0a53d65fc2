// Check: Fluent Bit ships the container logs of every Scalar DL node to CloudWatch
// (/aws/containerinsights/<cluster>/application), and control-plane logs exist when enabled.
// What proves the pipeline on a healthy idle system: every Envoy Pod writes a line to stdout at
// each of its liveness probes (the chart probes Envoy's admin port, /ready on 9001, and sets
// Envoy's admin access log, where the admin server logs each request, to /dev/stdout:
// scalar-labs/helm-charts@1341cfd charts/envoy/values.yaml:10 and
// templates/deployment.yaml:54-55, 74-77), so each Envoy Pod, one per Scalar DL node, has events in the last minutes
// whatever the traffic. A Ledger with no traffic may log nothing, so its Pods are not required.
// The events are read with FilterLogEvents over the window (their own timestamps), not from a
// stream's lastEventTimestamp, which CloudWatch Logs updates "on an eventual consistency basis,
// typically in less than an hour" (DescribeLogStreams API reference). The agents' credentials are
// checked too: both agents run as amazon-cloudwatch/cloudwatch-agent and get their role through
// the EKS Pod Identity association 06 makes; without it they run and CloudWatch refuses what they send.
import { DescribeLogGroupsCommand, DescribeLogStreamsCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { ListPodIdentityAssociationsCommand } from '@aws-sdk/client-eks'
import { isMain } from '../lib/engine/main.ts'
import { AGENT_NAMESPACE, AGENT_SERVICE_ACCOUNT } from '../lib/monitoring/tasks.ts'
import type { Check, VerifyContext } from '../lib/verify/check.ts'
import type { KubeObject } from '../lib/tools/kubectl.ts'

/** Whether the Pod's container log streams (Fluent Bit names them <node>-application.var.log.containers.<pod>_<namespace>_...) have an event since `since`; undefined: no such group. */
async function podLogsSince(v: VerifyContext, group: string, pod: KubeObject, since: number): Promise<boolean | undefined> {
  let names: string[]
  try {
    const out = await v.aws.logs.send(
      new DescribeLogStreamsCommand({
        logGroupName: group,
        logStreamNamePrefix: `${pod.spec?.nodeName}-application.var.log.containers.${pod.metadata.name}_${pod.metadata.namespace}_`,
        limit: 50,
      }),
    )
    names = (out.logStreams ?? []).map((x) => x.logStreamName!)
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return undefined
    throw e
  }
  if (!names.length) return false
  const events = await v.aws.logs.send(
    new FilterLogEventsCommand({ logGroupName: group, logStreamNames: names.slice(0, 100), startTime: since, limit: 1 }),
  )
  return (events.events ?? []).length > 0
}

export const logsCheck: Check = {
  name: 'logs',
  title: 'Container logs of every Scalar DL node in CloudWatch (from its Envoy Pod); control-plane logs',
  hint: 'no Pod Identity association: the agents lost their role (aws eks list-pod-identity-associations --cluster-name CLUSTER_NAME); no recent events from an Envoy Pod: Fluent Bit on its node is not running (usually: it does not tolerate the Scalar DL taint; kubectl -n amazon-cloudwatch get pods -o wide shows where it runs); rerun 06-monitoring, which restores both (ONCALL.md, "Check: logs")',
  async run(v) {
    const cluster = v.config.clusterName
    const minutes = v.config.monitoring.logFreshnessMinutes
    const since = Date.now() - minutes * 60_000
    const group = `/aws/containerinsights/${cluster}/application`
    const [pods, eksGroups, role] = await Promise.all([
      v.of('Pod'),
      v.config.monitoring.controlPlaneLogTypes.length
        ? v.aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/aws/eks/${cluster}/cluster` }))
        : Promise.resolve(undefined),
      v.aws.eks.send(
        new ListPodIdentityAssociationsCommand({ clusterName: cluster, namespace: AGENT_NAMESPACE, serviceAccount: AGENT_SERVICE_ACCOUNT }),
      ),
    ])
    const envoys = pods.filter(
      (p) =>
        p.metadata.labels?.['app.kubernetes.io/instance'] === v.config.scalardl.release &&
        p.metadata.labels?.['app.kubernetes.io/app'] === 'envoy' &&
        p.status?.phase === 'Running',
    )
    const problems: string[] = []
    if (!role.associations?.length)
      problems.push(
        `no EKS Pod Identity association for ${AGENT_NAMESPACE}/${AGENT_SERVICE_ACCOUNT}: the CloudWatch agents and Fluent Bit have no role, and CloudWatch refuses what they send`,
      )
    // No Pod to hear from is no evidence that logs arrive: the check fails rather than pass on nothing.
    if (!envoys.length) problems.push(`no running Envoy Pod of release ${v.config.scalardl.release} to have logs from (see the pods check)`)
    const heard = await Promise.all(envoys.map((p) => podLogsSince(v, group, p, since)))
    if (heard.some((h) => h === undefined)) problems.push(`log group ${group} does not exist`)
    else {
      const silent = envoys.filter((_, i) => !heard[i])
      if (silent.length)
        problems.push(
          `no log events in the last ${minutes} min from ${silent.map((p) => p.metadata.name).join(', ')} on node(s) ${[...new Set(silent.map((p) => p.spec?.nodeName))].join(', ')}`,
        )
    }
    if (eksGroups && !eksGroups.logGroups?.some((g) => g.logGroupName === `/aws/eks/${cluster}/cluster`))
      problems.push(`control-plane logging is on (CONTROL_PLANE_LOG_TYPES) but /aws/eks/${cluster}/cluster does not exist`)
    return problems.length
      ? { ok: false, detail: problems.join('; ') }
      : {
          ok: true,
          detail: `log events in the last ${minutes} min from the Envoy Pods on all ${new Set(envoys.map((p) => p.spec?.nodeName)).size} Scalar DL node(s); the agents' role through Pod Identity${eksGroups ? '; control-plane log group present' : ''}`,
        }
  },
}

if (isMain(import.meta.url, 'logs')) await (await import('../lib/verify/runner.ts')).verify([logsCheck])
