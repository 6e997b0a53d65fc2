// Prerequisites: the tools the later steps drive, at versions the guide supports.
import { Tool, TRANSIENT_RETRY } from '../tools/tool.ts'
import { Eksctl } from '../tools/eksctl.ts'
import { CommandError } from '../engine/errors.ts'
import { Helm } from '../tools/helm.ts'
import { Kubectl } from '../tools/kubectl.ts'
import type { CheckResult, Task, TaskContext } from '../engine/task.ts'
import { atLeast, formatVersion, parseVersion, type Version } from '../tools/version.ts'
import { whereAmI } from '../aws/imds.ts'

interface ToolSpec {
  name: 'kubectl' | 'helm' | 'eksctl' | 'aws'
  minimum?: string
  install: string
  version: (ctx: TaskContext) => Promise<{ version: Version; raw: string }>
}

export const TOOLS: ToolSpec[] = [
  {
    name: 'kubectl',
    minimum: '1.19.0',
    install: 'install kubectl 1.19 or newer: https://kubernetes.io/docs/tasks/tools/ (or set KUBECTL to its path)',
    version: async (ctx) => {
      const v = await new Kubectl({ command: ctx.config.tools.kubectl }).clientVersion()
      return { version: v.version, raw: v.gitVersion }
    },
  },
  {
    name: 'helm',
    minimum: '3.5.0',
    install: 'install helm 3.5 or newer: https://helm.sh/docs/intro/install/ (or set HELM to its path)',
    version: (ctx) => new Helm({ command: ctx.config.tools.helm }).version(),
  },
  {
    name: 'eksctl',
    install: 'install eksctl: https://eksctl.io/installation/ (or set EKSCTL to its path)',
    version: (ctx) => new Eksctl({ command: ctx.config.tools.eksctl }).version(),
  },
  {
    // The kubeconfig eksctl writes runs `aws eks get-token` for every kubectl call an operator
    // makes by hand (the runbook makes its token in-process); `eks get-token` needs AWS CLI
    // 1.16.156 or later (https://docs.aws.amazon.com/eks/latest/userguide/create-kubeconfig.html).
    name: 'aws',
    minimum: '1.16.156',
    install:
      'install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html (the kubeconfig runs `aws eks get-token` for kubectl)',
    version: async () => {
      const r = await new Tool({ command: 'aws', retry: { ...TRANSIENT_RETRY, attempts: 1 } }).run(['--version'])
      // "aws-cli/2.22.0 Python/3.12.6 Linux/6.1 exe/x86_64..." (v1 printed it on stderr)
      const raw = /aws-cli\/(\S+)/.exec(`${r.stdout}\n${r.stderr}`)?.[1] ?? ''
      const version = parseVersion(raw)
      if (!version) throw new CommandError('aws --version', 0, `no aws-cli/X.Y.Z in the output: ${r.stdout}${r.stderr}`)
      return { version, raw: `aws-cli/${raw}` }
    },
  },
]

/** The tools only the steps that reach the cluster's API use (03 to 07 and 99): on the bastion, not on a laptop. */
const CLUSTER_TOOLS = new Set(['kubectl', 'helm', 'eksctl'])

let neededHere: Promise<boolean> | undefined
/**
 * Whether this host runs the cluster steps itself: not a host known to be outside AWS when the
 * API endpoint is private (the default) and there is a bastion, since from there the endpoint
 * does not answer and those steps run on the bastion (`npm run bastion -- run deploy`), whose
 * bootstrap installs the tools at their pinned versions.
 */
function clusterToolsNeededHere(ctx: TaskContext): Promise<boolean> {
  neededHere ??= (async () => {
    const c = ctx.config
    if (c.endpoint.publicAccess || !c.bastion.enabled) return true
    const here = await whereAmI()
    return !(here.known && !here.instanceId)
  })()
  return neededHere
}

function missing(err: unknown): boolean {
  return err instanceof CommandError && (err.exitCode === 127 || /command not found|No such file|ENOENT|not found/i.test(err.stderr))
}

export function toolTask(spec: ToolSpec): Task {
  return {
    title: `${spec.name}${spec.minimum ? ` >= ${spec.minimum.replace(/\.0$/, '')}` : ''} installed`,
    async check(ctx): Promise<CheckResult> {
      const notNeeded = async (what: string): Promise<CheckResult | undefined> =>
        CLUSTER_TOOLS.has(spec.name) && !(await clusterToolsNeededHere(ctx))
          ? {
              holds: true,
              detail: `${what} here, and not needed here: this host is outside AWS and the EKS endpoint is private, so the steps that use it run on the bastion (npm run bastion -- run deploy), whose bootstrap installs it`,
            }
          : undefined
      let found
      try {
        found = await spec.version(ctx)
      } catch (err) {
        if (missing(err))
          return (await notNeeded(`${spec.name} not found`)) ?? { holds: false, detail: `${spec.name} not found`, hint: spec.install }
        return { holds: false, detail: `${spec.name} did not report its version: ${(err as Error).message}`, hint: spec.install }
      }
      if (spec.minimum && !atLeast(found.version, spec.minimum)) {
        const old = `${spec.name} ${formatVersion(found.version)} is older than ${spec.minimum}`
        return (await notNeeded(old)) ?? { holds: false, detail: old, hint: spec.install }
      }
      const note = spec.name === 'helm' && found.version.major >= 4 ? ' (helm 4: the runbook uses only flags helm 4 keeps)' : ''
      return { holds: true, detail: `${found.raw}${note}` }
    },
  }
}
