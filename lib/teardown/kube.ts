// Teardown, Kubernetes side: the Scalar DL releases and secrets, Container Insights, then the
// node groups and the cluster (eksctl). Each task holds when the thing is already gone.
import fs from 'node:fs'
import { kubeconfigFile } from '../eks/cluster-config.ts'
import { kubectlFor } from '../eks/tasks.ts'
import { Eksctl } from '../eksctl.ts'
import { Helm } from '../helm.ts'
import { ADDON, AGENT_NAMESPACE } from '../monitoring/tasks.ts'
import { keysSecretName } from '../scalardl/names.ts'
import { dbSecretName, PULL_SECRET } from '../scalardl/secrets.ts'
import type { Task, TaskContext } from '../task.ts'
import { eksRead } from '../eks/read.ts'

const eksctl = (ctx: TaskContext) => new Eksctl({ command: ctx.config.tools.eksctl, region: ctx.config.region })
const helm = (ctx: TaskContext) => new Helm({ command: ctx.config.tools.helm, kubeconfig: kubeconfigFile(ctx.config) })

async function clusterReachable(ctx: TaskContext): Promise<boolean> {
  if (!fs.existsSync(kubeconfigFile(ctx.config))) return false
  return Boolean(await eksRead(ctx).cluster())
}

export function releasesGoneTask(): Task {
  return {
    title: 'Scalar DL releases uninstalled (the server, then schema loading) and their secrets deleted',
    async check(ctx) {
      if (!(await clusterReachable(ctx))) return { holds: true, detail: 'no cluster' }
      const c = ctx.config.scalardl
      const releases = (await helm(ctx).list(c.namespace)).filter((r) => [c.release, c.schemaRelease].includes(r.name)).map((r) => r.name)
      const k = kubectlFor(ctx)
      const secrets = (await Promise.all([PULL_SECRET, keysSecretName(ctx.config), dbSecretName(ctx.config)].map(async (s) => ((await k.get('secret', s, { namespace: c.namespace })) ? s : undefined)))).filter(Boolean) as string[]
      const left = [...releases.map((r) => `release ${r}`), ...secrets.map((s) => `secret ${s}`)]
      return left.length ? { holds: false, detail: `delete ${left.join(', ')}` } : { holds: true, detail: 'none left' }
    },
    async apply(ctx) {
      const c = ctx.config.scalardl
      const h = helm(ctx)
      for (const r of [c.release, c.schemaRelease]) await h.uninstall(r, c.namespace)
      const k = kubectlFor(ctx)
      for (const s of [PULL_SECRET, keysSecretName(ctx.config), dbSecretName(ctx.config)]) await k.delete('secret', s, { namespace: c.namespace })
      return `uninstalled ${c.release}, ${c.schemaRelease}; deleted the secrets`
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
      if (await eksctl(ctx).getAddon(ctx.config.clusterName, ADDON)) await e.run(['delete', 'addon', '--cluster', ctx.config.clusterName, '--name', ADDON, '--region', ctx.config.region])
      const k = kubectlFor(ctx)
      for (const d of await k.list('daemonsets', { namespace: AGENT_NAMESPACE })) await k.delete('daemonset', d.metadata.name, { namespace: AGENT_NAMESPACE })
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
      for (const g of groups) await e.run(['delete', 'nodegroup', '--cluster', ctx.config.clusterName, '--name', g, '--region', ctx.config.region, '--wait', '--drain=false'])
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
      if (!owned) return { holds: false, conflict: `cluster ${ctx.config.clusterName} does not carry the runbook's tag scalardl-runbook/cluster`, hint: 'the runbook deletes only what it created: delete it yourself if it is yours' }
      return { holds: false, detail: `eksctl delete cluster --name ${ctx.config.clusterName} --wait` }
    },
    async apply(ctx) {
      await eksctl(ctx).run(['delete', 'cluster', '--name', ctx.config.clusterName, '--region', ctx.config.region, '--wait'])
      fs.rmSync(kubeconfigFile(ctx.config), { force: true })
      return `deleted ${ctx.config.clusterName}`
    },
  }
}
