// IAM's policy evaluation for one request, as the IAM user guide describes it ("Policy evaluation
// logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
// an explicit Deny in any policy wins; else an Allow in an identity-based policy is needed; and
// where a permissions boundary is set, the boundary must allow the request too. Action and
// Resource match with the wildcards * and ? (actions case-insensitively, resources as written:
// reference_policies_elements_action.html, _resource.html); NotAction and NotResource invert
// them. Conditions are evaluated for the operators and keys listed in CONDITIONS; a condition on a
// key the request does not carry is false, as IAM treats a missing key
// (reference_policies_condition-single-vs-multi-valued-context-keys.html), except where the
// simulator cannot know the key (KNOWN_UNKNOWABLE), which it does not judge.

interface Statement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
  Condition?: Record<string, Record<string, string | string[] | boolean>>
}

export interface PolicyDocument {
  Version?: string
  Statement: Statement | Statement[]
}

export interface Request {
  /** service:Action, e.g. iam:CreateRole */
  action: string
  /** The resource's ARN, or '*' where the action takes no resource or the simulator cannot tell which. */
  resource: string
  /** Context keys the request carries (lower-cased names), e.g. iam:permissionsboundary. */
  context: Record<string, string | string[]>
}

type Decision = 'allow' | 'explicit-deny' | 'implicit-deny'

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

/** IAM's wildcard match: * any run of characters, ? one character. */
export function wildcard(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
      .join('')}$`,
    caseInsensitive ? 'is' : 's',
  )
  return re.test(value)
}

/**
 * Context keys whose value the simulator's AWS layer cannot know for a request (tags of resources
 * it does not read, the service a KMS call comes through): conditions on them are not judged.
 */
/** The context key by which a request says its resource's tags were read (aws:ResourceTag/... are then judged). */
export const RESOURCE_TAGS_KNOWN = 'sim:resourcetagsknown'

const KNOWN_UNKNOWABLE = /^(aws:resourcetag\/|ssm:resourcetag\/|ec2:resourcetag\/|kms:viaservice$|aws:calledvia)/i

/** The condition operators judged: string and ARN equality and likeness, with IfExists and Not. */
function conditionHolds(operator: string, key: string, expected: string[], context: Request['context']): boolean {
  const k = key.toLowerCase()
  // Set operators (reference_policies_condition-single-vs-multi-valued-context-keys.html):
  // ForAllValues holds when every value of the key is allowed (also when the key is absent),
  // ForAnyValue when at least one is.
  const set = /^(ForAllValues|ForAnyValue):(.+)$/.exec(operator)
  if (set) {
    const values = k in context ? list(context[k]) : []
    const each = (v: string) => conditionHolds(set[2]!, key, expected, { ...context, [k]: v })
    return set[1] === 'ForAllValues' ? values.every(each) : values.some(each)
  }
  const ifExists = operator.endsWith('IfExists')
  const op = ifExists ? operator.slice(0, -'IfExists'.length) : operator
  // A resource's tags are unknown to the layer unless it read them for this request (it says so with RESOURCE_TAGS_KNOWN).
  const tagsKnown = k.startsWith('aws:resourcetag/') && RESOURCE_TAGS_KNOWN in context
  if (KNOWN_UNKNOWABLE.test(k) && !(k in context) && !tagsKnown) return true
  if (op === 'Null') {
    const absent = !(k in context)
    return expected.some((e) => String(e) === String(absent))
  }
  if (!(k in context)) return ifExists || op.startsWith('StringNot') || op.startsWith('ArnNot')
  const actual = list(context[k])
  const ci = op.includes('IgnoreCase')
  const eq = (e: string, a: string) => (ci ? e.toLowerCase() === a.toLowerCase() : e === a)
  switch (op) {
    case 'StringEquals':
    case 'StringEqualsIgnoreCase':
    case 'ArnEquals':
      return actual.some((a) => expected.some((e) => (op === 'ArnEquals' ? wildcard(e, a) : eq(e, a))))
    case 'StringNotEquals':
    case 'StringNotEqualsIgnoreCase':
    case 'ArnNotEquals':
      return !actual.some((a) => expected.some((e) => (op === 'ArnNotEquals' ? wildcard(e, a) : eq(e, a))))
    case 'StringLike':
    case 'ArnLike':
      return actual.some((a) => expected.some((e) => wildcard(e, a)))
    case 'StringNotLike':
    case 'ArnNotLike':
      return !actual.some((a) => expected.some((e) => wildcard(e, a)))
    case 'Bool':
      return actual.some((a) => expected.some((e) => String(e).toLowerCase() === a.toLowerCase()))
    default:
      // An operator the simulator does not judge (numeric, date, IP): not modelled, so not refused.
      return true
  }
}

function statementApplies(st: Statement, r: Request): boolean {
  const actionOk =
    st.Action !== undefined
      ? list(st.Action).some((a) => wildcard(a, r.action, true))
      : !list(st.NotAction).some((a) => wildcard(a, r.action, true))
  if (!actionOk) return false
  const resourceOk =
    st.Resource !== undefined
      ? list(st.Resource).some((p) => p === '*' || (r.resource !== '*' && wildcard(p, r.resource)) || r.resource === '?')
      : !list(st.NotResource).some((p) => r.resource !== '*' && r.resource !== '?' && wildcard(p, r.resource))
  if (!resourceOk) return false
  for (const [operator, keys] of Object.entries(st.Condition ?? {}))
    for (const [key, v] of Object.entries(keys))
      if (!conditionHolds(operator, key, list(v as string | string[]).map(String), r.context)) return false
  return true
}

/** What a set of policies says of a request: an explicit deny, an allow, or nothing (implicit deny). */
function decide(policies: PolicyDocument[], r: Request): Decision {
  let allowed = false
  for (const p of policies)
    for (const st of list(p.Statement as never) as unknown as Statement[]) {
      if (!statementApplies(st, r)) continue
      if (st.Effect === 'Deny') return 'explicit-deny'
      allowed = true
    }
  return allowed ? 'allow' : 'implicit-deny'
}

/** The identity's policies and its permissions boundary (if any) together, as IAM evaluates them for one account. */
export function evaluate(identity: PolicyDocument[], boundary: PolicyDocument | undefined, r: Request): Decision {
  const d = decide(identity, r)
  if (d !== 'allow' || !boundary) return d
  const b = decide([boundary], r)
  return b === 'allow' ? 'allow' : b
}
