// One typed error for failed external commands, and the hints shown for failures.
import { redactText } from './redact.ts'

export class CommandError extends Error {
  constructor(
    /** The command line, with secrets redacted. */
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly hint?: string,
  ) {
    super(`${command} exited ${exitCode ?? 'by signal'}: ${excerpt(stderr) || '(no error output)'}`)
    this.name = 'CommandError'
  }
}

/** The last few meaningful lines of an error output, redacted. */
function excerpt(text: string, maxLines = 6, maxChars = 600): string {
  const lines = redactText(text)
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
  // AWS's causes are named *Exception (eksctl's `[✖]  ResourceInUseException: ...`): kept with the rest.
  const picked = lines.filter((l) =>
    /(error|fail|denied|not found|invalid|refused|cannot|unable|exception|already|timed out|exceeded)/i.test(l),
  )
  const out = (picked.length ? picked : lines).slice(-maxLines).join('\n')
  return out.length > maxChars ? out.slice(0, maxChars) + '…' : out
}

interface AwsLikeError {
  name?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  $fault?: string
}

const AWS_HINTS: [RegExp, string][] = [
  [
    /CredentialsProviderError|Could not load credentials|ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch/,
    'check the AWS credentials: set AWS_PROFILE (and run `aws sso login` if it uses SSO) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; `aws sts get-caller-identity` must work',
  ],
  [
    /UnauthorizedOperation|AccessDenied|AuthFailure|NotAuthorized/,
    'the AWS identity lacks a permission for this call: grant the action the failed call names (RUNBOOK.md lists the IAM permissions of 01-vpc and 02-database)',
  ],
  [
    /LimitExceeded|QuotaExceeded/,
    'an account quota is reached: release unused resources or request a quota increase (Service Quotas console), then rerun the step',
  ],
  [
    /RequestLimitExceeded|Throttling|TooManyRequests/,
    'AWS throttled the calls: wait a minute and rerun the step; it continues where it stopped',
  ],
  [
    /InsufficientInstanceCapacity|Unsupported/,
    'the instance type is not available in this AZ right now: choose another type in .env or rerun later',
  ],
  [/DependencyViolation/, 'another resource still uses this one; it is usually released within minutes: rerun the step'],
  [
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|socket hang up|NetworkingError/,
    'the AWS endpoint cannot be reached: check network access from this host (proxy, VPC endpoints) and AWS_ENDPOINT_URL',
  ],
]

function awsHint(err: unknown): string | undefined {
  const e = err as AwsLikeError
  const text = `${e?.name ?? ''} ${e?.message ?? ''}`
  for (const [re, hint] of AWS_HINTS) if (re.test(text)) return hint
  if (e?.$metadata?.httpStatusCode && e.$metadata.httpStatusCode >= 500)
    return 'AWS returned a server error: rerun the step; it continues where it stopped'
  return undefined
}

/** A one-line description of any error, redacted. */
export function describeError(err: unknown): string {
  if (err instanceof CommandError) return err.message
  const e = err as AwsLikeError & { operation?: string }
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : ''
  const op = e?.operation ? `${e.operation} failed: ` : ''
  return redactText(`${op}${name}${e?.message ?? String(err)}`)
}

export function hintFor(err: unknown, fallback?: string): string | undefined {
  // A hint the runbook wrote for this very failure beats one guessed from the message.
  const own = (err as { hint?: unknown } | undefined)?.hint
  if (typeof own === 'string' && own) return own
  return awsHint(err) ?? fallback
}

/** An error that carries its own hint for the operator. */
export class RunbookError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
    this.name = 'RunbookError'
  }
}
