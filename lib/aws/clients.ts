// AWS SDK v3 clients for one run. Every call goes through one middleware that records it (for
// the journal, and so tests can prove a rerun makes no mutating call), names the failed
// operation in errors, and refuses mutating calls in --dry-run as a last line of defence.
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling'
import { CloudFormationClient } from '@aws-sdk/client-cloudformation'
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { EC2Client } from '@aws-sdk/client-ec2'
import { EKSClient } from '@aws-sdk/client-eks'
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import { IAMClient } from '@aws-sdk/client-iam'
import { S3Client } from '@aws-sdk/client-s3'
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas'
import { SSMClient } from '@aws-sdk/client-ssm'
import { GetCallerIdentityCommand, type GetCallerIdentityCommandOutput, STSClient } from '@aws-sdk/client-sts'
import { RunbookError } from '../engine/errors.ts'

interface CallRecord {
  service: string
  operation: string
  mutating: boolean
  ok: boolean
  /** HTTP attempts the SDK made (more than 1: it retried a throttle, a 5xx or a dropped connection). */
  attempts?: number
}

/** Attempts per AWS call (1 + retries) unless AWS_MAX_ATTEMPTS says otherwise. */
export const DEFAULT_MAX_ATTEMPTS = 8

const READ_ONLY = /^(Describe|List|Get|Search|Lookup|BatchGet|Query|Scan|Head|Filter|Simulate)/

/**
 * The comment of an SSM Run Command that only reads on the instance (the bootstrap's marker, a
 * step's log): it changes nothing there, so it is counted as a read and allowed in --dry-run.
 */
export const READ_COMMENT = 'scalardl-runbook read: '

export function isMutating(operation: string, input?: unknown): boolean {
  if (operation === 'SendCommand') {
    const i = input as { Comment?: string; DocumentName?: string } | undefined
    if (i?.DocumentName === 'AWS-RunShellScript' && i.Comment?.startsWith(READ_COMMENT)) return false
  }
  return !READ_ONLY.test(operation)
}

export class DryRunViolation extends RunbookError {
  constructor(operation: string) {
    super(
      `--dry-run refused the mutating call ${operation}`,
      'this is a bug in the runbook: a task called a mutating API in check(); please report it',
    )
    this.name = 'DryRunViolation'
  }
}

interface Stackable {
  middlewareStack: { add: (mw: any, opts: { step: 'initialize'; name: string }) => void }
}

export class AwsSession {
  readonly calls: CallRecord[] = []
  private readonly cache = new Map<string, unknown>()

  constructor(
    readonly region: string,
    /** While true, mutating calls are refused. */
    public dryRun = false,
  ) {}

  /**
   * Retries, chosen deliberately: the SDK's standard mode (exponential backoff with jitter, a
   * longer base for throttling, a retry quota) with more attempts than its default 3, because a
   * step makes hundreds of calls and AWS throttles bursts of Describe calls. AWS_MAX_ATTEMPTS and
   * AWS_RETRY_MODE (e.g. adaptive) override both, as the SDK documents.
   */
  private clientConfig() {
    return {
      region: this.region,
      maxAttempts: Number(process.env.AWS_MAX_ATTEMPTS) || DEFAULT_MAX_ATTEMPTS,
      retryMode: process.env.AWS_RETRY_MODE === 'adaptive' ? 'adaptive' : 'standard',
    }
  }

  private client<T extends Stackable>(name: string, make: () => T): T {
    let c = this.cache.get(name) as T | undefined
    if (!c) {
      c = make()
      this.instrument(c, name)
      this.cache.set(name, c)
    }
    return c
  }

