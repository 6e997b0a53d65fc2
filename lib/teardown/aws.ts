// Teardown, AWS side, in the guide's order: the database (kept unless --delete-data, backed up
// first), log groups (kept unless --delete-logs), the DynamoDB endpoint, the bastion and its IAM
// role, NAT gateways and their Elastic IPs, the internet gateway, subnets, route tables, security
// groups, the VPC. Only resources tagged for this CLUSTER_NAME are found, so only they go.
import { CreateBackupCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import { DeleteLogGroupCommand, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs'
import {
  DeleteInternetGatewayCommand,
  DeleteNatGatewayCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DeleteVpcEndpointsCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  ReleaseAddressCommand,
  RevokeSecurityGroupIngressCommand,
  TerminateInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2'
import {
  GetPolicyCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam'
import { AUDITOR_NAMESPACES, LEDGER_NAMESPACES, byOwner, namespaceTables, type TableInfo } from '../database/ownership.ts'
import { deploymentClusters } from '../config/load.ts'
import { bastionIdentity, bastionRoleName } from '../aws/bastion.ts'
import { isAwsError } from '../aws/clients.ts'
import { findInternetGateway } from '../aws/internet-gateway.ts'
import { protection, setProtection } from '../database/protection.ts'
import { describeLeftover, leftoverLoadBalancers } from '../aws/load-balancers.ts'
import { RunbookError } from '../engine/errors.ts'
import { findNatAddresses, findNatGateways, describeNatGateways } from '../aws/nat.ts'
import { findRouteTables } from '../aws/route-tables.ts'
import { findSubnets } from '../aws/subnets.ts'
import { CLUSTER_TAG, roleFilters } from '../aws/tags.ts'
import { findVpc } from '../aws/vpc.ts'
import type { ConfigProblem } from '../config/load.ts'
import { thisInstanceId } from '../aws/imds.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { waitFor } from '../engine/wait.ts'
import { auditorView } from '../auditor/view.ts'
import { ensureKubeconfig } from '../eks/kubeconfig.ts'
import { apiReachProblems, describeCluster } from '../eks/reach.ts'
import { BOUNDARY_NAME } from '../iam/boundary.ts'
import { callerBoundaryArn } from '../iam/boundary-task.ts'

/** Retries a delete that AWS refuses while a dependency is still going away. */
async function untilFree<T>(ctx: TaskContext, what: string, fn: () => Promise<T>): Promise<T> {
  return (await waitFor({ what, timeoutMs: ctx.config.waitTimeoutMs, log: ctx.log }, async () => {
    try {
      return { done: true, status: 'done', value: await fn() }
    } catch (e) {
      if (isAwsError(e, 'DependencyViolation', 'InvalidIPAddress.InUse', 'AuthFailure'))
        return { done: false, status: (e as Error).message }
      throw e
    }
  }))!
}

/** The runbook's tables (tagged with one of the deployment's clusters) and the others with the same prefix and namespaces. */
export async function tablesByOwner(ctx: TaskContext) {
  const tables = await namespaceTables(ctx.aws.dynamodb, ctx.config.dynamodbNamespacePrefix, [...LEDGER_NAMESPACES, ...AUDITOR_NAMESPACES])
  return byOwner(tables, deploymentClusters(ctx.config))
}

export function tablesTask(): Task<unknown, TableInfo[]> {
  return {
    title: "DynamoDB tables, the runbook's only (kept unless --delete-data; backed up first unless --skip-backup)",
    async check(ctx) {
      const { ours, others } = await tablesByOwner(ctx)
      const left = others.length
        ? `; not the runbook's, never touched: ${others.map((t) => `${t.name}${t.owner ? ` (of ${t.owner})` : ''}`).join(', ')}`
        : ''
      if (!ours.length) return { holds: true, detail: `none of the runbook's${left}` }
      if (!ctx.flags['delete-data'])
        return {
          holds: true,
          detail: `kept ${ours.length} table(s) (${ours
            .slice(0, 3)
            .map((t) => t.name)
            .join(', ')}${ours.length > 3 ? ', ...' : ''}); --delete-data deletes them${left}`,
        }
      return {
        holds: false,
        detail: `${ctx.flags['skip-backup'] ? '' : 'back up and '}delete ${ours.map((t) => t.name).join(', ')}${left}`,
        reading: ours,
      }
    },
    async apply(ctx, _state, reading) {
      // Exactly the tables the check listed (and --dry-run showed).
      const ours = reading ?? (await tablesByOwner(ctx)).ours
      const backups: string[] = []
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')
      const protectedTables: string[] = []
      for (const { name: t } of ours) {
        if (!ctx.flags['skip-backup']) {
          const b = await ctx.aws.dynamodb.send(
            new CreateBackupCommand({ TableName: t, BackupName: `${t.replace(/[^A-Za-z0-9_.-]/g, '-')}-teardown-${stamp}`.slice(0, 255) }),
          )
          backups.push(b.BackupDetails!.BackupArn!)
        }
        // Deletion protection (04 and 05 turn it on) comes off only now, after the backup.
        if ((await protection(ctx.aws.dynamodb, [t])).get(t)) {
          await setProtection(ctx.aws.dynamodb, [t], false)
          protectedTables.push(t)
        }
        await ctx.aws.dynamodb.send(new DeleteTableCommand({ TableName: t }))
      }
      for (const arn of backups) ctx.log.info(`    backup: ${arn}`)
      return `deleted ${ours.length} table(s)${protectedTables.length ? ` (deletion protection turned off first on ${protectedTables.length})` : ''}${backups.length ? `; backups: ${backups.join(', ')}` : ' (no backup: --skip-backup)'}`
    },
  }
}

async function ownLogGroups(ctx: TaskContext): Promise<string[]> {
  const c = ctx.config.clusterName
  const names: string[] = []
  for (const prefix of [`/aws/containerinsights/${c}/`, `/aws/eks/${c}/`]) {
    const out = await ctx.aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix }))
    names.push(...(out.logGroups ?? []).map((g) => g.logGroupName!))
  }
  return names
}

export function logGroupsTask(): Task {
  return {
    title: 'CloudWatch log groups (kept unless --delete-logs)',
    async check(ctx) {
      const groups = await ownLogGroups(ctx)
      if (!groups.length) return { holds: true, detail: 'none' }
      if (!ctx.flags['delete-logs']) return { holds: true, detail: `kept ${groups.length} log group(s); --delete-logs deletes them` }
      return { holds: false, detail: `delete ${groups.join(', ')}` }
    },
    async apply(ctx) {
      const groups = await ownLogGroups(ctx)
      for (const g of groups) await ctx.aws.logs.send(new DeleteLogGroupCommand({ logGroupName: g }))
      return `deleted ${groups.join(', ')}`
    },
  }
}

export function endpointTask(): Task {
  return {
    title: 'DynamoDB VPC endpoint deleted',
    async check(ctx) {
      const ids = await endpointIds(ctx)
      return ids.length ? { holds: false, detail: `delete ${ids.join(', ')}` } : { holds: true, detail: 'none' }
    },
    async apply(ctx) {
      const ids = await endpointIds(ctx)
      await ctx.aws.ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: ids }))
      return `deleted ${ids.join(', ')}`
    },
  }
}

