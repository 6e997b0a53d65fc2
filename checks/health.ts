// Check: a request through the front door. gRPC health checking (grpc.health.v1.Health/Check)
// through the envoy load balancer's hostname, on the client and the privileged port (50051 and
// 50052 for the Ledger; 40051 and 40052 for the Auditor, checks/auditor.ts), with the answer and
// its latency. The other checks read Kubernetes and AWS objects; only this one shows that Envoy
// has a Ledger behind it (the Ledger's headless Service selecting a Ready Pod). The load balancer is
// internal (config/scalardl-custom-values.yaml): from a machine outside its VPC, or a VPC not
// peered with it, the check says it was not asked from there, and why, instead of failing.
import { DescribeVpcPeeringConnectionsCommand } from '@aws-sdk/client-ec2'
import { whereAmI } from '../lib/aws/imds.ts'
import { findLoadBalancer, isInTreeNlb, nlbName } from '../lib/aws/load-balancers.ts'
import { isMain } from '../lib/engine/main.ts'
import { serverApp } from '../lib/scalardl/names.ts'
import type { Check, CheckOutcome, VerifyContext } from '../lib/verify/check.ts'
import { healthCheck, resolveHost } from '../lib/verify/grpc-health.ts'
import type { KubeObject } from '../lib/tools/kubectl.ts'

/** Each call's deadline: well inside the check's own timeout, both ports at once. */
const DEADLINE_MS = Number(process.env.VERIFY_GRPC_DEADLINE_MS ?? 5000)

let here: ReturnType<typeof whereAmI> | undefined

/** Whether this machine can reach the Service's load balancer: `why` when it cannot. */
async function reach(v: VerifyContext, svc: KubeObject): Promise<{ why?: string }> {
  if (!isInTreeNlb(svc)) return {}
  const lb = await findLoadBalancer(v.aws.elb, nlbName(String(svc.metadata.uid)))
  if (lb?.Scheme !== 'internal') return {}
  here ??= whereAmI()
  const me = await here
  // IMDS disabled: the runbook cannot tell where it runs, so it asks, and a failure is a failure.
  if (!me.known) return {}
  if (!me.instanceId)
    return {
      why: `the load balancer is internal (in ${lb.VpcId}) and this machine is not in AWS; ask from the bastion: npm run bastion -- run 07-verify`,
    }
  if (me.vpcId === lb.VpcId) return {}
  const peered =
    (
      await v.aws.ec2.send(
        new DescribeVpcPeeringConnectionsCommand({
          Filters: [
            { Name: 'status-code', Values: ['active'] },
            { Name: 'requester-vpc-info.vpc-id', Values: [me.vpcId!, lb.VpcId!] },
            { Name: 'accepter-vpc-info.vpc-id', Values: [me.vpcId!, lb.VpcId!] },
          ],
        }),
      )
    ).VpcPeeringConnections ?? []
  const linked = peered.some((p) => new Set([p.RequesterVpcInfo?.VpcId, p.AccepterVpcInfo?.VpcId]).size === 2)
  return linked
    ? {}
    : { why: `the load balancer is internal (in ${lb.VpcId}) and this instance is in ${me.vpcId}, which is not peered with it` }
}

export async function frontDoorOutcome(v: VerifyContext): Promise<CheckOutcome> {
  const ports = serverApp(v.config) === 'auditor' ? [40051, 40052] : [50051, 50052]
  const name = `${v.fullname}-envoy`
  const svc = (await v.of('Service')).find((s) => s.metadata.name === name)
  if (!svc) return { ok: false, detail: `Service ${name} not found: there is no front door to ask` }
  const host = svc.status?.loadBalancer?.ingress?.[0]?.hostname ?? svc.status?.loadBalancer?.ingress?.[0]?.ip
  if (!host) return { ok: false, detail: `${name} has no EXTERNAL-IP yet: there is no front door to ask` }
  const { why } = await reach(v, svc)
  if (why) return { ok: true, detail: `not asked from here: ${why}` }
  const resolved = await resolveHost(host)
  if ('error' in resolved) return { ok: false, detail: resolved.error }
  const answers = await Promise.all(ports.map((p) => healthCheck(host, resolved.addresses, p, DEADLINE_MS)))
  const said = answers.map((a) => `:${a.port} ${a.status ?? a.error} in ${a.ms} ms`).join(', ')
  const ok = answers.every((a) => a.status === 'SERVING')
  return { ok, detail: `grpc.health.v1.Health/Check through ${host}: ${said}` }
}

export const frontDoorCheck: Check = {
  name: 'health',
  title: 'A gRPC health check through the envoy load balancer answers SERVING on 50051 and 50052',
  hint: 'UNAVAILABLE "no healthy upstream": Envoy has no Ready Ledger behind it (kubectl get endpoints <release>-headless; kubectl get pods -l app.kubernetes.io/app=ledger); no connection or DEADLINE_EXCEEDED: no ready Envoy behind the load balancer (see the envoy check; kubectl get pods -l app.kubernetes.io/app=envoy) (ONCALL.md, "Check: health")',
  run: frontDoorOutcome,
}

if (isMain(import.meta.url, 'health')) await (await import('../lib/verify/runner.ts')).verify([frontDoorCheck])
