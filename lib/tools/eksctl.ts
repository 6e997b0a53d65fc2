// eksctl, through the injected runner: what the guide creates and changes with it. Reading what
// exists goes through the EKS API (lib/eks/read.ts), in the shapes `eksctl get -o json` prints;
// add-ons excepted (getAddon).
import { Tool, parseJsonOutput, TRANSIENT_RETRY, type ToolOptions } from './tool.ts'
import type { RunResult } from './exec.ts'
import { CommandError } from '../engine/errors.ts'
import { parseVersion, type Version } from './version.ts'

/** As `eksctl get cluster --name X -o json` prints it: aws-sdk-go-v2 eks/types.Cluster, PascalCase keys. */
export interface EksctlCluster {
  Name: string
  Status: string
  Version?: string
  Endpoint?: string
  ResourcesVpcConfig?: {
    VpcId?: string
    SubnetIds?: string[]
    SecurityGroupIds?: string[]
    ClusterSecurityGroupId?: string
    EndpointPublicAccess?: boolean
    EndpointPrivateAccess?: boolean
  }
  Logging?: { ClusterLogging?: { Types?: string[]; Enabled?: boolean }[] }
  [k: string]: unknown
}

export interface EksctlNodegroup {
  Cluster: string
  Name: string
  Status: string
  MinSize: number
  MaxSize: number
  DesiredCapacity: number
  InstanceType: string
  Type: 'managed' | 'unmanaged'
  [k: string]: unknown
}

/** `eksctl get addon -o json` rows, with the health issues eksctl prints after the JSON. */
export interface EksctlAddon {
  Name: string
  Version: string
  Status: string
  ConfigurationValues: string
  /** `{Code:... Message:... ResourceIDs:[...]}` each, as eksctl prints them (degraded add-ons). */
  issues?: string[]
  /** The add-on's Pod Identity associations (eksctl-io/eksctl v0.230.0 pkg/actions/addon/get.go:17-33; null when none). */
  PodIdentityAssociations?: { AssociationID: string; Namespace: string; ServiceAccount: string; RoleARN: string }[] | null
  [k: string]: unknown
}

export class Eksctl extends Tool {
  constructor(opts: Partial<ToolOptions> & { region?: string } = {}) {
    super({ command: 'eksctl', ...opts })
    this.region = opts.region
  }
  private readonly region?: string

  /**
   * eksctl logs on stdout and prints only cobra's `Error: <summary>` on stderr (eksctl-io/eksctl
   * v0.230.0 cmd/eksctl/logger.go:53, main.go:104-113): the cause of a failure is in its `[✖]`
   * (and `[!]`) lines on stdout, e.g. CloudFormation's AlreadyExistsException behind `failed to
   * create cluster "X"`. Both streams, the cause first.
   */
  protected override failureOutput(res: RunResult): string {
    const logged = res.stdout
      .split('\n')
      .filter((l) => /\[(✖|!)\]/.test(l))
      .map((l) => l.replace(/^\S+ \S+ \[(✖|!)\]\s+/, ''))
    return [...logged, res.stderr.trim()].filter(Boolean).join('\n')
  }

  protected override hint(stderr: string): string | undefined {
    if (/timed out waiting for control plane/.test(stderr))
      return 'the control plane was made but does not answer from this host (its endpoint is private): rerun this step on the bastion, where it finds the cluster and goes on; or set ENDPOINT_PUBLIC_ACCESS=true with ENDPOINT_PUBLIC_CIDRS'
    return undefined
  }

  /**
   * A create is not idempotent: a failure that looks transient (a `context deadline exceeded`
   * while eksctl waited for CloudFormation) leaves the stack going on, and running the create
   * again would only meet AlreadyExists. So creates are never retried here; the tasks decide.
   */
  private runOnce(args: string[]): Promise<RunResult> {
    return this.exec(args, {}, { ...TRANSIENT_RETRY, attempts: 1 }).then((res) => this.ensureOk(res, args))
  }

  private regionArgs(): string[] {
    return this.region ? ['--region', this.region] : []
  }

  async version(): Promise<{ version: Version; raw: string }> {
    const raw = (await this.run(['version'])).stdout.trim()
    const version = parseVersion(raw)
    if (!version) throw new CommandError(`${this.command} version`, 0, `unexpected output: ${raw}`)
    return { version, raw }
  }

