// The start-up of the Scalar DL Ledger and Auditor containers: the properties file the entrypoint
// renders (dockerize over the mounted template, then ScalarDL's `${env:...}` substitution), and the
// checks that stop the server before it serves (its log says why; the kubelet then restarts it).
import { containerEnv, containerFiles, dockerize, dynamoCredentialsProblem, scalarProperties, type Container } from './containers.ts'
import type { Obj, Store } from './store.ts'

type ServerKind = 'ledger' | 'auditor'

/** The Ledger and Auditor images (ghcr.io/scalar-labs/scalardl-ledger[-byol], scalardl-auditor-byol, the Azure ones). */
export function serverKind(image: string): ServerKind | undefined {
  if (/scalardl-ledger/.test(image)) return 'ledger'
  if (/scalardl-auditor/.test(image)) return 'auditor'
  return undefined
}

/** Where the image reads its template (scalardl v3.13.0 ledger/Dockerfile:34-36,51: /scalar/ledger/ledger.properties.tmpl). */
const TEMPLATE: Record<ServerKind, string> = {
  ledger: '/scalar/ledger/ledger.properties.tmpl',
  auditor: '/scalar/auditor/auditor.properties.tmpl',
}
/** The image's own template when the chart mounts none (ledger/conf/ledger.properties.tmpl: SCALAR_* variables), the keys checked here. */
const IMAGE_TEMPLATE = (k: ServerKind) =>
  ['contact_points', 'username', 'password', 'storage']
    .map((p) => `scalar.db.${p}={{ default .Env.SCALAR_DB_${p.toUpperCase()} "" }}`)
    .join('\n') +
  (k === 'ledger'
    ? '\nscalar.dl.ledger.proof.enabled={{ default .Env.SCALAR_DL_LEDGER_PROOF_ENABLED "" }}\nscalar.dl.ledger.auditor.enabled={{ default .Env.SCALAR_DL_LEDGER_AUDITOR_ENABLED "" }}\nscalar.dl.ledger.proof.private_key_path={{ default .Env.SCALAR_DL_LEDGER_PROOF_PRIVATE_KEY_PATH "" }}'
    : '')

interface Startup {
  ok: boolean
  /** What the process prints (kubectl logs). */
  log: string
}

/** ConfigUtils.getBoolean (v3.13.0 ConfigUtils.java:110-118): empty is the default; anything but true/false is refused. */
function bool(props: Record<string, string>, key: string, fallback: boolean): boolean | string {
  const v = (props[key] ?? '').trim()
  if (!v) return fallback
  if (/^(true|false)$/i.test(v)) return v.toLowerCase() === 'true'
  return `DL-COMMON-414002: The specified value of the property '${key}' is not a boolean. Value: ${v}`
}

const fail = (log: string): Startup => ({ ok: false, log })

