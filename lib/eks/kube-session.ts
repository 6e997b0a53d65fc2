// The kubeconfig the runbook's own kubectl and helm calls use. eksctl writes a kubeconfig whose
// user runs `aws eks get-token` for every kubectl call (a Python start-up, 1-2 s each, and a step
// makes dozens of calls). For that exact entry the runbook makes the same token in-process once
// and hands kubectl a private copy of the kubeconfig with the token in it: mode 600 in a mode 700
// directory of its own, removed when the process exits, remade before the token is 10 minutes old
// (EKS accepts it for 15). Any other kubeconfig (another exec plugin, a role to assume, a profile
// in the plugin's environment) is used as it is.
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { privateTempDir, writePrivateFile } from '../engine/files.ts'
import { eksToken, type TokenSource } from './token.ts'

const REFRESH_MS = 10 * 60_000

interface Entry {
  /** What the copy was made from: the source's modification time and the token's age. */
  sourceMtimeMs: number
  madeAt: number
  file: string
}

const made = new Map<string, Entry>()

/** The cluster and region of an exec entry exactly as eksctl writes it, or undefined for anything else. */
export function eksctlExecEntry(
  user: Record<string, unknown> | undefined,
  defaultRegion: string,
): { cluster: string; region: string } | undefined {
  const exec = user?.exec as { command?: string; args?: string[]; env?: { name?: string; value?: string }[] | null } | undefined
  if (!exec || path.basename(exec.command ?? '') !== 'aws') return undefined
  // eksctl sets AWS_STS_REGIONAL_ENDPOINTS=regional (pkg/utils/kubeconfig/kubeconfig.go:171-180 at
  // v0.228.0), which the in-process token honours anyway (its STS endpoint is the region's, as
  // lib/eks/token.ts stsEndpoint makes it); any other variable (a profile, a role) is the AWS CLI's to use.
  if ((exec.env ?? []).some((e) => !(e.name === 'AWS_STS_REGIONAL_ENDPOINTS' && e.value === 'regional'))) return undefined
  const args = exec.args ?? []
  if (args[0] !== 'eks' || args[1] !== 'get-token') return undefined
  const flags = new Map<string, string>()
  for (let i = 2; i < args.length; i += 2) flags.set(args[i]!, args[i + 1] ?? '')
  const known = new Set(['--cluster-name', '--region', '--output'])
  if ([...flags.keys()].some((f) => !known.has(f)) || !flags.get('--cluster-name')) return undefined
  return { cluster: flags.get('--cluster-name')!, region: flags.get('--region') || defaultRegion }
}

const inflight = new Map<string, Promise<string>>()

/** The kubeconfig to give kubectl and helm for `file` (see the top of this file). */
export function sessionKubeconfig(file: string, defaultRegion: string, source: TokenSource = {}): Promise<string> {
  const key = `${file}\0${source.credentials?.accessKeyId ?? ''}`
  let p = inflight.get(key)
  if (!p) {
    p = refresh(key, file, defaultRegion, source).finally(() => inflight.delete(key))
    inflight.set(key, p)
  }
  return p
}

async function refresh(key: string, file: string, defaultRegion: string, source: TokenSource): Promise<string> {
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch {
    return file // kubectl says what is wrong with it
  }
  const hit = made.get(key)
  if (hit && hit.sourceMtimeMs === stat.mtimeMs && Date.now() - hit.madeAt < REFRESH_MS) return hit.file
  const k = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as {
    'current-context'?: string
    contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[]
    clusters?: { name: string; cluster: Record<string, unknown> }[]
    users?: { name: string; user: Record<string, unknown> }[]
  }
  // Every user that is eksctl's exec entry gets its cluster's token; the rest stays as it is.
  const madeAt = Date.now()
  const tokens = new Map<string, Promise<string>>()
  const users = await Promise.all(
    (k.users ?? []).map(async (u) => {
      const eks = eksctlExecEntry(u.user, defaultRegion)
      if (!eks) return u
      const key = `${eks.cluster}\0${eks.region}`
      if (!tokens.has(key)) tokens.set(key, eksToken(eks.cluster, eks.region, source))
      return { name: u.name, user: { token: await tokens.get(key)! } }
    }),
  )
  if (!tokens.size) return file
  const target = hit?.file ?? path.join(privateTempDir('scalardl-kube-'), `${made.size}-${path.basename(path.dirname(file))}.kubeconfig`)
  writePrivateFile(
    target,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: k.clusters ?? [],
      users,
      contexts: k.contexts ?? [],
      'current-context': k['current-context'] ?? '',
    }),
  )
  made.set(key, { sourceMtimeMs: stat.mtimeMs, madeAt, file: target })
  return target
}