async function endpointIds(ctx: TaskContext): Promise<string[]> {
  const out = await ctx.aws.ec2.send(
    new DescribeVpcEndpointsCommand({
      Filters: [
        ...roleFilters(ctx.config.clusterName, 'dynamodb-endpoint'),
        { Name: 'vpc-endpoint-state', Values: ['pending', 'available'] },
      ],
    }),
  )
  return (out.VpcEndpoints ?? []).map((e) => e.VpcEndpointId!)
}

async function liveBastions(ec2: EC2Client, cluster: string): Promise<string[]> {
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        ...roleFilters(cluster, 'bastion'),
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
      ],
    }),
  )
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId!)
}

export function bastionTask(): Task {
  return {
    title: 'Bastion terminated and its IAM role and instance profile deleted',
    async check(ctx) {
      const ids = await liveBastions(ctx.aws.ec2, ctx.config.clusterName)
      const id = await bastionIdentity(ctx.aws.iam, ctx.config.clusterName)
      const left = [
        ...ids,
        ...(id.roleExists && id.roleOwned ? [`role ${bastionRoleName(ctx.config.clusterName)}`] : []),
        ...(id.profileExists && id.roleOwned ? ['instance profile'] : []),
      ]
      return left.length ? { holds: false, detail: `delete ${left.join(', ')}` } : { holds: true, detail: 'none' }
    },
    async apply(ctx) {
      const ec2 = ctx.aws.ec2
      const ids = await liveBastions(ec2, ctx.config.clusterName)
      if (ids.length) {
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }))
        await waitFor({ what: `bastion ${ids.join(', ')} to terminate`, timeoutMs: ctx.config.waitTimeoutMs, log: ctx.log }, async () => {
          const left = await liveBastions(ec2, ctx.config.clusterName)
          return { done: !left.length, status: left.length ? `${left.join(', ')} still there` : 'terminated' }
        })
      }
      const name = bastionRoleName(ctx.config.clusterName)
      const id = await bastionIdentity(ctx.aws.iam, ctx.config.clusterName)
      if (id.roleExists && id.roleOwned) {
        if (id.profileHasRole)
          await ctx.aws.iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }))
        if (id.profileExists) await ctx.aws.iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: name }))
        // IAM deletes no role with policies on it: every managed one detached, every inline one deleted.
        const attached: string[] = []
        for await (const page of paginateListAttachedRolePolicies({ client: ctx.aws.iam }, { RoleName: name }))
          attached.push(...(page.AttachedPolicies ?? []).map((p) => p.PolicyArn!))
        for (const arn of attached) await ctx.aws.iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn }))
        const inline: string[] = []
        for await (const page of paginateListRolePolicies({ client: ctx.aws.iam }, { RoleName: name }))
          inline.push(...(page.PolicyNames ?? []))
        for (const policy of inline) await ctx.aws.iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policy }))
        await ctx.aws.iam.send(new DeleteRoleCommand({ RoleName: name }))
      }
      return `terminated ${ids.join(', ') || 'nothing'}; deleted ${name}`
    },
  }
}

