// Check: the envoy Service is a LoadBalancer with an EXTERNAL-IP (hostname) on its two ports:
// 50051 and 50052 for the Ledger, 40051 and 40052 for the Auditor (checks/auditor.ts); its NLB is
// active with healthy targets; and no security group of the cluster's VPC opens its NodePorts to
// the whole internet (EKS's built-in controller does so unless the Service names source ranges).
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2'
import { isInTreeNlb, nlbState } from '../lib/aws/load-balancers.ts'
import { findVpc } from '../lib/aws/vpc.ts'
import { isMain } from '../lib/engine/main.ts'
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
  const nodePorts = ((svc.spec?.ports ?? []) as { nodePort?: number }[]).map((p) => p.nodePort).filter((p): p is number => Boolean(p))
  const [nlb, open] = await Promise.all([
    host && isInTreeNlb(svc) ? nlbState(v.aws.elb, String(svc.metadata.uid)) : undefined,
    openToWorld(v, nodePorts),
  ])
  if (nlb && !nlb.ready) problems.push(nlb.status)
  problems.push(...open)
  const ranges = (svc.metadata.annotations as Record<string, string> | undefined)?.[
    'service.beta.kubernetes.io/load-balancer-source-ranges'
  ]
  return problems.length
    ? { ok: false, detail: `${name}: ${problems.join('; ')}` }
    : {
        ok: true,
        detail: `${name} ${host} :${want.join(',')}${nlb ? ` (${nlb.status})` : ''}, admits ${ranges ?? 'everyone (no source ranges)'}`,
      }
}

/** Rules in the cluster VPC's security groups that admit 0.0.0.0/0 (or ::/0) to one of the envoy's NodePorts. */
async function openToWorld(v: VerifyContext, nodePorts: number[]): Promise<string[]> {
  if (!nodePorts.length) return []
  const vpc = await findVpc(v.aws.ec2, v.config.clusterName)
  if (!vpc) return []
  const groups =
    (await v.aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.VpcId!] }] }))).SecurityGroups ?? []
  const found: string[] = []
  for (const g of groups) {
    for (const p of g.IpPermissions ?? []) {
      const covers = (port: number) =>
        p.IpProtocol === '-1' || (['tcp', '6'].includes(p.IpProtocol ?? '') && (p.FromPort ?? 0) <= port && port <= (p.ToPort ?? 65535))
      const world = [
        ...(p.IpRanges ?? []).filter((r) => r.CidrIp === '0.0.0.0/0').map((r) => ({ cidr: r.CidrIp, d: r.Description })),
        ...(p.Ipv6Ranges ?? []).filter((r) => r.CidrIpv6 === '::/0').map((r) => ({ cidr: r.CidrIpv6, d: r.Description })),
      ]
      for (const port of nodePorts.filter(covers))
        for (const w of world) found.push(`NodePort ${port} open to ${w.cidr} in ${g.GroupId} (${g.GroupName}${w.d ? `, ${w.d}` : ''})`)
    }
  }
  return found
}

export const envoyCheck: Check = {
  name: 'envoy',
  title: 'Envoy load balancer with an EXTERNAL-IP on 50051 and 50052, active with healthy targets, not open to 0.0.0.0/0',
  hint: 'a pending EXTERNAL-IP means the load balancer is not provisioned: check the Service events (kubectl describe svc) and the subnet tags of 01-vpc; unhealthy targets mean no ready envoy Pod; NodePorts open to 0.0.0.0/0 mean the Service lost its source ranges: rerun 04-scalardl (ONCALL.md, "Check: envoy")',
  run: envoyOutcome,
}

if (isMain(import.meta.url, 'envoy')) await (await import('../lib/verify/runner.ts')).verify([envoyCheck])
