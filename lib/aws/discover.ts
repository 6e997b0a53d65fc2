// "Already exists" is decided here: by the runbook's tags, one match or none. More than one is
// never resolved silently (it would mean a duplicate was made), and the ids are named.
import { createHash } from 'node:crypto'
import { RunbookError } from '../errors.ts'

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
 * CreateRouteTable): a retried or replayed call returns the first call's resource instead of a
 * second one. Derived from ids that change when the environment is rebuilt, so a rebuild after
 * teardown is not mistaken for a replay.
 */
export function clientToken(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32)
}
