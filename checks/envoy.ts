// Check: the envoy Service is a LoadBalancer with an EXTERNAL-IP (hostname) on its two ports:
// 50051 and 50052 for the Ledger, 40051 and 40052 for the Auditor (checks/auditor.ts).
import { isMain } from '../lib/main.ts'
import { serverApp } from '../lib/scalardl/names.ts'
import type { Check, CheckOutcome, VerifyContext } from '../lib/verify/check.ts'

export async function envoyOutcome(v: VerifyContext): Promise<CheckOutcome> {
  const want = serverApp(v.config) === 'auditor' ? [40051, 40052] : [50051, 50052]
  const name = `${v.fullname}-envoy`
  const svc = (await v.of('Service')).find((s) => s.metadata.name === name)
  if (!svc) return { ok: false, detail: `Service ${name} not found` }
  const problems: string[] = []
  if (svc.spec?.type !== 'LoadBalancer') problems.push(`type ${svc.spec?.type}, not LoadBalancer`)
  const ports = ((svc.spec?.ports ?? []) as { port: number }[]).map((p) => p.port)
  for (const p of want) if (!ports.includes(p)) problems.push(`port ${p} missing`)
  const host = svc.status?.loadBalancer?.ingress?.[0]?.hostname ?? svc.status?.loadBalancer?.ingress?.[0]?.ip
  if (!host) problems.push('EXTERNAL-IP <pending>')
  return problems.length ? { ok: false, detail: `${name}: ${problems.join('; ')}` } : { ok: true, detail: `${name} ${host} :${want.join(',')}` }
}

export const envoyCheck: Check = {
  name: 'envoy',
  title: 'Envoy load balancer with an EXTERNAL-IP on 50051 and 50052',
  hint: 'a pending EXTERNAL-IP means the load balancer is not provisioned: check the Service events (kubectl describe svc) and the subnet tags of 01-vpc (RUNBOOK.md, 07-verify: envoy)',
  run: envoyOutcome,
}

if (isMain(import.meta.url, 'envoy')) await (await import('../lib/verify/runner.ts')).verify([envoyCheck])