export function natTask(): Task {
  return {
    title: 'NAT gateways deleted (waited for) and their Elastic IPs released',
    async check(ctx) {
      const [nats, eips] = await Promise.all([
        findNatGateways(ctx.aws.ec2, ctx.config.clusterName),
        findNatAddresses(ctx.aws.ec2, ctx.config.clusterName),
      ])
      const left = [...nats.map((n) => n.NatGatewayId), ...eips.map((a) => a.AllocationId)]
      return left.length ? { holds: false, detail: `delete ${left.join(', ')}` } : { holds: true, detail: 'none' }
    },
    async apply(ctx) {
      const ec2 = ctx.aws.ec2
      const nats = await findNatGateways(ec2, ctx.config.clusterName)
      for (const n of nats) await ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: n.NatGatewayId }))
      if (nats.length) {
        await waitFor(
          {
            what: `NAT gateways ${nats.map((n) => n.NatGatewayId).join(', ')} to be deleted`,
            timeoutMs: ctx.config.waitTimeoutMs,
            log: ctx.log,
          },
          async () => {
            const now = await describeNatGateways(
              ec2,
              nats.map((n) => n.NatGatewayId!),
            )
            return { done: now.every((n) => n.State === 'deleted'), status: now.map((n) => `${n.NatGatewayId} ${n.State}`).join(', ') }
          },
        )
      }
      const eips = await findNatAddresses(ec2, ctx.config.clusterName)
      for (const a of eips)
        await untilFree(ctx, `Elastic IP ${a.PublicIp} to be released`, () =>
          ec2.send(new ReleaseAddressCommand({ AllocationId: a.AllocationId })),
        )
      return `deleted ${nats.length} NAT gateway(s), released ${eips.length} Elastic IP(s)`
    },
  }
}

