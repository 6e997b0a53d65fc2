// Step 3: the EKS cluster, its node groups, the kubeconfig, and the Scalar DL taint on every
// pool node.
import { callerBoundaryArn } from '../iam/boundary-task.ts'
import fs from 'node:fs'
import { findSecurityGroup } from '../aws/security-groups.ts'
import { findSubnets, subnetsOf } from '../aws/subnets.ts'
import { findVpc } from '../aws/vpc.ts'
import { Eksctl, type EksctlCluster, type EksctlNodegroup } from '../tools/eksctl.ts'
import { RunbookError } from '../engine/errors.ts'
import { writePrivateFile } from '../engine/files.ts'
import { Kubectl, type KubeObject } from '../tools/kubectl.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { waitFor } from '../engine/wait.ts'
import { callerPrincipal, clusterAdmins, samePrincipal } from './access.ts'
import { failedClusterStack } from './stack.ts'
import {
  clusterConfigFile,
  clusterConfigYaml,
  kubeAccess,
  kubeconfigFile,
  POOL_LABEL,
  POOL_TAINT,
  SYSTEM_NODEGROUP,
  type ExistingNetwork,
} from './cluster-config.ts'
import { eksRead } from './read.ts'

export interface EksState {
  network?: ExistingNetwork
  cluster?: EksctlCluster
  /** Who gets cluster-admin access entries (lib/eks/access.ts). */
  admins?: string[]
  nodegroups: EksctlNodegroup[]
  /** One read of the node groups (EKS API) shared by the two node group checks; dropped when a node group changes. */
  nodegroupsRead?: Promise<EksctlNodegroup[]>
}

const eksctl = (ctx: TaskContext) => new Eksctl({ command: ctx.config.tools.eksctl, region: ctx.config.region })
export const kubectlFor = (ctx: TaskContext) => new Kubectl({ command: ctx.config.tools.kubectl, kubeconfig: kubeAccess(ctx.config) })
const POOL_SELECTOR = `${POOL_LABEL.key}=${POOL_LABEL.value}`
const TAINT_ARG = `${POOL_TAINT.key}=${POOL_TAINT.value}:${POOL_TAINT.effect}`

export function networkTask(): Task<EksState> {
  const task: Task<EksState> = {
    title: 'Network of 01-vpc found (VPC, subnets by AZ, control-plane security group)',
    async check(ctx, s) {
      const ec2 = ctx.aws.ec2
      const cluster = ctx.config.clusterName
      const vpc = await findVpc(ec2, cluster)
      if (!vpc && ctx.dryRun) return { holds: false, detail: `use the VPC tagged scalardl-runbook/cluster=${cluster} once it exists` }
      if (!vpc)
        return {
          holds: false,
          conflict: `no VPC tagged scalardl-runbook/cluster=${cluster}`,
          hint: 'run 01-vpc first (and check CLUSTER_NAME and AWS_REGION)',
        }
      const [subnets, sg] = await Promise.all([findSubnets(ec2, cluster), findSecurityGroup(ec2, cluster, vpc.VpcId!, 'control-plane-sg')])
      const privateSubnets = subnetsOf(subnets, 'private')
      const publicSubnets = subnetsOf(subnets, 'public')
      if (privateSubnets.length < 2)
        return {
          holds: false,
          conflict: `the VPC has ${privateSubnets.length} private subnet(s); EKS needs at least 2 in different AZs`,
          hint: 'rerun 01-vpc',
        }
      s.network = { vpcId: vpc.VpcId!, privateSubnets, publicSubnets, controlPlaneSecurityGroupId: sg?.GroupId }
      return {
        holds: true,
        detail: `${vpc.VpcId}, private ${privateSubnets.map((x) => x.AvailabilityZone).join('/')}${sg ? `, ${sg.GroupId}` : ''}`,
      }
    },
    // Only a --dry-run plan (the VPC made by earlier tasks of the same step, e.g. 05's) leaves the
    // check neither holding nor in conflict; then this plans "find it", which a real run does.
    async apply(ctx, s) {
      const found = await task.check(ctx, s)
      if (!found.holds) throw new RunbookError(found.conflict ?? found.detail ?? 'network not found', found.hint)
      return found.detail
    },
  }
  return task
}

/**
 * The access entries eksctl makes with the cluster: every admin but the principal that runs
 * eksctl, whom EKS gives its entry with the cluster (bootstrapClusterCreatorAdminPermissions); a
 * second entry for it fails with ResourceInUseException, which is what running 03 on the bastion
 * with the bastion's own role would otherwise meet. The access task below checks them all.
 */
