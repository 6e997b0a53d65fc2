// Teardown, Kubernetes side: the Scalar DL releases and secrets, Container Insights, then the
// node groups and the cluster (eksctl). Each task holds when the thing is already gone.
import fs from 'node:fs'
import { kubeAccess, kubeconfigFile } from '../eks/cluster-config.ts'
import { kubectlFor } from '../eks/tasks.ts'
import { Eksctl } from '../tools/eksctl.ts'
import { Helm } from '../tools/helm.ts'
import { ADDON, AGENT_NAMESPACE } from '../monitoring/tasks.ts'
import { keysSecretName } from '../scalardl/names.ts'
import { dbSecretName, PULL_SECRET } from '../scalardl/secrets.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { eksRead } from '../eks/read.ts'
import { findLoadBalancer, loadBalancersInVpc } from '../aws/load-balancers.ts'
import { findVpc } from '../aws/vpc.ts'
import { scalardlFullname } from '../scalardl/names.ts'
import { waitFor } from '../engine/wait.ts'

const eksctl = (ctx: TaskContext) => new Eksctl({ command: ctx.config.tools.eksctl, region: ctx.config.region })
const helm = (ctx: TaskContext) => new Helm({ command: ctx.config.tools.helm, kubeconfig: kubeAccess(ctx.config) })

async function clusterReachable(ctx: TaskContext): Promise<boolean> {
  if (!fs.existsSync(kubeconfigFile(ctx.config))) return false
  return Boolean(await eksRead(ctx).cluster())
}

/**
 * The envoy's NLBs still in AWS: EKS's controller deletes one after its Service is gone
 * (cloud-provider-aws v1.32.8 aws.go:2829 EnsureLoadBalancerDeleted), so the cluster must stay
 * until then, or the NLB is left behind with its network interfaces. Found by the tags the
 * controller puts on it (aws_loadbalancer.go:157-161), so a rerun after an interrupted teardown
 * still waits for it.
 */
async function envoyLoadBalancers(ctx: TaskContext): Promise<string[]> {
  const vpc = await findVpc(ctx.aws.ec2, ctx.config.clusterName)
  if (!vpc) return []
  const service = `${ctx.config.scalardl.namespace}/${scalardlFullname(ctx.config)}-envoy`
  return (await loadBalancersInVpc(ctx.aws.elb, vpc.VpcId!)).filter((b) => b.service === service).map((b) => b.name)
}

export function releasesGoneTask(): Task {
  return {
    title: 'Scalar DL releases uninstalled (the server, then schema loading) and their secrets deleted',
    async check(ctx) {
      if (!(await clusterReachable(ctx))) return { holds: true, detail: 'no cluster' }
      const c = ctx.config.scalardl
      const releases = (await helm(ctx).list(c.namespace)).filter((r) => [c.release, c.schemaRelease].includes(r.name)).map((r) => r.name)
      const k = kubectlFor(ctx)
      const secrets = (
        await Promise.all(
          [PULL_SECRET, keysSecretName(ctx.config), dbSecretName(ctx.config)].map(async (s) =>
            (await k.get('secret', s, { namespace: c.namespace })) ? s : undefined,
          ),
        )
      ).filter(Boolean) as string[]
      const nlbs = await envoyLoadBalancers(ctx)
      const left = [
        ...releases.map((r) => `release ${r}`),
        ...secrets.map((s) => `secret ${s}`),
        ...nlbs.map((n) => `(wait for) the envoy's load balancer ${n}`),
      ]
      return left.length ? { holds: false, detail: `delete ${left.join(', ')}` } : { holds: true, detail: 'none left' }
    },
    async apply(ctx) {
      const c = ctx.config.scalardl
      const h = helm(ctx)
      const k = kubectlFor(ctx)
      // The envoy's NLB outlives its Service for a while (EKS's controller deletes it afterwards):
      // the cluster must stay until it is gone, or it is left behind with its network interfaces.
      for (const r of [c.release, c.schemaRelease]) await h.uninstall(r, c.namespace)
      for (const s of [PULL_SECRET, keysSecretName(ctx.config), dbSecretName(ctx.config)])
        await k.delete('secret', s, { namespace: c.namespace })
      const names = await envoyLoadBalancers(ctx)
      if (!names.length) return `uninstalled ${c.release}, ${c.schemaRelease}; deleted the secrets`
      await waitFor(
        {
          what: `the envoy's load balancer ${names.join(', ')} to be deleted`,
          timeoutMs: ctx.config.waitTimeoutMs,
          log: ctx.log,
          hint: `kubectl get events -n ${c.namespace} shows the controller's; if the cluster can no longer delete it, delete ${names.join(', ')} yourself (aws elbv2 delete-load-balancer) and rerun`,
        },
        async () => {
          const left = (await Promise.all(names.map(async (n) => ({ n, lb: await findLoadBalancer(ctx.aws.elb, n) })))).filter((x) => x.lb)
          return { done: !left.length, status: left.length ? left.map((x) => `${x.n} ${x.lb!.State?.Code}`).join(', ') : 'deleted' }
        },
      )
      return `uninstalled ${c.release}, ${c.schemaRelease}; deleted the secrets; the envoy's load balancer ${names.join(', ')} is gone`
    },
  }
}

