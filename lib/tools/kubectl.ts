// kubectl, through the injected runner. Manifests (and so secrets) go on stdin, never in argv.
import { Tool, type ToolOptions } from './tool.ts'
import { CommandError } from '../engine/errors.ts'
import { parseVersion, type Version } from './version.ts'

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown }
  spec?: any
  status?: any
}

interface KubeList<T = KubeObject> {
  items: T[]
}

interface GetOptions {
  namespace?: string
  allNamespaces?: boolean
  selector?: string
  fieldSelector?: string
}

export class Kubectl extends Tool {
  /** `kubeconfig`: a file, or how to get the file for each call (lib/eks/kube-session.ts). */
  constructor(opts: Partial<ToolOptions> & { context?: string; kubeconfig?: string | (() => Promise<string>) } = {}) {
    const { kubeconfig } = opts
    const base = [
      ...(typeof kubeconfig === 'string' ? ['--kubeconfig', kubeconfig] : []),
      ...(opts.context ? ['--context', opts.context] : []),
    ]
    super({
      command: 'kubectl',
      ...opts,
      ...(typeof kubeconfig === 'function' ? { argsNow: async () => ['--kubeconfig', await kubeconfig()] } : {}),
      baseArgs: [...base, ...(opts.baseArgs ?? [])],
    })
  }

  protected override hint(stderr: string): string | undefined {
    if (/connection refused|was refused|Unable to connect|no such host|i\/o timeout/i.test(stderr))
      return 'the Kubernetes API is not reachable from this host: check the kubeconfig context, that you run from the bastion, and that the control-plane security group admits 443 from it'
    if (/Unauthorized|forbidden/i.test(stderr))
      return 'the kubeconfig identity is not allowed: check the EKS access entries or aws-auth for this IAM identity'
    if (/current-context is not set|no configuration has been provided/i.test(stderr))
      return 'no kubeconfig: run 03-eks (it writes the context) or `aws eks update-kubeconfig`'
    return undefined
  }

  /** The client version, from `kubectl version --client -o json` (gitVersion, since EKS minors look like "30+"). */
  async clientVersion(): Promise<{ version: Version; gitVersion: string }> {
    const out = await this.json<{ clientVersion?: { gitVersion?: string } }>(['version', '--client', '-o', 'json'])
    const git = out.clientVersion?.gitVersion ?? ''
    const version = parseVersion(git)
    if (!version) throw new CommandError(`${this.command} version --client`, 0, `no clientVersion.gitVersion in the output`)
    return { version, gitVersion: git }
  }

  async list<T = KubeObject>(resource: string, o: GetOptions = {}): Promise<T[]> {
    const args = ['get', resource, '-o', 'json', ...scope(o)]
    if (o.selector) args.push('-l', o.selector)
    if (o.fieldSelector) args.push('--field-selector', o.fieldSelector)
    const out = await this.json<KubeList<T> | T>(args)
    return 'items' in (out as object) ? (out as KubeList<T>).items : [out as T]
  }

  /** One object, or undefined when it does not exist. */
  async get<T = KubeObject>(resource: string, name: string, o: GetOptions = {}): Promise<T | undefined> {
    const args = ['get', resource, name, '-o', 'json', ...scope(o)]
    const res = await this.exec(args)
    if (res.exitCode !== 0 && /\(NotFound\)|not found/i.test(res.stderr)) return undefined
    return this.parse<T>(res, args)
  }

  /** Applies a manifest given on stdin (secrets included: they never reach argv). */
  async apply(manifest: string, o: { namespace?: string; serverSide?: boolean; dryRun?: 'client' | 'server' } = {}): Promise<string> {
    const args = ['apply', '-f', '-', ...scope(o)]
    if (o.serverSide) args.push('--server-side', '--field-manager=scalardl-runbook')
    if (o.dryRun) args.push(`--dry-run=${o.dryRun}`)
    return (await this.run(args, { input: manifest })).stdout.trim()
  }

  /** Taints every node matching the selector; --overwrite makes it idempotent. */
  async taintNodes(selector: string, taint: string): Promise<string[]> {
    const out = await this.run(['taint', 'nodes', '-l', selector, taint, '--overwrite'])
    return out.stdout.split('\n').filter(Boolean)
  }

  async delete(resource: string, name: string, o: GetOptions = {}): Promise<void> {
    await this.run(['delete', resource, name, '--ignore-not-found', ...scope(o)])
  }
}

function scope(o: GetOptions): string[] {
  if (o.allNamespaces) return ['--all-namespaces']
  return o.namespace ? ['-n', o.namespace] : []
}