export function vpcTask(): Task {
  return {
    title: 'Internet gateway, subnets, route tables, security groups and the VPC deleted',
    async check(ctx) {
      const c = ctx.config.clusterName
      const ec2 = ctx.aws.ec2
      const [vpc, igw, subnets, rts, sgs] = await Promise.all([
        findVpc(ec2, c),
        findInternetGateway(ec2, c),
        findSubnets(ec2, c),
        findRouteTables(ec2, c),
        ownSecurityGroups(ec2, c),
      ])
      const left = [
        ...(igw ? [igw.InternetGatewayId] : []),
        ...subnets.map((s) => s.SubnetId),
        ...rts.map((r) => r.RouteTableId),
        ...sgs.map((g) => g.GroupId),
        ...(vpc ? [vpc.VpcId] : []),
      ]
      return left.length ? { holds: false, detail: `delete ${left.join(', ')}` } : { holds: true, detail: 'none' }
    },
    async apply(ctx) {
      const c = ctx.config.clusterName
      const ec2 = ctx.aws.ec2
      const vpc = await findVpc(ec2, c)
      // A load balancer a Service left behind (its cluster deleted before the Service) keeps its
      // network interfaces in the subnets, and AWS refuses to delete them (DependencyViolation):
      // say which, instead of waiting out the deadline on the first subnet.
      const leftover = vpc ? await leftoverLoadBalancers(ctx.aws.elb, ec2, vpc.VpcId!) : undefined
      if (leftover && (leftover.loadBalancers.length || leftover.interfaces.length)) {
        throw new RunbookError(
          `${describeLeftover(leftover)} remain in ${vpc!.VpcId}: its subnets cannot be deleted while they exist`,
          'they belong to a Service of type LoadBalancer that outlived its cluster; this runbook did not create them, so it does not delete them: check they are not in use, delete them (aws elbv2 delete-load-balancer --load-balancer-arn ...; their network interfaces go with them), then rerun 99-teardown',
        )
      }
      const igw = await findInternetGateway(ec2, c)
      if (igw) {
        for (const a of igw.Attachments ?? [])
          await untilFree(ctx, `internet gateway ${igw.InternetGatewayId} to detach`, () =>
            ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId, VpcId: a.VpcId })),
          )
        await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.InternetGatewayId }))
      }
      for (const rt of await findRouteTables(ec2, c)) {
        for (const a of rt.Associations ?? [])
          if (!a.Main && a.RouteTableAssociationId)
            await ec2.send(new DisassociateRouteTableCommand({ AssociationId: a.RouteTableAssociationId }))
        await untilFree(ctx, `route table ${rt.RouteTableId}`, () =>
          ec2.send(new DeleteRouteTableCommand({ RouteTableId: rt.RouteTableId })),
        )
      }
      for (const s of await findSubnets(ec2, c))
        await untilFree(ctx, `subnet ${s.SubnetId}`, () => ec2.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId })))
      const sgs = await ownSecurityGroups(ec2, c)
      // Rules that reference another of our groups go first, so the groups can be deleted in any order.
      for (const g of sgs)
        if (g.IpPermissions?.length)
          await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: g.GroupId, IpPermissions: g.IpPermissions }))
      for (const g of sgs)
        await untilFree(ctx, `security group ${g.GroupId}`, () => ec2.send(new DeleteSecurityGroupCommand({ GroupId: g.GroupId })))
      if (vpc) await untilFree(ctx, `VPC ${vpc.VpcId}`, () => ec2.send(new DeleteVpcCommand({ VpcId: vpc.VpcId })))
      return `deleted ${vpc?.VpcId ?? 'the network'}`
    },
  }
}

