// What a container sees when it starts, and what the Scalar DL images do with it: the environment
// the kubelet builds (env, envFrom, `$(VAR)` in args), the files its volumes mount, the dockerize
// template step of the images' entrypoints, ScalarDL's `${env:...}` substitution, and the checks
// the Ledger, the Auditor and the schema loader make before they serve.
import type { Obj, Store } from './store.ts'
import { byResource } from './resources.ts'

const SECRETS = byResource('', 'secrets')!
const CONFIGMAPS = byResource('', 'configmaps')!

export interface Container {
  name: string
  image: string
  args?: string[]
  command?: string[]
  env?: {
    name: string
    value?: string
    valueFrom?: {
      secretKeyRef?: { name: string; key: string; optional?: boolean }
      configMapKeyRef?: { name: string; key: string; optional?: boolean }
    }
  }[]
  envFrom?: { secretRef?: { name: string; optional?: boolean }; configMapRef?: { name: string; optional?: boolean }; prefix?: string }[]
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[]
}

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8')

/** Image ENV defaults of the images modelled here (scalar-labs/scalardl v3.13.0 schema-loader/Dockerfile:27). */
function imageEnv(image: string): Record<string, string> {
  return /scalardl-schema-loader/.test(image) ? { SCHEMA_TYPE: 'ledger' } : {}
}

/**
 * The container's environment as the kubelet builds it (kubernetes v1.32.0
 * pkg/kubelet/kubelet_pods.go makeEnvironmentVariables): image ENV, then envFrom (in order), then
 * env (which wins); a missing Secret, or a missing key of a secretKeyRef, is an error unless optional.
 */
export function containerEnv(pod: Obj, c: Container, store: Store): { env: Record<string, string> } | { error: string } {
  const ns = pod.metadata.namespace
  const env: Record<string, string> = { ...imageEnv(c.image) }
  for (const from of c.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef
    if (!ref) continue
    const obj = from.secretRef ? store.get(SECRETS, ns, ref.name) : store.get(CONFIGMAPS, ns, ref.name)
    if (!obj) {
      if (ref.optional) continue
      return { error: `${from.secretRef ? 'secret' : 'configmap'} "${ref.name}" not found` }
    }
    for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>))
      env[(from.prefix ?? '') + k] = from.secretRef ? decode(v) : v
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env)
    else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
      const ref = (e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef)!
      const secret = Boolean(e.valueFrom.secretKeyRef)
      const obj = secret ? store.get(SECRETS, ns, ref.name) : store.get(CONFIGMAPS, ns, ref.name)
      const raw = obj?.data?.[ref.key] as string | undefined
      if (raw === undefined) {
        if (ref.optional) continue
        return {
          error: obj
            ? `couldn't find key ${ref.key} in ${secret ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`
            : `${secret ? 'secret' : 'configmap'} "${ref.name}" not found`,
        }
      }
      env[e.name] = secret ? decode(raw) : raw
    } else env[e.name] = ''
  }
  return { env }
}

/** `$(VAR)` in args and env values (kubernetes third_party/forked/golang/expansion): unknown stays as written. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string) => (name in env ? env[name]! : all))
}

/** The files the container's volume mounts show: path -> content (Secrets and ConfigMaps). */
export function containerFiles(pod: Obj, c: Container, store: Store): Record<string, string> {
  const ns = pod.metadata.namespace
  const files: Record<string, string> = {}
  for (const m of c.volumeMounts ?? []) {
    const vol = ((pod.spec.volumes ?? []) as { name: string; secret?: { secretName: string }; configMap?: { name: string } }[]).find(
      (v) => v.name === m.name,
    )
    const obj = vol?.secret
      ? store.get(SECRETS, ns, vol.secret.secretName)
      : vol?.configMap
        ? store.get(CONFIGMAPS, ns, vol.configMap.name)
        : undefined
    const data = Object.fromEntries(
      Object.entries((obj?.data ?? {}) as Record<string, string>).map(([k, v]) => [k, vol?.secret ? decode(v) : v]),
    )
    if (m.subPath) {
      if (m.subPath in data) files[m.mountPath] = data[m.subPath]!
    } else for (const [k, v] of Object.entries(data)) files[`${m.mountPath.replace(/\/$/, '')}/${k}`] = v
  }
  return files
}