async function entriesAtCreation(ctx: TaskContext, admins: string[]): Promise<string[]> {
  const me = await callerPrincipal(ctx)
  return admins.filter((a) => !samePrincipal(a, me))
}

export function clusterConfigTask(): Task<EksState, string> {
  return {
    title: 'eksctl ClusterConfig rendered',
    async check(ctx, s) {
      const file = clusterConfigFile(ctx.config)
      if (!s.network) return { holds: false, detail: `write ${file} once the VPC exists` }
      s.admins = await clusterAdmins(ctx)
      const want = clusterConfigYaml(ctx.config, s.network!, await entriesAtCreation(ctx, s.admins), await callerBoundaryArn(ctx))
      if (ctx.dryRun) ctx.log.plain(want.replace(/^/gm, '      | '))
      if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === want) return { holds: true, detail: file }
      return { holds: false, detail: `${fs.existsSync(file) ? 'update' : 'write'} ${file}`, reading: want }
    },
    async apply(ctx, s, want) {
      const text =
        want ??
        clusterConfigYaml(
          ctx.config,
          s.network!,
          await entriesAtCreation(ctx, s.admins ?? (await clusterAdmins(ctx))),
          await callerBoundaryArn(ctx),
        )
      writePrivateFile(clusterConfigFile(ctx.config), text)
      return `wrote ${clusterConfigFile(ctx.config)}`
    },
  }
}

function clusterDrift(ctx: TaskContext, c: EksctlCluster, net: ExistingNetwork): string[] {
  const drift: string[] = []
  if (c.Version && c.Version !== ctx.config.kubernetesVersion)
    drift.push(
      `Kubernetes ${c.Version}, configuration says ${ctx.config.kubernetesVersion} (upgrade with eksctl upgrade cluster; the runbook does not upgrade clusters)`,
    )
  const want = new Set([...net.privateSubnets, ...net.publicSubnets].map((x) => x.SubnetId))
  const have = new Set(c.ResourcesVpcConfig?.SubnetIds ?? [])
  if (![...have].every((id) => want.has(id)))
    drift.push(`subnets ${[...have].filter((id) => !want.has(id)).join(', ')} are not the VPC of 01-vpc`)
  return drift
}

export function clusterTask(): Task<EksState> {
  return {
    title: 'EKS cluster',
    async check(ctx, s) {
      s.cluster = await eksRead(ctx).cluster()
      if (!s.cluster)
        return {
          holds: false,
          detail: `eksctl create cluster -f ${clusterConfigFile(ctx.config)} (Kubernetes ${ctx.config.kubernetesVersion}; about 15 minutes on AWS)`,
        }
      if (s.cluster.Status !== 'ACTIVE') return { holds: false, detail: `wait for ${ctx.config.clusterName}: ${s.cluster.Status}` }
      const drift = clusterDrift(ctx, s.cluster, s.network!)
      for (const d of drift) ctx.log.warn(`drift: ${d}`)
      return {
        holds: true,
        detail: `${s.cluster.Name} ${s.cluster.Status}, Kubernetes ${s.cluster.Version}${drift.length ? ` (drift: ${drift.join('; ')})` : ''}`,
      }
    },
    async apply(ctx, s) {
      const e = eksctl(ctx)
      if (!s.cluster) {
        // A stack left failed by an earlier run: eksctl would answer AlreadyExistsException, and waiting would see nothing.
        const failed = await failedClusterStack(ctx.aws.cloudformation, ctx.config.clusterName)
        if (failed)
          throw new RunbookError(
            `the cluster's CloudFormation stack ${failed.name} is ${failed.status} from an earlier attempt: ${failed.cause}`,
            `fix the cause, delete the failed stack (aws cloudformation delete-stack --stack-name ${failed.name} --region ${ctx.config.region}; or eksctl delete cluster --name ${ctx.config.clusterName} --region ${ctx.config.region}), then rerun 03-eks`,
          )
        const progress = ctx.log.progress(`eksctl create cluster ${ctx.config.clusterName}`)
        try {
          await e.createCluster(clusterConfigFile(ctx.config), kubeconfigFile(ctx.config)) // the kubeconfig task finds it written
        } catch (err) {
          // An earlier run was interrupted while eksctl's CloudFormation stack went on: wait for it
          // (unless the stack failed meanwhile: then say so).
          if (!/AlreadyExistsException|already exists/i.test((err as Error).message)) throw err
          const failed = await failedClusterStack(ctx.aws.cloudformation, ctx.config.clusterName)
          if (failed)
            throw new RunbookError(
              `the cluster's CloudFormation stack ${failed.name} is ${failed.status}: ${failed.cause}`,
              `fix the cause, delete the failed stack (aws cloudformation delete-stack --stack-name ${failed.name} --region ${ctx.config.region}), then rerun 03-eks`,
            )
          ctx.log.info(`    the cluster's stack already exists (an interrupted run started it): waiting for it`)
        } finally {
          progress.done()
        }
      }
      s.cluster = await waitFor(
        { what: `cluster ${ctx.config.clusterName} to be ACTIVE`, timeoutMs: ctx.config.waitTimeoutMs, log: ctx.log },
        async () => {
          const c = await eksRead(ctx).cluster()
          return {
            done: c?.Status === 'ACTIVE',
            status: c?.Status ?? 'not visible yet',
            value: c,
            failed: c?.Status === 'FAILED' ? 'the cluster is FAILED: see the CloudFormation stack eksctl-<name>-cluster' : undefined,
          }
        },
      )
      return `${ctx.config.clusterName} ACTIVE`
    },
  }
}