async function ownSecurityGroups(ec2: EC2Client, cluster: string) {
  const out = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${CLUSTER_TAG}`, Values: [cluster] }] }))
  return out.SecurityGroups ?? []
}

/** With --keep-bastion: the task holds, leaving its resources for a final run from another host. */
export function unlessKeepingBastion(task: Task): Task {
  return {
    ...task,
    async check(ctx, s) {
      if (ctx.flags['keep-bastion'])
        return {
          holds: true,
          detail: `kept (--keep-bastion): finish from another host with 99-teardown --yes --confirm ${ctx.config.clusterName}`,
        }
      return task.check(ctx, s)
    },
  }
}

/** 99-teardown on the bastion would terminate its own host half-way: refused unless --keep-bastion. */
/**
 * The Kubernetes side of the teardown (the releases, whose envoy load balancer EKS's controller
 * deletes only while the cluster lives) needs each existing cluster's API. Where it does not
 * answer (a laptop outside the VPC of a private endpoint), 99 stops before any change and says
 * to run that part on the bastion: deleting the cluster from here would leave the load balancer,
 * and its network interfaces would keep the VPC from being deleted. A host that reaches the API
 * but never ran 03 gets a kubeconfig from DescribeCluster (lib/eks/kubeconfig.ts).
 */
export async function clusterReachProblems(ctx: TaskContext): Promise<ConfigProblem[]> {
  const views = [ctx.config, ...(ctx.config.auditor.enabled ? [auditorView(ctx.config)] : [])]
  const problems = await Promise.all(
    views.map(async (config) => {
      const described = { cluster: await describeCluster(ctx.aws.eks, config.clusterName) }
      if (described.cluster?.status !== 'ACTIVE') return []
      const unreachable = await apiReachProblems({ ...ctx, config }, described)
      if (!unreachable.length) {
        await ensureKubeconfig(ctx.aws.eks, config, described)
        return []
      }
      const c = ctx.config.clusterName
      return unreachable.map((p) => ({
        ...p,
        fix: `run the teardown of the clusters on the bastion first: npm run bastion -- run 99-teardown --keep-bastion --yes --confirm ${c} (or, in a shell there: npx tsx runbooks/99-teardown.ts --keep-bastion --yes --confirm ${c}); then rerun here for the rest`,
      }))
    }),
  )
  return problems.flat()
}

export async function bastionHostProblems(ctx: TaskContext): Promise<ConfigProblem[]> {
  if (ctx.flags['keep-bastion']) return []
  const me = await thisInstanceId()
  if (!me || !(await liveBastions(ctx.aws.ec2, ctx.config.clusterName)).includes(me)) return []
  const c = ctx.config.clusterName
  return [
    {
      key: 'host',
      message: `this is the bastion ${me} of ${c}: the teardown would terminate the host it runs on half-way`,
      fix: `run here: npx tsx runbooks/99-teardown.ts --keep-bastion --yes --confirm ${c} (everything but the bastion and the ${c} VPC, including the cluster, whose private API only the bastion reaches); then from another host: npx tsx runbooks/99-teardown.ts --yes --confirm ${c} (the rest needs no cluster API)`,
    },
  ]
}

/**
 * The permissions boundary stays: it is one per account, every deployment's roles use it, and no
 * holder of the operator policy may delete it (lib/iam/operator-policy.ts RunbookBoundaryFixed).
 * Said, with how an administrator removes it once no deployment is left.
 */
export function boundaryKeptTask(): Task {
  return {
    title: `Permissions boundary ${BOUNDARY_NAME} kept (one per account, shared by its deployments)`,
    async check(ctx) {
      const arn = await callerBoundaryArn(ctx)
      const exists = await ctx.aws.iam.send(new GetPolicyCommand({ PolicyArn: arn })).then(
        () => true,
        (err: unknown) => {
          if (isAwsError(err, 'NoSuchEntity', 'NoSuchEntityException')) return undefined
          throw err
        },
      )
      if (exists === undefined) return { holds: true, detail: 'not there' }
      return {
        holds: true,
        detail: `${arn} kept; once no deployment is left, an administrator deletes it: aws iam delete-policy --policy-arn ${arn}`,
      }
    },
  }
}