/**
 * jwilder/dockerize v0.6.1 `-template src:dest` (the Scalar images' entrypoints: scalardl v3.13.0
 * ledger/Dockerfile:51-53, schema-loader/entrypoint.sh:4): a Go text/template over `.Env`. The
 * forms the charts and Scalar's docs use are modelled: `{{ .Env.X }}` (a missing variable prints
 * `<no value>`, Go's missingkey=default) and `{{ default .Env.X "d" }}`; anything else is refused
 * here as a template dockerize could not parse would be.
 */
export function dockerize(text: string, env: Record<string, string>): { text: string } | { error: string } {
  let error: string | undefined
  const out = text.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (all, expr: string) => {
    let m = /^\.Env\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr)
    if (m) return m[1]! in env ? env[m[1]!]! : '<no value>'
    m = /^default\s+\.Env\.([A-Za-z_][A-Za-z0-9_]*)\s+"([^"]*)"$/.exec(expr)
    if (m) return env[m[1]!] ? env[m[1]!]! : m[2]!
    error ??= `template: ${expr}: not understood by this simulation of dockerize (only .Env.X and default .Env.X "d")`
    return all
  })
  return error ? { error } : { text: out }
}

/**
 * java.util.Properties as ScalarDL reads it, then ConfigUtils' substitution (scalar-labs/scalardl
 * v3.13.0 common/src/main/java/com/scalar/dl/ledger/config/ConfigUtils.java:30-39,162-168:
 * commons-text StringSubstitutor with `env:` and `sys:` lookups; ConfigUtilsTest.java:150-151: an
 * unknown variable stays as literal text, `${env:X:-d}` takes the default).
 */
export function scalarProperties(text: string, env: Record<string, string>, substitute: boolean): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith('!')) continue
    const m = /^([^=:\s]+)\s*[=:]?\s*(.*)$/.exec(line)
    if (!m) continue
    const value = m[2]!.replace(/\\n/g, '\n')
    out[m[1]!] = substitute
      ? value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (all, name: string, d?: string) =>
          name in env ? env[name]! : d !== undefined ? d : all,
        )
      : value
  }
  return out
}

/**
 * Whether DynamoDB would accept the credentials ScalarDB sends (scalar.db.username is the access
 * key id, scalar.db.password the secret access key: schema-loader/database.properties.tmpl:7). AWS
 * answers UnrecognizedClientException for a key it does not know; the simulator knows keys by
 * shape (AKIA/ASIA + 16 upper-case letters or digits, a non-empty secret), or exactly the pair
 * `sim up --db-credentials ID:SECRET` registered. Unrendered template text is never a key.
 */
export function dynamoCredentialsProblem(user: string | undefined, password: string | undefined, registered: string): string | undefined {
  const bad = `UnrecognizedClientException: The security token included in the request is invalid. (Service: DynamoDb, Status Code: 400)`
  if (!user || !password) return `${bad} (scalar.db.username or scalar.db.password is empty)`
  const unresolved = [user, password].find((v) => /\$\{env:|\{\{|<no value>/.test(v))
  if (unresolved !== undefined)
    return `${bad} (a credential is the literal text ${JSON.stringify(unresolved === password ? '<password>' : unresolved)}: an unresolved variable)`
  if (registered) {
    const [id, ...secret] = registered.split(':')
    return user === id && password === secret.join(':') ? undefined : `${bad} (access key ${user} is not the simulator's registered key)`
  }
  return /^(AKIA|ASIA)[A-Z0-9]{16}$/.test(user) ? undefined : `${bad} (${user} is not an AWS access key id)`
}
