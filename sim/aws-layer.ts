// The AWS layer's answers that need no Kubernetes cluster behind them (APIs moto lacks): EKS's
// version calendar and Service Quotas, and Application Auto Scaling's deregistration. The daemon
// puts them in front of moto with the rest; tests that drive moto without a simulated cluster
// (00-preflight) start the layer alone.
import { appAutoScalingHooks } from './app-autoscaling.ts'
import { eksVersionHooks } from './eks-versions.ts'
import { FaultProxy, type AwsHooks } from './faults.ts'
import { serviceQuotaHooks } from './service-quotas.ts'

interface AccountKnobs {
  /** VERSION -> status DescribeClusterVersions gives instead of the calendar's. */
  eksVersionStatus: Record<string, string>
  /** SERVICE/CODE -> the value applied to the account. */
  quotas: Record<string, number>
}

export function accountHooks(knobs: () => AccountKnobs): AwsHooks[] {
  return [eksVersionHooks(() => knobs().eksVersionStatus), serviceQuotaHooks(() => knobs().quotas)]
}

/** The layer alone in front of `motoUrl`: no faults, no pending states. */
export async function startAwsLayer(
  motoUrl: string,
  knobs: AccountKnobs = { eksVersionStatus: {}, quotas: {} },
): Promise<{ url: string; knobs: AccountKnobs; stop(): Promise<void> }> {
  const proxy = new FaultProxy({ target: motoUrl, rate: 0, pendingMs: 0, latencyMs: 0 })
  proxy.hooks.push(...accountHooks(() => knobs), appAutoScalingHooks(motoUrl))
  const url = await proxy.listen()
  return { url, knobs, stop: () => proxy.close() }
}