export function monitoringGoneTask(): Task {
  return {
    title: 'Container Insights removed (add-on, or the DaemonSets of config/)',
    async check(ctx) {
      if (!(await clusterReachable(ctx))) return { holds: true, detail: 'no cluster' }
      const addon = await eksctl(ctx).getAddon(ctx.config.clusterName, ADDON)
      const ds = (await kubectlFor(ctx).list('daemonsets', { namespace: AGENT_NAMESPACE })).map((d) => d.metadata.name)
      if (addon) return { holds: false, detail: `eksctl delete addon ${ADDON}` }
      return ds.length ? { holds: false, detail: `delete DaemonSets ${ds.join(', ')}` } : { holds: true, detail: 'none' }
    },
    async apply(ctx) {
      const e = eksctl(ctx)
      if (await eksctl(ctx).getAddon(ctx.config.clusterName, ADDON))
        await e.run(['delete', 'addon', '--cluster', ctx.config.clusterName, '--name', ADDON, '--region', ctx.config.region])
      const k = kubectlFor(ctx)
      for (const d of await k.list('daemonsets', { namespace: AGENT_NAMESPACE }))
        await k.delete('daemonset', d.metadata.name, { namespace: AGENT_NAMESPACE })
      return 'removed'
    },
  }
}

export function nodegroupsGoneTask(): Task {
  return {
    title: 'Node groups deleted',
    async check(ctx) {
      if (!(await eksRead(ctx).cluster())) return { holds: true, detail: 'no cluster' }
      const groups = (await eksRead(ctx).nodegroups()).map((g) => g.Name)
      return groups.length ? { holds: false, detail: `delete ${groups.join(', ')}` } : { holds: true, detail: 'none' }
    },
    async apply(ctx) {
      const e = eksctl(ctx)
      const groups = (await eksRead(ctx).nodegroups()).map((g) => g.Name)
      // No drain: the releases are gone and the cluster is deleted next, and eksctl's drain (its
      // default) waits up to its timeout, 25 min, for any PodDisruptionBudget that allows nothing
      // (eksctl-io/eksctl v0.230.0 pkg/ctl/delete/nodegroup.go:60-70, pkg/drain/nodegroup.go).
      for (const g of groups)
        await e.run([
          'delete',
          'nodegroup',
          '--cluster',
          ctx.config.clusterName,
          '--name',
          g,
          '--region',
          ctx.config.region,
          '--wait',
          '--drain=false',
        ])
      return `deleted ${groups.join(', ')}`
    },
  }
}

export function clusterGoneTask(): Task {
  return {
    title: 'EKS cluster deleted',
    async check(ctx) {
      const c = await eksRead(ctx).cluster()
      if (!c) return { holds: true, detail: 'no cluster' }
      const owned = (c.Tags as Record<string, string> | undefined)?.['scalardl-runbook/cluster'] === ctx.config.clusterName
      if (!owned)
        return {
          holds: false,
          conflict: `cluster ${ctx.config.clusterName} does not carry the runbook's tag scalardl-runbook/cluster`,
          hint: 'the runbook deletes only what it created: delete it yourself if it is yours',
        }
      return { holds: false, detail: `eksctl delete cluster --name ${ctx.config.clusterName} --wait` }
    },
    async apply(ctx) {
      await eksctl(ctx).run(['delete', 'cluster', '--name', ctx.config.clusterName, '--region', ctx.config.region, '--wait'])
      fs.rmSync(kubeconfigFile(ctx.config), { force: true })
      return `deleted ${ctx.config.clusterName}`
    },
  }
}