function nodegroupTask(which: 'pool' | 'system'): Task<EksState> {
  const want = (ctx: TaskContext) =>
    which === 'pool'
      ? {
          name: ctx.config.nodegroupName,
          count: ctx.config.nodeCount,
          min: ctx.config.nodeCount,
          max: ctx.config.nodeMax,
          type: ctx.config.nodeInstanceType,
        }
      : {
          name: SYSTEM_NODEGROUP,
          count: ctx.config.systemNodeCount,
          min: ctx.config.systemNodeCount,
          max: Math.max(ctx.config.systemNodeCount * 2, 2),
          type: ctx.config.systemNodeInstanceType,
        }
  return {
    title:
      which === 'pool'
        ? 'Scalar DL node group (label agentpool=scalardlpool)'
        : 'System node group (untainted: CoreDNS, schema loading, agents)',
    async check(ctx, s) {
      const w = want(ctx)
      if (which === 'system' && w.count === 0) return { holds: true, detail: 'none (SYSTEM_NODE_COUNT=0, --allow-no-system-nodes)' }
      if (!s.cluster) return { holds: false, detail: `create ${w.name}: ${w.count} x ${w.type}` }
      s.nodegroupsRead ??= eksRead(ctx).nodegroups()
      s.nodegroups = await s.nodegroupsRead
      const ng = s.nodegroups.find((g) => g.Name === w.name)
      if (!ng) return { holds: false, detail: `create ${w.name}: ${w.count} x ${w.type}` }
      if (ng.InstanceType && ng.InstanceType !== w.type)
        ctx.log.warn(
          `drift: node group ${w.name} runs ${ng.InstanceType}, configuration says ${w.type} (instance types of a node group cannot change: create a new group)`,
        )
      if (ng.DesiredCapacity !== w.count || ng.MaxSize !== w.max || ng.MinSize !== w.min)
        return {
          holds: false,
          detail: `scale ${w.name} ${ng.MinSize}/${ng.DesiredCapacity}/${ng.MaxSize} -> ${w.min}/${w.count}/${w.max} (min/desired/max)`,
        }
      return { holds: true, detail: `${w.name}: ${ng.DesiredCapacity} x ${ng.InstanceType} (${ng.Status})` }
    },
    async apply(ctx, s) {
      s.nodegroupsRead = undefined
      const w = want(ctx)
      const e = eksctl(ctx)
      const ng = (await eksRead(ctx).nodegroups()).find((g) => g.Name === w.name)
      if (!ng) {
        await e.createNodegroups(clusterConfigFile(ctx.config))
        // eksctl counts any stack not deleted as an existing group, a failed one included
        // (eksctl-io/eksctl v0.230.0 pkg/cfn/manager/api.go:552-575), and then skips it with exit 0:
        // only EKS says whether the group is there.
        const made = (await eksRead(ctx).nodegroups()).find((g) => g.Name === w.name)
        if (!made) {
          const stack = `eksctl-${ctx.config.clusterName}-nodegroup-${w.name}`
          // Safe to delete: EKS has no such group, so only the failed stack is there.
          await e.run([
            'delete',
            'nodegroup',
            '--cluster',
            ctx.config.clusterName,
            '--name',
            w.name,
            '--region',
            ctx.config.region,
            '--wait',
            '--drain=false',
          ])
          throw new RunbookError(
            `eksctl reported node group ${w.name} as existing, but EKS has no such group: its CloudFormation stack ${stack} was left by a failed creation (ROLLBACK_COMPLETE or CREATE_FAILED); the runbook deleted that stack`,
            `see why it failed in the stack's events (CloudFormation console, deleted stacks) or the earlier eksctl error: usually capacity (InsufficientInstanceCapacity: another NODE_INSTANCE_TYPE or zone), a quota or IAM; then rerun 03-eks`,
          )
        }
        if (made.Status !== 'ACTIVE') ctx.log.warn(`node group ${w.name} is ${made.Status}`)
        return `created ${w.name} (${made.Status})`
      }
      await e.scaleNodegroup(ctx.config.clusterName, w.name, w.count, w.min, w.max)
      return `scaled ${w.name} to ${w.count} (max ${w.max})`
    },
  }
}