/** Runs the server's start-up as far as its configuration checks: ok, or the error it exits with. */
export function serverStartup(kind: ServerKind, pod: Obj, c: Container, store: Store, registeredDbCredentials: string): Startup {
  const env = containerEnv(pod, c, store)
  if ('error' in env) return fail(env.error)
  const files = containerFiles(pod, c, store)
  const rendered = dockerize(files[TEMPLATE[kind]] ?? IMAGE_TEMPLATE(kind), env.env)
  if ('error' in rendered) return fail(`dockerize: ${rendered.error}`)
  const props = scalarProperties(rendered.text, env.env, true)
  const readable = (key: string): string | undefined => {
    const path = props[key]
    return path && !(path in files) ? `java.io.UncheckedIOException: DL-COMMON-414003: Reading the file failed. File: ${path}` : undefined
  }
  if (kind === 'ledger') {
    // ledger/src/main/java/com/scalar/dl/ledger/config/LedgerConfig.java@v3.13.0:512-535 (LedgerError.java:123-142)
    const proof = bool(props, 'scalar.dl.ledger.proof.enabled', false)
    const auditor = bool(props, 'scalar.dl.ledger.auditor.enabled', false)
    for (const b of [proof, auditor]) if (typeof b === 'string') return fail(`java.lang.IllegalArgumentException: ${b}`)
    const hasKey = Boolean(props['scalar.dl.ledger.proof.private_key_path'] || props['scalar.dl.ledger.proof.private_key_pem'])
    if (auditor && !proof)
      return fail(
        'java.lang.IllegalArgumentException: DL-LEDGER-414002: scalar.dl.ledger.proof.enabled must be set to true if Auditor is enabled.',
      )
    if (auditor && !hasKey)
      return fail(
        'java.lang.IllegalArgumentException: DL-LEDGER-414003: Authentication between Ledger and Auditor is not correctly configured. Set a private key with scalar.dl.ledger.proof.private_key_path or scalar.dl.ledger.proof.private_key_pem if you use digital signature authentication with Auditor enabled.',
      )
    if (proof && !hasKey)
      return fail(
        'java.lang.IllegalArgumentException: DL-LEDGER-414005: Either scalar.dl.ledger.proof.private_key_path or scalar.dl.ledger.proof.private_key_pem must be set if proof is enabled.',
      )
    const unreadable = readable('scalar.dl.ledger.proof.private_key_path')
    if (unreadable) return fail(unreadable)
  } else {
    // The Auditor (scalardl-auditor-byol) is ScalarDL Enterprise: it checks its licence first
    // (common/.../error/CommonError.java@v3.13.0:210-233; docs-scalardl docs/scalar-licensing/index.mdx:11).
    const key = props['scalar.dl.licensing.license_key']
    if (!key || /\$\{env:/.test(key))
      return fail('java.lang.IllegalArgumentException: DL-COMMON-414004: Please set your license key to scalar.dl.licensing.license_key.')
    if (!props['scalar.dl.licensing.license_check_cert_pem'] && !props['scalar.dl.licensing.license_check_cert_path'])
      return fail(
        'java.lang.IllegalArgumentException: DL-COMMON-414005: Please set your certificate for checking the corresponding license key to scalar.dl.licensing.license_check_cert_pem or scalar.dl.licensing.license_check_cert_path.',
      )
    let licence: { product_name?: string; license_type?: string } = {}
    try {
      licence = JSON.parse(key)
    } catch {
      // not a licence key at all
    }
    if (licence.product_name !== 'ScalarDL Auditor')
      return fail(
        "java.lang.IllegalArgumentException: DL-COMMON-414006: The license key is not for the product 'ScalarDL Auditor'. Please set the correct license key.",
      )
    if (!/^(enterprise|trial)$/i.test(licence.license_type ?? ''))
      return fail(
        'java.lang.IllegalArgumentException: DL-COMMON-414007: The license type of the license key must be ENTERPRISE or TRIAL. Please set the correct license key.',
      )
    for (const k of ['scalar.dl.auditor.private_key_path', 'scalar.dl.auditor.cert_path']) {
      if (!props[k]) return fail('java.lang.IllegalArgumentException: DL-COMMON-414009: The private key and certificate are required.') // CommonError.java:240-245
      const unreadable = readable(k)
      if (unreadable) return fail(unreadable)
    }
  }
  // ScalarDB: the storage it connects to, then the credentials DynamoDB checks on the first call.
  if (props['scalar.db.storage'] !== 'dynamo')
    return fail(
      `com.scalar.db.exception.storage.ConnectionException: cannot connect to ${props['scalar.db.storage'] || 'cassandra'} at ${props['scalar.db.contact_points'] || '(no contact points)'}: only DynamoDB is simulated`,
    )
  const creds = dynamoCredentialsProblem(props['scalar.db.username'], props['scalar.db.password'], registeredDbCredentials)
  if (creds) return fail(`com.scalar.db.exception.storage.ExecutionException: ${creds}`)
  return {
    ok: true,
    log: `ScalarDL ${kind === 'ledger' ? 'Ledger' : 'Auditor'} started, listening on ${kind === 'ledger' ? 50051 : 40051}`,
  }
}
