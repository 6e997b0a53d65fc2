// The Auditor is deployed with the Ledger's own tasks (01's network, 02's endpoint, 03's cluster,
// 04's Scalar DL tasks), run against a view of the configuration in which the cluster, the VPC,
// the releases, the chart and the keys are the Auditor's. One place says what differs.
import type { Config } from '../config/load.ts'
import type { Task, TaskContext } from '../engine/task.ts'

export function auditorView(c: Config): Config {
  return {
    ...c,
    clusterName: c.auditor.clusterName,
    vpcCidr: c.auditor.vpcCidr,
    // The Auditor's private API endpoint is reached from the Ledger's bastion, through the peering.
    bastion: { ...c.bastion, enabled: false },
    bastionOf: c.bastion.enabled ? c.clusterName : undefined,
    apiAccessFrom: { cidr: c.vpcCidr, label: 'the Ledger VPC' },
    scalardl: {
      ...c.scalardl,
      app: 'auditor',
      release: c.auditor.release,
      schemaRelease: c.auditor.schemaRelease,
      chartVersion: c.auditor.chartVersion,
      proofEnabled: true, // digital signatures: the Auditor always has its key and certificate
      privateKeyFile: c.auditor.privateKeyFile,
      certificateFile: c.auditor.certificateFile,
    },
  }
}

/** The other Scalar DL VPC's range: the Auditor's in the Ledger's view, the Ledger's (kept in apiAccessFrom above) in the Auditor's. */
export const otherScalarVpcCidr = (c: Config): string =>
  c.scalardl.app === 'auditor' && c.apiAccessFrom ? c.apiAccessFrom.cidr : c.auditor.vpcCidr

/** The Auditor's scope in steps that serve both clusters (06): skipped without AUDITOR_ENABLED. */
export const ifAuditor = <S>(): Scope<S, S> => ({
  label: 'Auditor: ',
  config: auditorView,
  state: (s) => s,
  skip: (c) => (c.auditor.enabled ? undefined : 'no Auditor (AUDITOR_ENABLED=false)'),
})

/** The Ledger's view: the configuration as given. */
export const ledgerView = (c: Config): Config => c

interface Scope<S, T> {
  /** Shown before the task's title, e.g. "Auditor: ". */
  label: string
  config: (c: Config) => Config
  /** The part of the step's state the task works on. */
  state: (s: S) => T
  /** When the scope does not apply (e.g. no Auditor), the task holds with this reason. */
  skip?: (c: Config) => string | undefined
}

/** The same task, run on another cluster's view of the configuration and its own state. */
export function scoped<S, T>(scope: Scope<S, T>, task: Task<T>): Task<S> {
  const view = (ctx: TaskContext): TaskContext => ({ ...ctx, config: scope.config(ctx.config) })
  return {
    title: `${scope.label}${task.title}`,
    hint: task.hint,
    check: async (ctx, s) => {
      const skip = scope.skip?.(ctx.config)
      return skip ? { holds: true, detail: skip } : task.check(view(ctx), scope.state(s))
    },
    ...(task.apply ? { apply: (ctx: TaskContext, s: S, reading: unknown) => task.apply!(view(ctx), scope.state(s), reading) } : {}),
  }
}