export const poolNodegroupTask = () => nodegroupTask('pool')
export const systemNodegroupTask = () => nodegroupTask('system')

export function kubeconfigTask(): Task<EksState> {
  return {
    title: 'kubeconfig written and working',
    async check(ctx) {
      const file = kubeconfigFile(ctx.config)
      if (!fs.existsSync(file)) return { holds: false, detail: `eksctl utils write-kubeconfig --kubeconfig ${file}` }
      try {
        const nodes = await kubectlFor(ctx).list('nodes')
        return { holds: true, detail: `${file} (${nodes.length} nodes visible)` }
      } catch (err) {
        return { holds: false, detail: `rewrite ${file}: ${(err as Error).message.split('\n')[0]}` }
      }
    },
    async apply(ctx) {
      const file = kubeconfigFile(ctx.config)
      await eksctl(ctx).writeKubeconfig(ctx.config.clusterName, file)
      fs.chmodSync(file, 0o600)
      const nodes = await kubectlFor(ctx).list('nodes') // proves it works
      return `${file} (${nodes.length} nodes visible)`
    },
    hint: 'the EKS endpoint is private: run this step from the bastion (aws ssm start-session), whose security group the control plane admits on 443',
  }
}

const ready = (n: KubeObject) =>
  (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')

export function poolNodesReadyTask(): Task<EksState> {
  return {
    title: 'Scalar DL nodes Ready (NODE_COUNT)',
    async check(ctx) {
      if (ctx.dryRun && !fs.existsSync(kubeconfigFile(ctx.config)))
        return { holds: false, detail: `wait for ${ctx.config.nodeCount} Ready node(s) labelled ${POOL_SELECTOR}` }
      const nodes = await kubectlFor(ctx).list('nodes', { selector: POOL_SELECTOR })
      const n = nodes.filter(ready).length
      return n >= ctx.config.nodeCount
        ? { holds: true, detail: `${n} Ready` }
        : { holds: false, detail: `wait: ${n} of ${ctx.config.nodeCount} Ready` }
    },
    async apply(ctx) {
      const k = kubectlFor(ctx)
      await waitFor(
        { what: `${ctx.config.nodeCount} Scalar DL nodes to be Ready`, timeoutMs: ctx.config.waitTimeoutMs, log: ctx.log },
        async () => {
          const n = (await k.list('nodes', { selector: POOL_SELECTOR })).filter(ready).length
          return { done: n >= ctx.config.nodeCount, status: `${n} of ${ctx.config.nodeCount} Ready` }
        },
      )
      return `${ctx.config.nodeCount} Ready`
    },
  }
}

const tainted = (n: KubeObject) =>
  ((n.spec?.taints ?? []) as { key: string; value?: string; effect: string }[]).some(
    (t) => t.key === POOL_TAINT.key && t.value === POOL_TAINT.value && t.effect === POOL_TAINT.effect,
  )
const untainted = (nodes: KubeObject[]) => nodes.filter((n) => !tainted(n)).map((n) => n.metadata.name)

export function taintTask(): Task<EksState, string[]> {
  return {
    title: `Every Scalar DL node tainted ${TAINT_ARG}`,
    async check(ctx) {
      if (ctx.dryRun && !fs.existsSync(kubeconfigFile(ctx.config))) return { holds: false, detail: `taint the ${POOL_SELECTOR} nodes` }
      const nodes = await kubectlFor(ctx).list('nodes', { selector: POOL_SELECTOR })
      const missing = untainted(nodes)
      if (!nodes.length) return { holds: false, detail: 'no Scalar DL node yet' }
      return missing.length
        ? { holds: false, detail: `taint ${missing.join(', ')}`, reading: missing }
        : { holds: true, detail: `all ${nodes.length} tainted` }
    },
    async apply(ctx, _s, read) {
      const k = kubectlFor(ctx)
      const missing = read ?? untainted(await k.list('nodes', { selector: POOL_SELECTOR }))
      if (!missing.length) throw new RunbookError('no Scalar DL node to taint', 'check the node group in the EKS console')
      await k.run(['taint', 'nodes', ...missing, TAINT_ARG, '--overwrite'])
      return `tainted ${missing.join(', ')}`
    },
    hint: 'EKS node groups refuse kubernetes.io/ taints, so the taint is put on the nodes; nodes added later (scaling, upgrades) come without it: rerun 03-eks',
  }
}
