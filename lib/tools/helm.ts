// helm 3, through the injected runner. Values that hold secrets are passed as files (mode 600).
import { Tool, type ToolOptions } from './tool.ts'
import { CommandError } from '../engine/errors.ts'
import { parseVersion, type Version } from './version.ts'

export interface HelmRelease {
  name: string
  namespace: string
  revision: string
  updated: string
  status: string
  chart: string
  app_version: string
}

interface HelmRevision {
  revision: number
  updated: string
  status: string
  chart: string
  app_version: string
  description: string
}

interface UpgradeOptions {
  namespace: string
  version?: string
  valuesFiles?: string[]
  wait?: boolean
  waitForJobs?: boolean
  timeout?: string
}

export class Helm extends Tool {
  /** `kubeconfig`: a file, or how to get the file for each call (lib/eks/kube-session.ts). */
  constructor(opts: Partial<ToolOptions> & { kubeContext?: string; kubeconfig?: string | (() => Promise<string>) } = {}) {
    const { kubeconfig } = opts
    super({
      command: 'helm',
      ...opts,
      ...(typeof kubeconfig === 'function' ? { argsNow: async () => ['--kubeconfig', await kubeconfig()] } : {}),
      baseArgs: [
        ...(typeof kubeconfig === 'string' ? ['--kubeconfig', kubeconfig] : []),
        ...(opts.kubeContext ? ['--kube-context', opts.kubeContext] : []),
        ...(opts.baseArgs ?? []),
      ],
    })
  }

  protected override hint(stderr: string): string | undefined {
    if (/another operation \(install\/upgrade\/rollback\) is in progress/.test(stderr))
      return 'a previous helm run was interrupted: rerun the step, which waits for a helm still running on this host or settles the abandoned revision (rollback, or uninstall of a first install)'
    if (/repository name .* already exists/.test(stderr))
      return 'a chart repository with this name points elsewhere: `helm repo remove NAME` or rename it'
    // helm 3 writes "Kubernetes cluster unreachable", helm 4 "kubernetes cluster unreachable"
    // (helm/helm v3.16.4 and v4.2.4 pkg/kube/client.go IsReachable).
    if (/kubernetes cluster unreachable/i.test(stderr)) return 'helm cannot reach the cluster: check the kubeconfig context (run 03-eks)'
    return undefined
  }

  async version(): Promise<{ version: Version; raw: string }> {
    const res = await this.run(['version', '--short'])
    const raw = res.stdout.trim()
    const version = parseVersion(raw)
    if (!version) throw new CommandError(`${this.command} version --short`, 0, `unexpected output: ${raw}`)
    return { version, raw }
  }

  /** Every release in the namespace, whatever its status (`helm ls -a -o json`). */
  async list(namespace: string): Promise<HelmRelease[]> {
    return this.json<HelmRelease[]>(['list', '--all', '-o', 'json', '-n', namespace])
  }

  async release(name: string, namespace: string): Promise<HelmRelease | undefined> {
    return (await this.list(namespace)).find((r) => r.name === name)
  }

  async repoAdd(name: string, url: string): Promise<string> {
    return (await this.run(['repo', 'add', name, url])).stdout.trim()
  }

  async repoList(): Promise<{ name: string; url: string }[]> {
    const res = await this.exec(['repo', 'list', '-o', 'json'])
    if (res.exitCode !== 0 && /no repositories/.test(res.stderr)) return []
    return this.parse(res, ['repo', 'list', '-o', 'json'])
  }

  async repoUpdate(): Promise<void> {
    await this.run(['repo', 'update'])
  }

  /** Every version of every chart of a repository, by chart name: one `helm search repo REPO/ -l -o json`. */
  async chartVersions(repo: string): Promise<Map<string, string[]>> {
    const rows = await this.json<{ name: string; version: string }[]>(['search', 'repo', `${repo}/`, '-l', '-o', 'json'])
    const charts = new Map<string, string[]>()
    for (const r of rows) if (r.name.startsWith(`${repo}/`)) charts.set(r.name, [...(charts.get(r.name) ?? []), r.version])
    return charts
  }

  /** The user-supplied values of the release's current revision. */
  async getValues(release: string, namespace: string): Promise<unknown> {
    return this.json(['get', 'values', release, '-n', namespace, '-o', 'json'])
  }

  /** The objects the release's current revision declares (`helm get manifest`), one YAML document each. */
  async manifest(release: string, namespace: string): Promise<string> {
    return (await this.run(['get', 'manifest', release, '-n', namespace])).stdout
  }

  async upgradeInstall(release: string, chart: string, o: UpgradeOptions): Promise<unknown> {
    const args = ['upgrade', '--install', release, chart, '-n', o.namespace, '-o', 'json']
    if (o.version) args.push('--version', o.version)
    for (const f of o.valuesFiles ?? []) args.push('-f', f)
    if (o.wait) args.push('--wait')
    if (o.waitForJobs) args.push('--wait-for-jobs')
    if (o.timeout) args.push('--timeout', o.timeout)
    return this.json(args)
  }

  /** The release's revisions, oldest first (`helm history RELEASE -o json`). */
  async history(release: string, namespace: string): Promise<HelmRevision[]> {
    return this.json<HelmRevision[]>(['history', release, '-n', namespace, '-o', 'json'])
  }

  /** A new revision made of `revision`'s chart and values (`helm rollback RELEASE REVISION`). */
  async rollback(release: string, revision: number, namespace: string): Promise<void> {
    await this.run(['rollback', release, String(revision), '-n', namespace])
  }

  /**
   * Uninstalls; a release that is not there is not an error. Without `--ignore-not-found`, which
   * only helm 3.13 and later know (helm/helm v3.13.0 cmd/helm/uninstall.go:77): older helm says
   * `uninstall: Release not loaded: X: release: not found`, which is taken as done.
   */
  async uninstall(release: string, namespace: string): Promise<void> {
    const args = ['uninstall', release, '-n', namespace]
    const res = await this.exec(args)
    if (res.exitCode !== 0 && /release: not found/i.test(res.stderr)) return
    this.ensureOk(res, args)
  }
}