  private instrument(client: Stackable, service: string): void {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '')
        const mutating = isMutating(operation, (args as { input?: unknown })?.input)
        if (mutating && this.dryRun) throw new DryRunViolation(`${service}:${operation}`)
        const record: CallRecord = { service, operation, mutating, ok: false }
        this.calls.push(record)
        try {
          const out = (await next(args)) as { output?: { $metadata?: { attempts?: number } } }
          record.ok = true
          record.attempts = out?.output?.$metadata?.attempts
          return out
        } catch (err) {
          if (err && typeof err === 'object') {
            ;(err as { operation?: string }).operation ??= `${service}:${operation}`
            record.attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts
          }
          throw err
        }
      },
      { step: 'initialize', name: 'runbookCallRecorder' },
    )
  }

  get ec2(): EC2Client {
    return this.client('EC2', () => new EC2Client(this.clientConfig()))
  }
  get dynamodb(): DynamoDBClient {
    return this.client('DynamoDB', () => new DynamoDBClient(this.clientConfig()))
  }
  /** DynamoDB as another principal (the Scalar DL database key), recorded like every call. */
  dynamodbAs(credentials: { accessKeyId: string; secretAccessKey: string }): DynamoDBClient {
    return this.client(`DynamoDB(${credentials.accessKeyId})`, () => new DynamoDBClient({ ...this.clientConfig(), credentials }))
  }
  get sts(): STSClient {
    return this.client('STS', () => new STSClient(this.clientConfig()))
  }
  /** S3 (path-style under a custom endpoint, as local S3 stand-ins need). */
  get s3(): S3Client {
    return this.client('S3', () => new S3Client({ ...this.clientConfig(), forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) }))
  }
  get ssm(): SSMClient {
    return this.client('SSM', () => new SSMClient(this.clientConfig()))
  }
  get logs(): CloudWatchLogsClient {
    return this.client('Logs', () => new CloudWatchLogsClient(this.clientConfig()))
  }
  get cloudwatch(): CloudWatchClient {
    return this.client('CloudWatch', () => new CloudWatchClient(this.clientConfig()))
  }
  /** Application Auto Scaling (the schema loader's scalable targets of the tables). */
  get autoscaling(): ApplicationAutoScalingClient {
    return this.client('ApplicationAutoScaling', () => new ApplicationAutoScalingClient(this.clientConfig()))
  }
  get eks(): EKSClient {
    return this.client('EKS', () => new EKSClient(this.clientConfig()))
  }
  get elb(): ElasticLoadBalancingV2Client {
    return this.client('ELBv2', () => new ElasticLoadBalancingV2Client(this.clientConfig()))
  }
  get iam(): IAMClient {
    return this.client('IAM', () => new IAMClient(this.clientConfig()))
  }
  get cloudformation(): CloudFormationClient {
    return this.client('CloudFormation', () => new CloudFormationClient(this.clientConfig()))
  }
  private caller?: Promise<GetCallerIdentityCommandOutput>
  /** Who this run is (STS GetCallerIdentity), asked once per run: it cannot change while the run lasts. */
  identity(): Promise<GetCallerIdentityCommandOutput> {
    if (!this.caller) {
      this.caller = this.sts.send(new GetCallerIdentityCommand({}))
      this.caller.catch(() => (this.caller = undefined)) // a failed answer is asked again
    }
    return this.caller
  }
  get quotas(): ServiceQuotasClient {
    return this.client('ServiceQuotas', () => new ServiceQuotasClient(this.clientConfig()))
  }

  summary(): { total: number; mutating: number; retried: number; operations: Record<string, number> } {
    const operations: Record<string, number> = {}
    for (const c of this.calls) operations[`${c.service}:${c.operation}`] = (operations[`${c.service}:${c.operation}`] ?? 0) + 1
    const retried = this.calls.reduce((n, c) => n + Math.max(0, (c.attempts ?? 1) - 1), 0)
    return { total: this.calls.length, mutating: this.calls.filter((c) => c.mutating).length, retried, operations }
  }
}

/** Whether an AWS error is the given kind (by name or code), e.g. isAwsError(e, 'NoSuchEntity'). */
export function isAwsError(err: unknown, ...names: string[]): boolean {
  const e = err as { name?: string; Code?: string; code?: string }
  return names.some((n) => e?.name === n || e?.Code === n || e?.code === n)
}
