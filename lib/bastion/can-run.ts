// Whether the bastion's role may run the steps, asked of IAM before `npm run bastion -- push` or
// `run` starts anything there: each Allow statement of the operator policy for this configuration
// (lib/iam/operator-policy.ts), simulated for the role with IAM's SimulatePrincipalPolicy (its
// identity policies and its permissions boundary: IAM API reference, API_SimulatePrincipalPolicy),
// one action on one resource of each, with context values that meet the statement's conditions.
// A statement the role is not allowed is named, with the fix, before a step fails half-way there.
import { type ContextEntry, type IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam'
import type { Config } from '../config/load.ts'
import { bastionRoleName } from '../aws/bastion.ts'
import { operatorPolicy, policyScope, type Statement } from '../iam/operator-policy.ts'

/** A concrete value for a pattern: its wildcards filled in. */
const sample = (pattern: string) => pattern.replace(/\*/g, 'probe').replace(/\?/g, 'x')

/** One action on one resource of the statement, and context values that meet its conditions. */
function probeOf(st: Statement): { action: string; resource: string; context: ContextEntry[] } {
  const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource]
  const context: ContextEntry[] = []
  for (const [op, kv] of Object.entries(st.Condition ?? {}))
    for (const [key, values] of Object.entries(kv)) {
      const list = /^For(All|Any)Values:/.test(op)
      context.push({
        ContextKeyName: key,
        ContextKeyValues: list ? values.map(sample) : [sample(values[0]!)],
        ContextKeyType: list ? 'stringList' : 'string',
      })
    }
  return { action: st.Action[0]!, resource: resources[0] === '*' ? '*' : sample(resources[0]!), context }
}

interface Refusal {
  sid: string
  action: string
  resource: string
  decision: string
}

/** The operator policy's statements the bastion's role is not allowed (empty: it may run every step). */
export async function bastionRefusals(iam: IAMClient, c: Config, account: string, partition = 'aws'): Promise<Refusal[]> {
  const role = `arn:${partition}:iam::${account}:role/${bastionRoleName(c.clusterName)}`
  const statements = operatorPolicy(policyScope(c, account)).Statement.filter((s) => s.Effect === 'Allow')
  const out: Refusal[] = []
  // A few at a time: SimulatePrincipalPolicy is throttled like IAM's other APIs.
  for (let i = 0; i < statements.length; i += 4)
    await Promise.all(
      statements.slice(i, i + 4).map(async (st) => {
        const p = probeOf(st)
        const r = await iam.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: role,
            ActionNames: [p.action],
            ResourceArns: [p.resource],
            ContextEntries: p.context.length ? p.context : undefined,
          }),
        )
        const d = r.EvaluationResults?.[0]?.EvalDecision ?? 'implicitDeny'
        if (d !== 'allowed') out.push({ sid: st.Sid, action: p.action, resource: p.resource, decision: d })
      }),
    )
  return out.sort((a, b) => a.sid.localeCompare(b.sid))
}
