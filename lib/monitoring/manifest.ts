// CONTAINER_INSIGHTS=manifest: the DaemonSets of config/cloudwatch-quickstart.yaml, filled in for
// this cluster and given the Scalar DL toleration, applied only when absent or different.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { POOL_TAINT } from '../eks/cluster-config.ts'
import { kubectlFor } from '../eks/tasks.ts'
import { Eksctl } from '../eksctl.ts'
import type { Task, TaskContext } from '../task.ts'
import { ROOT } from '../root.ts'

const TEMPLATE = path.join(ROOT, 'config', 'cloudwatch-quickstart.yaml')
const HASH = 'scalardl-runbook/rendered-hash'
const RESOURCE: Record<string, string> = {
  Namespace: 'namespace',
  ServiceAccount: 'serviceaccount',
  ConfigMap: 'configmap',
  DaemonSet: 'daemonset',
}

export function renderQuickstart(ctx: TaskContext): any[] {
  const text = fs
    .readFileSync(TEMPLATE, 'utf8')
    .replaceAll('{{cluster_name}}', ctx.config.clusterName)
    .replaceAll('{{region_name}}', ctx.config.region)
  const docs = YAML.parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter(Boolean)
  for (const o of docs) {
    if (o.kind === 'DaemonSet') {
      const spec = o.spec.template.spec
      spec.tolerations = [
        ...(spec.tolerations ?? []),
        { key: POOL_TAINT.key, operator: 'Equal', value: POOL_TAINT.value, effect: POOL_TAINT.effect },
      ]
    }
    const hash = createHash('sha256').update(JSON.stringify(o)).digest('hex').slice(0, 16)
    o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [HASH]: hash }
  }
  return docs
}

export function quickstartTask(): Task {
  return {
    title: 'Container Insights DaemonSets from config/cloudwatch-quickstart.yaml (with the Scalar DL toleration)',
    async check(ctx) {
      const addon = await new Eksctl({ command: ctx.config.tools.eksctl, region: ctx.config.region })
        .getAddon(ctx.config.clusterName, 'amazon-cloudwatch-observability')
        .catch(() => undefined)
      if (addon)
        return {
          holds: false,
          conflict: 'the amazon-cloudwatch-observability add-on is installed: the two would run the agents twice',
          hint: 'use CONTAINER_INSIGHTS=addon, or delete the add-on (eksctl delete addon) first',
        }
      const k = kubectlFor(ctx)
      const stale: string[] = []
      for (const o of renderQuickstart(ctx)) {
        const live = await k.get(RESOURCE[o.kind]!, o.metadata.name, { namespace: o.metadata.namespace })
        if ((live?.metadata.annotations as Record<string, string> | undefined)?.[HASH] !== o.metadata.annotations[HASH])
          stale.push(`${o.kind}/${o.metadata.name}`)
      }
      return stale.length
        ? { holds: false, detail: `apply ${stale.join(', ')}` }
        : { holds: true, detail: 'cloudwatch-agent and fluent-bit DaemonSets as rendered' }
    },
    async apply(ctx) {
      const docs = renderQuickstart(ctx)
      await kubectlFor(ctx).apply(docs.map((d) => YAML.stringify(d)).join('---\n'))
      return `applied ${docs.map((d) => `${d.kind}/${d.metadata.name}`).join(', ')}`
    },
  }
}