  /** Creates the cluster and its node groups; with `kubeconfig`, writes its kubeconfig there. */
  async createCluster(configFile: string, kubeconfig?: string): Promise<void> {
    await this.runOnce(['create', 'cluster', '-f', configFile, ...(kubeconfig ? ['--kubeconfig', kubeconfig] : [])])
  }

  /** Creates the config's node groups that do not exist yet (eksctl skips existing ones). */
  async createNodegroups(configFile: string): Promise<void> {
    await this.runOnce(['create', 'nodegroup', '-f', configFile])
  }

  async scaleNodegroup(cluster: string, nodegroup: string, nodes: number, min: number, max: number): Promise<void> {
    await this.run([
      'scale',
      'nodegroup',
      '--cluster',
      cluster,
      '--name',
      nodegroup,
      '--nodes',
      String(nodes),
      '--nodes-min',
      String(min),
      '--nodes-max',
      String(max),
      ...this.regionArgs(),
    ])
  }

  /**
   * An add-on of the cluster, or undefined (`eksctl get addon --name X -o json`). Read through
   * eksctl, not the EKS API as clusters and node groups are (lib/eks/read.ts): moto has no add-on
   * API, so the simulator's eksctl keeps them.
   */
  async getAddon(cluster: string, name: string): Promise<EksctlAddon | undefined> {
    const args = ['get', 'addon', '--cluster', cluster, '--name', name, ...this.regionArgs(), '-o', 'json']
    const res = await this.exec(args)
    if (res.exitCode !== 0 && /ResourceNotFoundException|no addon found|not found/i.test(res.stderr)) return undefined
    this.ensureOk(res, args)
    // The JSON, then (a degraded add-on) `Issue: {...}` lines on stdout with no newline before the
    // first (eksctl-io/eksctl v0.230.0 pkg/ctl/get/addon.go:119-127).
    const at = res.stdout.search(/Issue: \{/)
    const addon = parseJsonOutput<EksctlAddon[]>(at >= 0 ? res.stdout.slice(0, at) : res.stdout, `${this.command} ${args.join(' ')}`)[0]
    const issues =
      at >= 0
        ? res.stdout
            .slice(at)
            .split(/(?=Issue: \{)/)
            .map((l) => l.trim().replace(/^Issue: /, ''))
            .filter(Boolean)
        : []
    return addon ? { ...addon, issues } : undefined
  }

  /**
   * Every add-on of the cluster, in one call: `eksctl get addon` without --name lists them, each
   * described as with --name, health issues in the JSON (eksctl-io/eksctl v0.230.0
   * pkg/ctl/get/addon.go:87-92, pkg/actions/addon/get.go:24-34, 130-148); `[]` when none
   * (pkg/printers/json.go:32-36). The issues read as `Issue:` lines print them.
   */
  async getAddons(cluster: string): Promise<EksctlAddon[]> {
    const args = ['get', 'addon', '--cluster', cluster, ...this.regionArgs(), '-o', 'json']
    const addons = parseJsonOutput<(EksctlAddon & { Issues?: { Code: string; Message: string; ResourceIDs?: string[] }[] | null })[]>(
      (await this.run(args)).stdout,
      `${this.command} ${args.join(' ')}`,
    )
    return addons.map((a) => ({
      ...a,
      issues: (a.Issues ?? []).map((i) => `{Code:${i.Code} Message:${i.Message} ResourceIDs:[${(i.ResourceIDs ?? []).join(' ')}]}`),
    }))
  }

  /** Creates (verb create) or updates (verb update) the add-ons of a ClusterConfig file. */
  async addon(verb: 'create' | 'update', configFile: string): Promise<void> {
    await this.run([verb, 'addon', '-f', configFile])
  }

  /** Enables exactly `enable` among the control-plane log types (the rest disabled). */
  async updateClusterLogging(cluster: string, enable: string[], disable: string[]): Promise<void> {
    await this.run([
      'utils',
      'update-cluster-logging',
      '--cluster',
      cluster,
      ...this.regionArgs(),
      ...(enable.length ? ['--enable-types', enable.join(',')] : []),
      ...(disable.length ? ['--disable-types', disable.join(',')] : []),
      '--approve',
    ])
  }

  async writeKubeconfig(cluster: string, kubeconfig?: string): Promise<void> {
    await this.run([
      'utils',
      'write-kubeconfig',
      '--cluster',
      cluster,
      ...this.regionArgs(),
      ...(kubeconfig ? ['--kubeconfig', kubeconfig] : []),
    ])
  }
}
