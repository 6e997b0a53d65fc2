// Secret redaction for everything that leaves the process: logs, journal, error messages.
// Two layers: values registered at run time (exact match) and patterns of well-known secrets.

const MASK = '***'
const registered = new Set<string>()

/** Keys whose values are always secret, wherever they appear in an object. */
export const SECRET_KEY = /(pass(word|wd)?|secret|token|private[-_]?key|credential|session[-_]?key|licen[cs]e[-_]?key|pat)$/i

const PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g,
  /\b(A3T[A-Z0-9]|AKIA|ASIA)[A-Z0-9]{16}\b/g,
  /((?:aws_secret_access_key|aws_session_token|password|secret|token)\s*[=:]\s*)("?)[^\s"',;]+\2/gi,
]

/** Remember a secret value so that it is masked wherever it appears later. */
export function registerSecret(value: string | undefined): void {
  // Short values (under 8 characters) are too likely to occur in names and paths to be masked or refused.
  if (value && value.length >= 8) registered.add(value)
}

/** Registers the secrets the AWS SDK and the runbook read from the environment. */
export function registerEnvSecrets(env: NodeJS.ProcessEnv = process.env): void {
  for (const [key, value] of Object.entries(env)) {
    if (value && SECRET_KEY.test(key) && !/_FILE$/.test(key)) registerSecret(value)
  }
}

/** The registered secret values, for guards such as "never on a command line". */
export function registeredSecrets(): string[] {
  return [...registered]
}

export function redactText(text: string): string {
  let out = text
  for (const value of registered) out = out.split(value).join(MASK)
  for (const re of PATTERNS) {
    out = out.replace(re, (_m, ...groups) => {
      const prefix = typeof groups[0] === 'string' && re.source.startsWith('((?:aws') ? groups[0] : ''
      return prefix + MASK
    })
  }
  return out
}

/** Deep copy with secret-named keys masked and secret-looking strings redacted. */
export function redact<T>(value: T): T {
  return walk(value, undefined) as T
}

function walk(value: unknown, key: string | undefined): unknown {
  if (typeof value === 'string') return key && SECRET_KEY.test(key) ? MASK : redactText(value)
  if (Array.isArray(value)) return value.map((v) => walk(v, undefined))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, k)
    return out
  }
  return value
}
