// The verification's building blocks: a check reads live state and says pass or fail, with a
// precise detail and, when it fails, what to do (its ONCALL.md section).
import { AwsSession } from '../aws/clients.ts'
import type { Config } from '../config/load.ts'
import { kubeAccess } from '../eks/cluster-config.ts'
import { Helm } from '../tools/helm.ts'
import { Kubectl, type KubeObject } from '../tools/kubectl.ts'
import { podProblem as judgePod } from '../tools/pod-health.ts'
import { auditorView } from '../auditor/view.ts'
import { scalardlFullname } from '../scalardl/names.ts'

type CheckStatus = 'pass' | 'fail' | 'error'

export interface CheckOutcome {
  ok: boolean
  detail: string
}

export interface Check {
  name: string
  title: string
  /** What on-call should do when it fails; names its ONCALL.md section, "Check: <name>". */
  hint: string
  /** Whether the check belongs to this deployment (e.g. the Auditor's only with AUDITOR_ENABLED); default yes. */
  applies?(config: Config): boolean
  run(v: VerifyContext): Promise<CheckOutcome>
}

export interface CheckResult {
  name: string
  status: CheckStatus
  detail: string
  hint: string
  durationMs: number
}

/** Shared, memoized reads: one kubectl call for the nodes and the namespace's workloads. */
export class VerifyContext {
  readonly aws: AwsSession
  readonly kubectl: Kubectl
  readonly helm: Helm
  private snapshot?: Promise<KubeObject[]>
  private auditorContext?: VerifyContext

  constructor(
    readonly config: Config,
    aws?: AwsSession,
  ) {
    this.aws = aws ?? new AwsSession(config.region, true) // verification never mutates
    this.kubectl = new Kubectl({ command: config.tools.kubectl, kubeconfig: kubeAccess(config) })
    this.helm = new Helm({ command: config.tools.helm, kubeconfig: kubeAccess(config) })
  }

  /** Nodes, Pods, Jobs and Services of the Scalar DL namespace, in one call. */
  cluster(): Promise<KubeObject[]> {
    this.snapshot ??= this.kubectl.list('nodes,pods,jobs,services', { namespace: this.config.scalardl.namespace })
    return this.snapshot
  }

  async of(kind: string): Promise<KubeObject[]> {
    return (await this.cluster()).filter((o) => o.kind === kind)
  }

  /** The same reads on the Auditor's cluster (05-auditor), sharing the AWS session. */
  auditor(): VerifyContext {
    this.auditorContext ??= new VerifyContext(auditorView(this.config), this.aws)
    return this.auditorContext
  }

  /** The chart's fullname for the Scalar DL release. */
  get fullname(): string {
    return scalardlFullname(this.config)
  }
}

export { isReady } from '../tools/pod-health.ts'

/** Why a Pod is not Running and Ready, in kubectl's words (the one judge: lib/tools/pod-health.ts, as 04's rollout). */
export const podProblem = (p: KubeObject): string | undefined => judgePod(p)?.reason
