// "Already exists" is decided here: by the runbook's tags, one match or none. More than one is
// never resolved silently (it would mean a duplicate was made), and the ids are named.
import { createHash } from 'node:crypto'
import { RunbookError } from '../engine/errors.ts'

export function single<T>(items: T[], what: string, id: (t: T) => string | undefined): T | undefined {
  if (items.length > 1) {
    throw new RunbookError(
      `found ${items.length} ${what} tagged for this cluster (${items.map(id).join(', ')}); expected one`,
      `keep one and delete the others by hand (the runbook never deletes what it cannot tell apart), then rerun`,
    )
  }
  return items[0]
}

/**
 * An idempotency token for APIs that take one (RunInstances, CreateNatGateway, CreateVpcEndpoint,
 * CreateRouteTable), made from the request itself: a retried or replayed call returns the first
 * call's resource instead of a second one, and a request with other parameters (a newer AMI, other
 * route tables) gets another token, since EC2 answers a used token with other parameters
 * IdempotentParameterMismatch for at least 24 hours
 * (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html). The request's ids
 * change when the environment is rebuilt, so a rebuild after teardown is not mistaken for a replay;
 * `generation` makes the next token of a series when a token answers a resource that is gone.
 */
export function requestToken(input: object, generation = 0): string {
  return clientToken(stableJson(input), ...(generation ? [String(generation)] : []))
}

/** JSON with object keys in one order, so that the same request always reads the same. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (v && typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`)
      .join(',')}}`
  return JSON.stringify(v)
}

function clientToken(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32)
}
