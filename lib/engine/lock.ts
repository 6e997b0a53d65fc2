// One mutating run per CLUSTER_NAME at a time, across bastions: a lock item in a DynamoDB table
// of the account, written with conditional writes and held with a lease (as Terraform's S3
// backend locks its state in DynamoDB). The holder renews the lease while it runs; a run that
// was killed leaves a lock that expires after its lease, or at once when the holder was on this
// host and its process is gone. `--force-unlock` removes a lock after confirmation. The lock's
// own calls are not counted in the journal's AWS calls: they are not changes to the deployment.
import { randomUUID } from 'node:crypto'
import os from 'node:os'
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  type AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb'
import { DEFAULT_MAX_ATTEMPTS, isAwsError } from '../aws/clients.ts'
import { RunbookError } from './errors.ts'

export const LOCK_TABLE = 'scalardl-runbook-locks'

export interface LockHolder {
  step: string
  holder: string
  host: string
  pid: number
  runId: string
  acquiredAt: number
  expiresAt: number
}

export class LockHeld extends RunbookError {
  constructor(
    readonly cluster: string,
    readonly by: LockHolder,
  ) {
    const since = new Date(by.acquiredAt).toISOString()
    const left = Math.max(0, Math.round((by.expiresAt - Date.now()) / 1000))
    super(
      `another run holds the lock of ${cluster}: ${by.step} by ${by.holder} since ${since} (lease renewed while it runs; expires in ${left} s if it stops)`,
      `wait for that run to finish and rerun; if it is dead, wait ${left} s for its lease, or run this step with --force-unlock (asks for confirmation)`,
    )
    this.name = 'LockHeld'
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const fromItem = (item: Record<string, { S?: string; N?: string }>): LockHolder => ({
  step: item.step?.S ?? '?',
  holder: item.holder?.S ?? '?',
  host: item.host?.S ?? '',
  pid: Number(item.pid?.N ?? 0),
  runId: item.runId?.S ?? '',
  acquiredAt: Number(item.acquiredAt?.N ?? 0),
  expiresAt: Number(item.expiresAt?.N ?? 0),
})

/** No AWS credentials could be found: a configuration problem (exit 2), not a failed task. */
export class NoCredentials extends RunbookError {
  constructor(detail: string) {
    super(
      `no AWS credentials: ${detail}`,
      'set AWS_PROFILE (after aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on the bastion, whose instance role provides them',
    )
    this.name = 'NoCredentials'
  }
}

export class RunLock {
  readonly runId: string
  private timer?: NodeJS.Timeout
  private readonly db: DynamoDBClient

  /** Set when the lock is held by the run this process belongs to (`npm run deploy` holds it for its steps). */
  private inherited = false

  constructor(
    region: string,
    private readonly cluster: string,
    private readonly step: string,
    private readonly leaseMs: number,
    /** RUNBOOK_LOCK_RUN_ID: the run id of a parent run that holds the lock for this process. */
    private readonly parentRunId?: string,
    /** One run id for all the locks of one run (a deployment locks two clusters). */
    runId: string = randomUUID(),
  ) {
    this.runId = runId
    this.db = new DynamoDBClient({ region, maxAttempts: Number(process.env.AWS_MAX_ATTEMPTS) || DEFAULT_MAX_ATTEMPTS })
  }

  private key() {
    return { lockId: { S: this.cluster } }
  }

  private async ensureTable(): Promise<void> {
    try {
      await this.db.send(
        new CreateTableCommand({
          TableName: LOCK_TABLE,
          AttributeDefinitions: [{ AttributeName: 'lockId', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'lockId', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          Tags: [{ Key: 'scalardl-runbook/role', Value: 'lock' }],
        }),
      )
    } catch (e) {
      if (!isAwsError(e, 'ResourceInUseException')) throw e
    }
    await waitUntilTableExists({ client: this.db, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: LOCK_TABLE })
  }

  async current(): Promise<LockHolder | undefined> {
    try {
      const out = await this.db.send(new GetItemCommand({ TableName: LOCK_TABLE, Key: this.key(), ConsistentRead: true }))
      return out.Item ? fromItem(out.Item as never) : undefined
    } catch (e) {
      if (isAwsError(e, 'ResourceNotFoundException')) return undefined
      throw e
    }
  }

  /** Whether the parent run (RUNBOOK_LOCK_RUN_ID) holds this lock: then this process runs under it. */
  async inherits(): Promise<boolean> {
    if (this.parentRunId && (await this.current())?.runId === this.parentRunId) this.inherited = true
    return this.inherited
  }

  /** Takes the lock, or throws LockHeld naming who has it (or why AWS could not be asked). */
  async acquire(): Promise<void> {
    try {
      if (this.inherited || (await this.inherits())) return // the parent renews and releases it
      await this.take()
    } catch (e) {
      if (e instanceof LockHeld) throw e
      if ((e as Error).name === 'CredentialsProviderError' || /Could not load credentials/i.test((e as Error).message))
        throw new NoCredentials((e as Error).message)
      throw new RunbookError(
        `DynamoDB call on the lock table ${LOCK_TABLE} failed: ${(e as Error).message}`,
        'check AWS_REGION, the credentials (aws sts get-caller-identity), the network or AWS_ENDPOINT_URL, and dynamodb:PutItem/GetItem/CreateTable on the lock table',
      )
    }
    // Renew while running; a killed run stops renewing and its lease runs out.
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(1000, this.leaseMs / 3))
    this.timer.unref()
  }

  private async take(): Promise<void> {
    const now = Date.now()
    const item = {
      ...this.key(),
      step: { S: this.step },
      holder: { S: `${os.userInfo().username}@${os.hostname()} pid ${process.pid}` },
      host: { S: os.hostname() },
      pid: { N: String(process.pid) },
      runId: { S: this.runId },
      acquiredAt: { N: String(now) },
      expiresAt: { N: String(now + this.leaseMs) },
    }
    const put = (condition: string, values: Record<string, AttributeValue>) =>
      this.db.send(
        new PutItemCommand({ TableName: LOCK_TABLE, Item: item, ConditionExpression: condition, ExpressionAttributeValues: values }),
      )
    for (let tries = 0; ; tries++) {
      try {
        await put('attribute_not_exists(lockId) OR expiresAt < :now', { ':now': { N: String(now) } })
        break
      } catch (e) {
        if (isAwsError(e, 'ResourceNotFoundException') && tries === 0) {
          await this.ensureTable()
          continue
        }
        if (!(e instanceof ConditionalCheckFailedException) && !isAwsError(e, 'ConditionalCheckFailedException')) throw e
        const by = await this.current()
        if (!by) continue // released in between
        // The holder ran here and its process is gone (killed): its lock is stale now.
        if (by.host === os.hostname() && by.pid !== process.pid && !pidAlive(by.pid) && tries < 3) {
          try {
            await put('runId = :them', { ':them': { S: by.runId } })
            break
          } catch (e2) {
            if (isAwsError(e2, 'ConditionalCheckFailedException')) continue
            throw e2
          }
        }
        throw new LockHeld(this.cluster, by)
      }
    }
  }

  private async renew(): Promise<void> {
    await this.db.send(
      new UpdateItemCommand({
        TableName: LOCK_TABLE,
        Key: this.key(),
        UpdateExpression: 'SET expiresAt = :t',
        ConditionExpression: 'runId = :me',
        ExpressionAttributeValues: { ':t': { N: String(Date.now() + this.leaseMs) }, ':me': { S: this.runId } },
      }),
    )
  }

  /** Gives the lock back (only if it is still ours). */
  async release(): Promise<void> {
    clearInterval(this.timer)
    if (this.inherited) return this.db.destroy()
    try {
      await this.db.send(
        new DeleteItemCommand({
          TableName: LOCK_TABLE,
          Key: this.key(),
          ConditionExpression: 'runId = :me',
          ExpressionAttributeValues: { ':me': { S: this.runId } },
        }),
      )
    } catch (e) {
      if (!isAwsError(e, 'ConditionalCheckFailedException', 'ResourceNotFoundException')) throw e
    } finally {
      this.db.destroy()
    }
  }

  /** Removes whatever lock there is for the cluster (--force-unlock). */
  async forceUnlock(): Promise<LockHolder | undefined> {
    const by = await this.current()
    if (by) await this.db.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: this.key() }))
    this.db.destroy()
    return by
  }
}

/** Takes one run's locks in order (a run may change several clusters); if one cannot be taken, gives back those already taken and rethrows. */
export async function acquireAll(locks: RunLock[]): Promise<void> {
  // Under a parent run, its locks are checked at once (reads); the rest are taken in order.
  await Promise.all(locks.map((l) => l.inherits().catch(() => false)))
  for (const [i, lock] of locks.entries()) {
    try {
      await lock.acquire()
    } catch (err) {
      await Promise.all(locks.slice(0, i).map((l) => l.release().catch(() => undefined)))
      throw err
    }
  }
}
