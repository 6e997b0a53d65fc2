// Stand-in for eksctl (reports 0.230.0) for the commands the runbook uses. EKS and EC2 state
// lives in moto (reached through AWS_ENDPOINT_URL, so the runbook's own SDK calls see the same
// cluster); nodes, kube-system workloads and add-ons live in the fake Kubernetes API.
import { parseArgs } from 'node:util'
import {
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  CreateClusterCommand,
  CreateNodegroupCommand,
  DeleteClusterCommand,
  DeleteNodegroupCommand,
  DescribeClusterCommand,
  CreatePodIdentityAssociationCommand,
  DescribePodIdentityAssociationCommand,
  ListPodIdentityAssociationsCommand,
  DeletePodIdentityAssociationCommand,
  DescribeClusterVersionsCommand,
  DescribeNodegroupCommand,
  EKSClient,
  ListClustersCommand,
  ListNodegroupsCommand,
  UpdateClusterConfigCommand,
  DescribeUpdateCommand,
  UpdateNodegroupConfigCommand,
  type Cluster as EksCluster,
  type Nodegroup,
} from '@aws-sdk/client-eks'
import { CreateLogGroupCommand, CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs'
import { IAMClient } from '@aws-sdk/client-iam'
import { CloudFormationClient, CreateStackCommand, DeleteStackCommand } from '@aws-sdk/client-cloudformation'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { ADDON_NAME, ADDON_VERSIONS, cloudwatchAddonObjects, parseConfigurationValues } from './cloudwatch-addon.ts'
import { CliFailure, control, eksLog, Kube, kubeconfigPath, main, readKubeconfig, stateDir, upsertContext } from './common.ts'
import { FAILED_STACKS_FILE, readFailedStacks } from '../failed-stacks.ts'
import {
  eksNodegroupRefusal,
  loadClusterConfig,
  LOG_TYPES,
  POD_IDENTITY_AGENT,
  validateAddon,
  validateClusterConfig,
  type Addon,
  type ClusterConfig,
  type ManagedNodeGroup,
  type PodIdentityAssociation,
} from './eksctl-config.ts'
import { eksSystemObjects, podIdentityAgentObjects } from './eks-system.ts'
import {
  CNI_ROLE_POLICIES,
  cniRoleName,
  deleteRole,
  ensureRole,
  nodeRoleName,
  nodeRolePolicies,
  podIdentityRoleName,
  SERVICE_ROLE_POLICIES,
  serviceRoleName,
} from './eksctl-iam.ts'
import { presignEksToken } from '../eks-token.ts'
import { isReady } from '../kube/conditions.ts'
import { describeNlb, loadBalancerName } from '../kube/load-balancers.ts'
import { groupNodes } from '../kube/managed-nodes.ts'
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'

const VERSION = '0.230.0'
/** eksctl pkg/apis/eksctl.io/v1alpha5/types.go@v0.230.0:59: DefaultVersion = Version1_34 (used for "" and "auto"). */
const DEFAULT_K8S = '1.34'

function region(flag?: string, config?: ClusterConfig): string {
  const r = flag ?? config?.metadata.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION
  if (!r) throw new CliFailure('--region=<region> must be set (or AWS_REGION)')
  return r
}

// eksctl retries AWS calls (its SDK's retryer); the stand-in does too, so the fault proxy's throttles are absorbed as on AWS.
const retry = { maxAttempts: 8 }
const clients = (r: string) => ({
  eks: new EKSClient({ region: r, ...retry }),
  ec2: new EC2Client({ region: r, ...retry }),
  sts: new STSClient({ region: r, ...retry }),
  logs: new CloudWatchLogsClient({ region: r, ...retry }),
  iam: new IAMClient({ region: r, ...retry }),
})

async function describeCluster(eks: EKSClient, name: string): Promise<EksCluster> {
  try {
    return (await eks.send(new DescribeClusterCommand({ name }))).cluster!
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') {
      throw new CliFailure(
        `unable to describe cluster control plane: operation error EKS: DescribeCluster, https response error StatusCode: 404, RequestID: 00000000-0000-0000-0000-000000000000, ResourceNotFoundException: No cluster found for name: ${name}.`,
      )
    }
    throw e
  }
}

async function clusterExists(eks: EKSClient, name: string): Promise<boolean> {
  try {
    await eks.send(new DescribeClusterCommand({ name }))
    return true
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return false
    throw e
  }
}

async function contextName(sts: STSClient, cluster: string, r: string): Promise<string> {
  const arn = (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? 'user'
  return `${arn.split('/').pop()}@${cluster}.${r}.eksctl.io`
}

/** The simulator's cluster CA (PEM), what DescribeCluster's certificateAuthority.data holds. */
function clusterCa(): string | undefined {
  const info = JSON.parse(fs.readFileSync(path.join(stateDir(), 'sim.json'), 'utf8')) as { caFile?: string }
  return info.caFile && fs.existsSync(info.caFile) ? fs.readFileSync(info.caFile, 'utf8') : undefined
}

/**
 * eksctl's own client for a cluster: a token it makes itself with aws-iam-authenticator's
 * generator and the caller's credentials (eksctl-io/eksctl v0.230.0 pkg/eks/client.go
 * useEmbeddedToken: GetWithSTS(cluster name)), not the kubeconfig's exec plugin.
 */
async function kubeFor(cluster: string): Promise<Kube> {
  const c = await control('GET', `/clusters/${encodeURIComponent(cluster)}`)
  if (!c) throw new CliFailure(`simulator: no Kubernetes API for cluster "${cluster}" (was it created with this simulator?)`)
  let token: Promise<string> | undefined
  const embedded = async () => {
    const sts = new STSClient({ region: c.region })
    const endpoint = process.env.AWS_ENDPOINT_URL_STS ?? process.env.AWS_ENDPOINT_URL ?? `https://sts.${c.region}.amazonaws.com`
    return presignEksToken(cluster, c.region, endpoint, await sts.config.credentials())
  }
  return new Kube(c.url, { ca: clusterCa(), token: () => (token ??= embedded()) })
}

async function writeKubeconfig(cluster: string, r: string, sts: STSClient, file?: string, setCurrent = true): Promise<string> {
  const c = await control('GET', `/clusters/${encodeURIComponent(cluster)}`)
  if (!c) throw new CliFailure(`simulator: no Kubernetes API for cluster "${cluster}"`)
  const path = kubeconfigPath(file)
  const context = await contextName(sts, cluster, r)
  // eksctl v0.230.0 pkg/utils/kubeconfig/kubeconfig.go: the server and certificate-authority-data
  // from DescribeCluster, and the exec entry of AppendAuthenticator for the AWS CLI, with its
  // environment AWS_STS_REGIONAL_ENDPOINTS=regional (v0.228.0 kubeconfig.go:171-180).
  upsertContext(path, {
    context,
    clusterName: `${cluster}.${r}.eksctl.io`,
    server: c.url,
    ca: c.url.startsWith('https:') ? clusterCa() : undefined,
    user: {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        command: 'aws',
        args: ['eks', 'get-token', '--output', 'json', '--cluster-name', cluster, '--region', r],
        env: [{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }],
        interactiveMode: 'IfAvailable',
        provideClusterInfo: false,
      },
    },
    setCurrent,
  })
  return path
}

/**
 * eksctl's wait for the control plane through the Kubernetes API, with the embedded token (eksctl-io/
 * eksctl pkg/eks/eks.go WaitForControlPlane: ServerVersion every 20 s until the wait timeout, 25
 * minutes by default, then "timed out waiting for control plane %q after %s"). From a host that
 * cannot reach a private endpoint it ends so; the simulator scales the 25 minutes (knob eksctlWaitMs).
 */
class ControlPlaneTimeout extends CliFailure {}

async function waitForControlPlane(kube: Kube, name: string): Promise<void> {
  const { eksctlWaitMs } = (await control('GET', '/knobs')) as { eksctlWaitMs: number }
  const deadline = Date.now() + eksctlWaitMs
  for (;;) {
    try {
      await kube.request('GET', '/version')
      return
    } catch (e) {
      if (Date.now() >= deadline) throw new ControlPlaneTimeout(`timed out waiting for control plane "${name}" after 25m0s`)
      if (!(e instanceof CliFailure)) throw e
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, eksctlWaitMs / 20))))
    }
  }
}

function nodeLabels(cluster: string, ng: ManagedNodeGroup): Record<string, string> {
  return {
    ...(ng.labels ?? {}),
    'eks.amazonaws.com/nodegroup': ng.name,
    'eks.amazonaws.com/capacityType': 'ON_DEMAND',
    'alpha.eksctl.io/nodegroup-name': ng.name,
    'alpha.eksctl.io/cluster-name': cluster,
  }
}

const EFFECT = { NoSchedule: 'NO_SCHEDULE', NoExecute: 'NO_EXECUTE', PreferNoSchedule: 'PREFER_NO_SCHEDULE' } as const

/**
 * Waits, as eksctl waits for a CloudFormation stack, until `status()` is ACTIVE; `failed` is the
 * status that ends the wait with eksctl's error. Polled every 200 ms: eksctl polls CloudFormation
 * less often, lateness that would be eksctl's, not the runbook's.
 */
async function stackDone(stack: string, resource: string, failed: string, status: () => Promise<string | undefined>): Promise<void> {
  eksLog('ℹ', `waiting for CloudFormation stack "${stack}"`)
  for (;;) {
    const now = await status()
    if (now === 'ACTIVE') return
    if (now === failed) throw new CliFailure(`waiter state transitioned to Failure: ${resource}: CREATE_FAILED`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/**
 * Node group stacks that failed and stay (ROLLBACK_COMPLETE): eksctl counts every stack not
 * deleted as an existing node group (eksctl-io/eksctl v0.230.0 pkg/cfn/manager/api.go:552-575
 * allNonDeletedStackStatuses, nodegroup.go:251-256), so `create nodegroup` skips the group while
 * EKS has none. Kept in the simulator's state directory (moto's CloudFormation cannot roll a
 * stack back); SIM_EKSCTL_FAIL_NODEGROUPS=<regex> makes matching groups fail for lack of capacity.
 */
const stacksFile = () => path.join(stateDir(), FAILED_STACKS_FILE)
/** Stack name -> its status (ROLLBACK_COMPLETE), and for a cluster stack the failed resource and why (the AWS layer reports them). */
function failedStacks(): Record<string, string> {
  return Object.fromEntries(Object.entries(readFailedStacks(stateDir())).map(([k, v]) => [k, v.status]))
}
function setFailedStack(stack: string, status: string | undefined, why?: { resource: string; reason: string }): void {
  const all = readFailedStacks(stateDir())
  if (status) all[stack] = { status, ...why }
  else delete all[stack]
  fs.writeFileSync(stacksFile(), JSON.stringify(all))
}
const clusterStack = (cluster: string) => `eksctl-${cluster}-cluster` // pkg/cfn/manager/cluster.go:31-32
const nodegroupStack = (cluster: string, ng: string) => `eksctl-${cluster}-nodegroup-${ng}` // pkg/cfn/manager/nodegroup.go:40

const minorOf = (v: string) => Number(v.split('.')[1])

/**
 * eksctl pkg/eks/versions_manager.go@v0.230.0:43-126: every command first asks
 * DescribeClusterVersions (no filter); a version is supported when its status is not UNSUPPORTED;
 * "" and "auto" resolve to api.DefaultVersion, "latest" to the newest supported; anything else must
 * be supported, or the error names the supported ones (and says "no longer supported" for a version
 * older than the oldest). pkg/ctl/cmdutils/cmd.go:47-50 wraps it in "resolving cluster version: ".
 */
async function resolveClusterVersion(eks: EKSClient, wanted: string | undefined): Promise<string> {
  const out = await eks.send(new DescribeClusterVersionsCommand({})).catch((e: Error) => {
    throw new CliFailure(`describing cluster versions: ${e.name}: ${e.message}`)
  })
  const supported = (out.clusterVersions ?? [])
    .filter((v) => (v.status as string) !== 'UNSUPPORTED')
    .map((v) => v.clusterVersion!)
    .sort((a, b) => minorOf(a) - minorOf(b))
  const v = wanted ? String(wanted) : ''
  if (v === '' || v === 'auto') return DEFAULT_K8S
  if (v === 'latest') return supported.at(-1)!
  if (supported.includes(v)) return v
  const deprecated = minorOf(v) < minorOf(supported[0]!)
  throw new CliFailure(
    `resolving cluster version: invalid version, ${deprecated ? `${v} is no longer supported, ` : ''}supported values: ${supported.join(', ')}${deprecated ? '\nsee also: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html' : ''}`,
  )
}

async function createNodegroup(
  eks: EKSClient,
  cluster: string,
  config: ClusterConfig,
  ng: ManagedNodeGroup,
  subnetIds: string[],
): Promise<void> {
  const failing = process.env.SIM_EKSCTL_FAIL_NODEGROUPS
  if (failing && new RegExp(failing).test(ng.name)) {
    eksLog('ℹ', `building managed nodegroup stack "${nodegroupStack(cluster, ng.name)}"`)
    setFailedStack(nodegroupStack(cluster, ng.name), 'ROLLBACK_COMPLETE')
    throw new CliFailure(
      `waiter state transitioned to Failure: AWS::EKS::Nodegroup/ManagedNodeGroup: CREATE_FAILED – "Resource handler returned message: \\"[Issue(Code=AsgInstanceLaunchFailures, Message=Could not launch On-Demand Instances. InsufficientInstanceCapacity - We currently do not have sufficient ${ng.instanceType ?? 'm5.xlarge'} capacity in the Availability Zone you requested.)] (Service: null, Status Code: 0)\\""`,
    )
  }
  const refusal = eksNodegroupRefusal(ng)
  if (refusal)
    throw new CliFailure(
      `waiter state transitioned to Failure: AWS::EKS::Nodegroup/ManagedNodeGroup: CREATE_FAILED – "Resource handler returned message: \\"${refusal} (Service: Eks, Status Code: 400)\\""`,
    )
  const desired = ng.desiredCapacity ?? 2
  const instanceType = ng.instanceType ?? ng.instanceTypes?.[0] ?? 'm5.large'
  eksLog('ℹ', `building managed nodegroup stack "eksctl-${cluster}-nodegroup-${ng.name}"`)
  await eks.send(
    new CreateNodegroupCommand({
      clusterName: cluster,
      nodegroupName: ng.name,
      scalingConfig: { minSize: ng.minSize ?? 1, maxSize: ng.maxSize ?? Math.max(desired, 2), desiredSize: desired },
      instanceTypes: [instanceType],
      subnets: ng.subnets?.length ? ng.subnets : subnetIds,
      labels: nodeLabels(cluster, ng),
      taints: (ng.taints ?? []).map((t) => ({ key: t.key, value: t.value, effect: EFFECT[t.effect as keyof typeof EFFECT] })),
      nodeRole: await ensureRole(
        clients(region(undefined, config)).iam,
        nodeRoleName(cluster, ng.name),
        'ec2',
        nodeRolePolicies(ng, config.iam?.withOIDC),
        ng.iam?.instanceRolePermissionsBoundary,
      ),
      amiType: 'AL2023_x86_64_STANDARD',
      diskSize: ng.volumeSize ?? 80,
      version: config.metadata.version ? String(config.metadata.version) : DEFAULT_K8S,
      tags: {
        'alpha.eksctl.io/nodegroup-name': ng.name,
        'alpha.eksctl.io/nodegroup-type': 'managed',
        'alpha.eksctl.io/cluster-name': cluster,
      },
    }),
  )
  // As eksctl does: wait for the node group's stack (the node group ACTIVE). Its nodes are EKS's,
  // made with the group in the simulator's AWS layer (sim/kube/managed-nodes.ts), not by eksctl.
  await stackDone(
    `eksctl-${cluster}-nodegroup-${ng.name}`,
    'AWS::EKS::Nodegroup/ManagedNodeGroup',
    'CREATE_FAILED',
    async () => (await eks.send(new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName: ng.name }))).nodegroup?.status,
  )
  eksLog('✔', `created managed nodegroup "${ng.name}" in cluster "${cluster}" (${desired} node(s), ${instanceType})`)
}

function subnetIdsOf(config: ClusterConfig): string[] {
  const ids = [...Object.values(config.vpc?.subnets?.private ?? {}), ...Object.values(config.vpc?.subnets?.public ?? {})]
    .map((s) => s.id)
    .filter((x): x is string => Boolean(x))
  return ids
}

function enabledTypes(types: string[]): string[] {
  return types.includes('all') || types.includes('*') ? [...LOG_TYPES] : types
}

async function createCluster(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'config-file': { type: 'string', short: 'f' },
      'dry-run': { type: 'boolean' },
      'without-nodegroup': { type: 'boolean' },
      region: { type: 'string', short: 'r' },
      timeout: { type: 'string' },
      kubeconfig: { type: 'string' },
    },
  })
  if (!values['config-file'])
    throw new CliFailure('--config-file/-f is required by this stand-in (the runbook always passes a ClusterConfig)')
  const config = loadClusterConfig(values['config-file'])
  validateClusterConfig(config)
  const name = config.metadata.name
  const r = region(values.region, config)
  if (values['dry-run']) {
    process.stdout.write(YAML.stringify(config))
    return
  }
  const { eks, sts, logs, ec2, iam } = clients(r)
  eksLog('ℹ', `eksctl version ${VERSION}`)
  eksLog('ℹ', `using region ${r}`)
  config.metadata.version = await resolveClusterVersion(eks, config.metadata.version ? String(config.metadata.version) : undefined)
  try {
    await createClusterSteps(values, config, name, r, { eks, sts, logs, ec2, iam })
  } catch (e) {
    // WaitForControlPlane's error is returned as it is (cobra prints it on stderr).
    if (e instanceof ControlPlaneTimeout) throw e
    // pkg/ctl/create/cluster.go@v0.230.0:385-394: the cause logged (Critical, stdout), a generic error returned (stderr).
    const cause = e instanceof CliFailure ? e.message : `${(e as Error).name}: ${(e as Error).message}`
    throw new CliFailure(`failed to create cluster "${name}"`, 1, [
      {
        symbol: '!',
        message: `1 error(s) occurred and cluster hasn't been created properly, you may wish to check CloudFormation console`,
      },
      { symbol: 'ℹ', message: `to cleanup resources, run 'eksctl delete cluster --region=${r} --name=${name}'` },
      { symbol: '✖', message: cause },
    ])
  }
}

async function createClusterSteps(
  values: { kubeconfig?: string; 'without-nodegroup'?: boolean },
  config: ClusterConfig,
  name: string,
  r: string,
  { eks, sts, logs, ec2, iam }: ReturnType<typeof clients>,
): Promise<void> {
  // pkg/cfn/manager/api.go@v0.230.0:163: CreateStack of an existing stack fails with CloudFormation's
  // AlreadyExistsException: the cluster's, or a failed one left behind (ROLLBACK_COMPLETE).
  if ((await clusterExists(eks, name)) || failedStacks()[clusterStack(name)]) {
    throw new CliFailure(
      `creating CloudFormation stack "eksctl-${name}-cluster": operation error CloudFormation: CreateStack, https response error StatusCode: 400, RequestID: 00000000-0000-0000-0000-000000000000, AlreadyExistsException: Stack [eksctl-${name}-cluster] already exists`,
    )
  }
  const subnetIds = subnetIdsOf(config)
  if (!subnetIds.length)
    throw new CliFailure('simulator: this eksctl stand-in needs an existing VPC (vpc.subnets with ids); creating a VPC is not simulated')
  // EKS refuses control planes in some zone IDs (https://docs.aws.amazon.com/eks/latest/userguide/troubleshooting.html
  // "Insufficient capacity": UnsupportedAvailabilityZoneException; eksctl-io/eksctl v0.230.0 pkg/az/az.go:21-25 lists them).
  const subnets = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds }))).Subnets ?? []
  const refused = subnets.filter((x) => ['use1-az3', 'usw1-az2', 'cac1-az3'].includes(x.AvailabilityZoneId ?? ''))
  if (refused.length) {
    const ok = [...new Set(subnets.filter((x) => !refused.includes(x)).map((x) => x.AvailabilityZone))].sort()
    throw new CliFailure(
      `creating CloudFormation stack "eksctl-${name}-cluster": ... UnsupportedAvailabilityZoneException: Cannot create cluster '${name}' because ${refused[0]!.AvailabilityZone}, the targeted availability zone, does not currently have sufficient capacity to support the cluster. Retry and choose from these availability zones: ${ok.join(', ')}`,
    )
  }
  const version = config.metadata.version ? String(config.metadata.version) : DEFAULT_K8S
  const types = enabledTypes(config.cloudWatch?.clusterLogging?.enableTypes ?? [])
  eksLog(
    'ℹ',
    `using existing VPC (${config.vpc?.id ?? 'from subnets'}) and subnets (private:${Object.keys(config.vpc?.subnets?.private ?? {}).length} public:${Object.keys(config.vpc?.subnets?.public ?? {}).length})`,
  )
  eksLog('ℹ', `building cluster stack "eksctl-${name}-cluster"`)
  // SIM_EKSCTL_FAIL_CLUSTERS=<regex>: the control plane of a matching cluster fails; CloudFormation
  // rolls the stack back and keeps it (ROLLBACK_COMPLETE), and the cluster is gone with the rollback.
  const failing = process.env.SIM_EKSCTL_FAIL_CLUSTERS
  if (failing && new RegExp(failing).test(name)) {
    const reason = `Resource handler returned message: "Cannot create cluster '${name}': the simulator was told to fail its control plane (SIM_EKSCTL_FAIL_CLUSTERS) (Service: Eks, Status Code: 400)"`
    await new CloudFormationClient({ region: r, ...retry }).send(
      new CreateStackCommand({
        StackName: clusterStack(name),
        TemplateBody: JSON.stringify({ Resources: { ControlPlane: { Type: 'AWS::CloudFormation::WaitConditionHandle' } } }),
        Tags: [{ Key: 'alpha.eksctl.io/cluster-name', Value: name }],
      }),
    )
    setFailedStack(clusterStack(name), 'ROLLBACK_COMPLETE', { resource: 'ControlPlane', reason })
    eksLog('ℹ', `waiting for CloudFormation stack "${clusterStack(name)}"`)
    throw new CliFailure(
      `waiter state transitioned to Failure: AWS::EKS::Cluster/ControlPlane: CREATE_FAILED – "${reason.replace(/"/g, '\\"')}"`,
    )
  }
  // The cluster's API server exists as soon as EKS has the cluster: made first, so that a stand-in
  // killed half-way never leaves a cluster in moto without one (EKS goes on making the endpoint
  // after eksctl dies). eks: an EKS cluster in moto stands behind it (HTTPS, access entries, NLBs).
  // Nodes get addresses (and so names) in the cluster's own VPC range.
  await control('POST', '/clusters', {
    name,
    region: r,
    nodes: 0,
    network: subnets[0]?.CidrBlock?.split('.').slice(0, 2).join('.'),
    eks: true,
  }).catch((e: Error) => {
    if (!/already exists/.test(e.message)) throw e // else an earlier, interrupted create made it
  })
  // The cluster stack's service role, with iam.serviceRolePermissionsBoundary (pkg/cfn/builder/iam.go@v0.228.0:135-137).
  const serviceRole = await ensureRole(iam, serviceRoleName(name), 'eks', SERVICE_ROLE_POLICIES, config.iam?.serviceRolePermissionsBoundary)
  await eks.send(
    new CreateClusterCommand({
      name,
      version,
      roleArn: serviceRole,
      resourcesVpcConfig: {
        subnetIds,
        securityGroupIds: [
          ...(config.vpc?.securityGroup ? [config.vpc.securityGroup] : []),
          ...(config.vpc?.controlPlaneSecurityGroupIDs ?? []),
        ],
        endpointPublicAccess: config.vpc?.clusterEndpoints?.publicAccess ?? true,
        endpointPrivateAccess: config.vpc?.clusterEndpoints?.privateAccess ?? false,
        ...(config.vpc?.publicAccessCIDRs ? { publicAccessCidrs: config.vpc.publicAccessCIDRs } : {}),
      },
      // eksctl v0.230.0 v1alpha5 defaults.go:58-64: API_AND_CONFIG_MAP unless set; cluster.go:378-381: the creator's admin access unless disabled.
      accessConfig: {
        authenticationMode: config.accessConfig?.authenticationMode ?? 'API_AND_CONFIG_MAP',
        bootstrapClusterCreatorAdminPermissions: config.accessConfig?.bootstrapClusterCreatorAdminPermissions ?? true,
      },
      logging: {
        clusterLogging: [
          { types: types as never, enabled: true },
          ...(types.length < LOG_TYPES.length ? [{ types: LOG_TYPES.filter((t) => !types.includes(t)) as never, enabled: false }] : []),
        ],
      },
      tags: {
        ...(config.metadata.tags ?? {}),
        'alpha.eksctl.io/cluster-name': name,
        'eksctl.cluster.k8s.io/v1alpha1/cluster-name': name,
        'alpha.eksctl.io/eksctl-version': VERSION,
      },
    }),
  )
  if (types.length) {
    try {
      await logs.send(new CreateLogGroupCommand({ logGroupName: `/aws/eks/${name}/cluster` }))
    } catch (e) {
      if ((e as Error).name !== 'ResourceAlreadyExistsException') throw e
    }
  }
  await ensureClusterSecurityGroup(ec2, name, subnets[0]?.VpcId)
  // As eksctl does: wait for the control plane (the cluster stack) before anything else.
  await stackDone(
    `eksctl-${name}-cluster`,
    'AWS::EKS::Cluster/ControlPlane',
    'FAILED',
    async () => (await describeCluster(eks, name)).status,
  )
  const kube = await kubeFor(name)
  await waitForControlPlane(kube, name)
  for (const o of eksSystemObjects()) await kube.apply(o, 'eks')
  // pkg/cfn/manager/create_tasks.go:36-38: the access entries (one stack each, eksctl-<cluster>-accessentry-<hash>) after the cluster.
  for (const e of config.accessConfig?.accessEntries ?? []) {
    await eks.send(
      new CreateAccessEntryCommand({
        clusterName: name,
        principalArn: e.principalARN,
        type: e.type,
        kubernetesGroups: e.kubernetesGroups,
        username: e.kubernetesUsername,
      }),
    )
    for (const p of e.accessPolicies ?? [])
      await eks.send(
        new AssociateAccessPolicyCommand({
          clusterName: name,
          principalArn: e.principalARN,
          policyArn: p.policyARN,
          accessScope: p.accessScope,
        }),
      )
  }
  eksLog('✔', `EKS cluster "${name}" in "${r}" region is ready`)
  // With withOIDC, vpc-cni (listed, or added by eksctl as a default add-on) gets an IRSA role, with
  // the listed add-on's permissionsBoundary (pkg/actions/addon/tasks.go@v0.228.0:25-37, create.go:223-241, 455-461).
  if (config.iam?.withOIDC) {
    const cni = (config.addons ?? []).find((a) => a.name === 'vpc-cni')
    eksLog('ℹ', `creating role using recommended policies for "vpc-cni" addon`)
    await ensureRole(iam, cniRoleName(name), 'oidc', CNI_ROLE_POLICIES, cni?.permissionsBoundary)
  }
  if (!values['without-nodegroup'])
    await Promise.all((config.managedNodeGroups ?? []).map((ng) => createNodegroup(eks, name, config, ng, subnetIds)))
  // The simulated add-ons of the file, the Pod Identity Agent first (pkg/actions/addon/tasks.go@v0.230.0:129-160).
  const addons = (config.addons ?? [])
    .filter((a) => SIMULATED_ADDONS.includes(a.name))
    .sort((x, y) => Number(y.name === POD_IDENTITY_AGENT) - Number(x.name === POD_IDENTITY_AGENT))
  for (const a of addons)
    await installAddon(name, r, a, a.podIdentityAssociations?.length ? await reconcileAssociations(name, r, a, []) : null)
  // eksctl writes the kubeconfig (mode 600) to --kubeconfig, else to the default place.
  const path = await writeKubeconfig(name, r, sts, values.kubeconfig)
  eksLog('✔', `saved kubeconfig as "${path}"`)
  eksLog('✔', `all EKS cluster resources for "${name}" have been created`)
}

async function createNodegroups(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'config-file': { type: 'string', short: 'f' },
      include: { type: 'string' },
      cluster: { type: 'string' },
      region: { type: 'string', short: 'r' },
    },
  })
  if (!values['config-file']) throw new CliFailure('--config-file/-f is required by this stand-in')
  const config = loadClusterConfig(values['config-file'])
  validateClusterConfig(config)
  const name = config.metadata.name
  const r = region(values.region, config)
  const { eks } = clients(r)
  // pkg/ctl/create/nodegroup.go@v0.230.0:156: the config's version, when given, must be supported.
  if (config.metadata.version) await resolveClusterVersion(eks, String(config.metadata.version))
  await describeCluster(eks, name)
  // Existing: a group EKS lists, or one whose stack was left behind (pkg/ctl/cmdutils/filter/nodegroup_filter.go:172-178).
  const stacks = failedStacks()
  const existing = new Set([
    ...((await eks.send(new ListNodegroupsCommand({ clusterName: name }))).nodegroups ?? []),
    ...(config.managedNodeGroups ?? []).map((ng) => ng.name).filter((n) => stacks[nodegroupStack(name, n)]),
  ])
  const include = values.include ? values.include.split(',') : undefined
  const wanted = (config.managedNodeGroups ?? []).filter((ng) => !include || include.includes(ng.name))
  const skip = wanted.filter((ng) => existing.has(ng.name))
  if (skip.length) eksLog('ℹ', `${skip.length} existing nodegroup(s) (${skip.map((n) => n.name).join(',')}) will be excluded`)
  const todo = wanted.filter((ng) => !existing.has(ng.name))
  if (!todo.length) {
    eksLog('ℹ', 'no nodegroups to create')
    return
  }
  const c = await describeCluster(eks, name)
  // eksctl creates the node groups' stacks side by side and waits for all of them.
  const results = await Promise.allSettled(todo.map((ng) => createNodegroup(eks, name, config, ng, c.resourcesVpcConfig?.subnetIds ?? [])))
  const failed = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')
  if (failed.length)
    throw new CliFailure(
      `failed to create nodegroups for cluster "${name}"`,
      1,
      failed.map((f) => ({ symbol: '✖' as const, message: (f.reason as Error).message })),
    )
}

/**
 * The cluster security group EKS creates and attaches to managed nodes: eks-cluster-sg-<name>-<id>,
 * tagged kubernetes.io/cluster/<name>=owned and aws:eks:cluster-name=<name>
 * (https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html). moto's EKS makes none.
 */
async function clusterSecurityGroup(ec2: EC2Client, name: string): Promise<string | undefined> {
  const groups =
    (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:aws:eks:cluster-name', Values: [name] }] })))
      .SecurityGroups ?? []
  return groups[0]?.GroupId
}

async function ensureClusterSecurityGroup(ec2: EC2Client, name: string, vpcId: string | undefined): Promise<void> {
  if (!vpcId || (await clusterSecurityGroup(ec2, name))) return
  const groupName = `eks-cluster-sg-${name}-${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`
  await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: groupName,
      VpcId: vpcId,
      Description:
        'EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.',
      TagSpecifications: [
        {
          ResourceType: 'security-group',
          Tags: [
            { Key: 'Name', Value: groupName },
            { Key: `kubernetes.io/cluster/${name}`, Value: 'owned' },
            { Key: 'aws:eks:cluster-name', Value: name },
          ],
        },
      ],
    }),
  )
}

/**
 * eksctl-io/eksctl v0.230.0 pkg/actions/cluster/delete.go:57-76 and pkg/elb/cleanup.go:77-213:
 * before the stacks go, every Service of type LoadBalancer (all namespaces) is deleted and eksctl
 * polls every 2 s until each NLB (named as the cloud provider names it, a<uid>) is gone, for at
 * most 10 minutes. Classic ELBs are not simulated, so only NLBs are waited for.
 */
async function cleanupLoadBalancers(cluster: string, r: string): Promise<void> {
  const kube = await kubeFor(cluster)
  const services = (await kube.list('Service', '*')).filter((s) => s.spec?.type === 'LoadBalancer')
  eksLog('ℹ', 'cleaning up AWS load balancers created by Kubernetes objects of Kind Service, Ingress, or Gateway')
  for (const s of services) await kube.delete('Service', s.metadata.namespace, s.metadata.name)
  const names = services
    .filter((s) => s.metadata.annotations?.['service.beta.kubernetes.io/aws-load-balancer-type'] === 'nlb')
    .map((s) => loadBalancerName(s.metadata.uid))
  const elb = new ElasticLoadBalancingV2Client({ region: r, ...retry })
  const gone = async (n: string) => !(await describeNlb(elb, n))
  const deadline = Date.now() + duration(process.env.SIM_EKSCTL_ELB_CLEANUP_TIMEOUT, 10 * 60_000)
  let left = names
  while (left.length) {
    left = (await Promise.all(left.map(async (n) => ((await gone(n)) ? undefined : n)))).filter((n): n is string => Boolean(n))
    if (!left.length) break
    if (Date.now() > deadline) throw new CliFailure(`deadline surpassed waiting for AWS load balancers to be deleted: ${left.join(', ')}`)
    await new Promise((res) => setTimeout(res, 200))
  }
}

async function vpcIdOf(ec2: EC2Client, subnetIds: string[]): Promise<string | undefined> {
  if (!subnetIds.length) return undefined
  try {
    return (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnetIds.slice(0, 1) }))).Subnets?.[0]?.VpcId
  } catch {
    return undefined
  }
}

/** aws-sdk-go-v2's eks/types.Cluster as eksctl prints it: PascalCase keys. */
async function clusterJson(c: EksCluster, ec2: EC2Client) {
  const v = c.resourcesVpcConfig ?? {}
  return {
    Name: c.name,
    Arn: c.arn,
    Version: c.version,
    Status: c.status,
    Endpoint: c.endpoint,
    PlatformVersion: c.platformVersion,
    RoleArn: c.roleArn,
    CreatedAt: c.createdAt,
    ResourcesVpcConfig: {
      VpcId: (v as { vpcId?: string }).vpcId ?? (await vpcIdOf(ec2, v.subnetIds ?? [])),
      SubnetIds: v.subnetIds ?? [],
      SecurityGroupIds: v.securityGroupIds ?? [],
      ClusterSecurityGroupId: v.clusterSecurityGroupId ?? (await clusterSecurityGroup(ec2, c.name!)) ?? null,
      EndpointPublicAccess: v.endpointPublicAccess ?? false,
      EndpointPrivateAccess: v.endpointPrivateAccess ?? false,
      PublicAccessCidrs: v.publicAccessCidrs ?? [],
    },
    Logging: { ClusterLogging: (c.logging?.clusterLogging ?? []).map((l) => ({ Types: l.types ?? [], Enabled: l.enabled ?? false })) },
    Identity: { Oidc: { Issuer: c.identity?.oidc?.issuer } },
    CertificateAuthority: { Data: c.certificateAuthority?.data },
    Tags: c.tags ?? {},
  }
}

async function getCluster(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string', short: 'n' },
      cluster: { type: 'string' },
      region: { type: 'string', short: 'r' },
      output: { type: 'string', short: 'o', default: 'table' },
    },
  })
  const r = region(values.region)
  const { eks, ec2 } = clients(r)
  const name = values.name ?? values.cluster
  if (name) {
    const c = await describeCluster(eks, name)
    if (values.output === 'json') process.stdout.write(JSON.stringify([await clusterJson(c, ec2)], null, '\t') + '\n')
    else
      process.stdout.write(
        `NAME\tVERSION\tSTATUS\tCREATED\tVPC\tSUBNETS\tSECURITYGROUPS\tPROVIDER\n${c.name}\t${c.version}\t${c.status}\t${c.createdAt?.toISOString()}\t${(await clusterJson(c, ec2)).ResourcesVpcConfig.VpcId}\t${(c.resourcesVpcConfig?.subnetIds ?? []).join(',')}\t${(c.resourcesVpcConfig?.securityGroupIds ?? []).join(',')}\tEKS\n`,
      )
    return
  }
  const names = (await eks.send(new ListClustersCommand({}))).clusters ?? []
  const rows = await Promise.all(
    names.map(async (n) => ({
      Name: n,
      Region: r,
      Owned: (await eks.send(new DescribeClusterCommand({ name: n }))).cluster?.tags?.['alpha.eksctl.io/cluster-name'] ? 'True' : 'False',
    })),
  )
  if (values.output === 'json') process.stdout.write(JSON.stringify(rows, null, '\t') + '\n')
  else {
    if (!rows.length) eksLog('ℹ', `no clusters found`)
    else process.stdout.write(`NAME\tREGION\tEKSCTL CREATED\n${rows.map((x) => `${x.Name}\t${x.Region}\t${x.Owned}`).join('\n')}\n`)
  }
}

function nodegroupJson(cluster: string, ng: Nodegroup) {
  return {
    StackName: `eksctl-${cluster}-nodegroup-${ng.nodegroupName}`,
    Cluster: cluster,
    Name: ng.nodegroupName,
    Status: ng.status,
    MaxSize: ng.scalingConfig?.maxSize ?? 0,
    MinSize: ng.scalingConfig?.minSize ?? 0,
    DesiredCapacity: ng.scalingConfig?.desiredSize ?? 0,
    InstanceType: ng.instanceTypes?.join(',') ?? '',
    ImageID: ng.amiType ?? 'AL2023_x86_64_STANDARD',
    CreationTime: ng.createdAt,
    NodeInstanceRoleARN: ng.nodeRole,
    AutoScalingGroupName: ng.resources?.autoScalingGroups?.[0]?.name ?? '',
    Version: ng.version,
    Type: 'managed',
  }
}

async function getNodegroups(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cluster: { type: 'string' },
      name: { type: 'string', short: 'n' },
      region: { type: 'string', short: 'r' },
      output: { type: 'string', short: 'o', default: 'table' },
    },
  })
  if (!values.cluster) throw new CliFailure('--cluster must be set')
  const r = region(values.region)
  const { eks } = clients(r)
  await describeCluster(eks, values.cluster)
  let names = (await eks.send(new ListNodegroupsCommand({ clusterName: values.cluster }))).nodegroups ?? []
  if (values.name) {
    if (!names.includes(values.name)) throw new CliFailure(`nodegroup with name ${values.name} not found`)
    names = [values.name]
  }
  const groups = await Promise.all(
    names.map(async (n) => (await eks.send(new DescribeNodegroupCommand({ clusterName: values.cluster, nodegroupName: n }))).nodegroup!),
  )
  const rows = groups.map((g) => nodegroupJson(values.cluster!, g))
  if (values.output === 'json') process.stdout.write(JSON.stringify(rows, null, '\t') + '\n')
  else
    process.stdout.write(
      `CLUSTER\tNODEGROUP\tSTATUS\tMIN SIZE\tMAX SIZE\tDESIRED CAPACITY\tINSTANCE TYPE\n${rows.map((x) => `${x.Cluster}\t${x.Name}\t${x.Status}\t${x.MinSize}\t${x.MaxSize}\t${x.DesiredCapacity}\t${x.InstanceType}`).join('\n')}\n`,
    )
}

async function scaleNodegroup(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cluster: { type: 'string' },
      name: { type: 'string', short: 'n' },
      nodes: { type: 'string', short: 'N' },
      'nodes-min': { type: 'string', short: 'm' },
      'nodes-max': { type: 'string', short: 'M' },
      region: { type: 'string', short: 'r' },
      wait: { type: 'boolean' },
    },
  })
  if (!values.cluster || !values.name) throw new CliFailure('--cluster and --name must be set')
  const r = region(values.region)
  const { eks } = clients(r)
  const ng = (await eks.send(new DescribeNodegroupCommand({ clusterName: values.cluster, nodegroupName: values.name }))).nodegroup!
  const cur = ng.scalingConfig ?? {}
  const desired = values.nodes !== undefined ? Number(values.nodes) : (cur.desiredSize ?? 0)
  const min = values['nodes-min'] !== undefined ? Number(values['nodes-min']) : (cur.minSize ?? 0)
  const max = values['nodes-max'] !== undefined ? Number(values['nodes-max']) : (cur.maxSize ?? desired)
  if (desired > max) throw new CliFailure(`the desired nodes ${desired} is greater than current nodes-max/maxSize ${max}`)
  if (desired < min) throw new CliFailure(`the desired nodes ${desired} is less than current nodes-min/minSize ${min}`)
  eksLog('ℹ', `scaling nodegroup "${values.name}" in cluster ${values.cluster}`)
  await eks.send(
    new UpdateNodegroupConfigCommand({
      clusterName: values.cluster,
      nodegroupName: values.name,
      scalingConfig: { desiredSize: desired, minSize: min, maxSize: max },
    }),
  )
  const selector = `eks.amazonaws.com/nodegroup=${values.name}`
  const kube = await kubeFor(values.cluster)
  const now = (await kube.list('Node', undefined, selector)).length
  // New nodes come with the node group's labels and taints only: a taint added by hand is not there.
  if (desired > now)
    await control(
      'POST',
      `/clusters/${encodeURIComponent(values.cluster)}/nodes`,
      groupNodes({ ...ng, nodegroupName: values.name }, desired - now),
    )
  if (desired < now)
    await control(
      'DELETE',
      `/clusters/${encodeURIComponent(values.cluster)}/nodes?labelSelector=${encodeURIComponent(selector)}&count=${now - desired}`,
    )
  eksLog('✔', 'nodegroup successfully scaled')
}

async function utils(sub: string, argv: string[]): Promise<void> {
  if (sub === 'write-kubeconfig') {
    const { values } = parseArgs({
      args: argv,
      options: {
        cluster: { type: 'string', short: 'c' },
        name: { type: 'string', short: 'n' },
        region: { type: 'string', short: 'r' },
        kubeconfig: { type: 'string' },
        'set-kubeconfig-context': { type: 'boolean', default: true },
        'auto-kubeconfig': { type: 'boolean' },
      },
    })
    const cluster = values.cluster ?? values.name
    if (!cluster) throw new CliFailure('--cluster must be set')
    const r = region(values.region)
    const { eks, sts } = clients(r)
    await describeCluster(eks, cluster)
    const path = await writeKubeconfig(cluster, r, sts, values.kubeconfig, values['set-kubeconfig-context'])
    eksLog('✔', `saved kubeconfig as "${path}"`)
    return
  }
  if (sub === 'update-cluster-logging') {
    const { values } = parseArgs({
      args: argv,
      options: {
        cluster: { type: 'string', short: 'c' },
        name: { type: 'string', short: 'n' },
        region: { type: 'string', short: 'r' },
        'enable-types': { type: 'string' },
        'disable-types': { type: 'string' },
        approve: { type: 'boolean' },
      },
    })
    const cluster = values.cluster ?? values.name
    if (!cluster) throw new CliFailure('--cluster must be set')
    const r = region(values.region)
    const { eks, logs } = clients(r)
    const c = await describeCluster(eks, cluster)
    const current = new Set<string>((c.logging?.clusterLogging ?? []).filter((l) => l.enabled).flatMap((l) => (l.types ?? []) as string[]))
    const split = (s?: string) =>
      s
        ? enabledTypes(
            s
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean),
          )
        : []
    const enable = split(values['enable-types'])
    const disable = split(values['disable-types'])
    for (const t of [...enable, ...disable])
      if (!LOG_TYPES.includes(t)) throw new CliFailure(`unknown log type "${t}"; valid types are: ${LOG_TYPES.join(', ')}, all`)
    const overlap = enable.filter((t) => disable.includes(t))
    if (overlap.length) throw new CliFailure(`log types cannot be part of --enable-types and --disable-types`)
    const next = new Set([...current, ...enable].filter((t) => !disable.includes(t)))
    const same = next.size === current.size && [...next].every((t) => current.has(t))
    if (same) {
      eksLog('ℹ', `CloudWatch logging for cluster "${cluster}" in "${r}" is already up-to-date`)
      return
    }
    const enabled = LOG_TYPES.filter((t) => next.has(t))
    const disabled = LOG_TYPES.filter((t) => !next.has(t))
    const describe = `(enable types: ${enabled.join(', ') || 'none'} & disable types: ${disabled.join(', ') || 'none'})`
    if (!values.approve) {
      eksLog('ℹ', `(plan) would update CloudWatch logging for cluster "${cluster}" in "${r}" ${describe}`)
      eksLog('!', `no changes were applied, run again with '--approve' to apply the changes`)
      return
    }
    const update = await eks.send(
      new UpdateClusterConfigCommand({
        name: cluster,
        logging: {
          clusterLogging: [
            ...(enabled.length ? [{ types: enabled as never, enabled: true }] : []),
            ...(disabled.length ? [{ types: disabled as never, enabled: false }] : []),
          ],
        },
      }),
    )
    // pkg/eks/update.go@v0.228.0:160-166, 261-270: UpdateClusterConfig, then wait for the update to succeed.
    for (const id = update.update?.id; id; ) {
      const u = (await eks.send(new DescribeUpdateCommand({ name: cluster, updateId: id }))).update
      if (u?.status === 'Successful') break
      if (u?.status === 'Failed' || u?.status === 'Cancelled')
        throw new CliFailure(`waiter state transitioned to Failure: update ${id}: ${u.status}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    if (enabled.length) {
      try {
        await logs.send(new CreateLogGroupCommand({ logGroupName: `/aws/eks/${cluster}/cluster` }))
      } catch (e) {
        if ((e as Error).name !== 'ResourceAlreadyExistsException') throw e
      }
    }
    eksLog(
      '✔',
      `configured CloudWatch logging for cluster "${cluster}" in "${r}" ${describe.replace('enable types', 'enabled types').replace('disable types', 'disabled types')}`,
    )
    return
  }
  throw new CliFailure(`unknown command "${sub}" for "eksctl utils"`)
}

// --- add-ons -------------------------------------------------------------------------------------

interface AssociationSummary {
  AssociationID: string
  Namespace: string
  ServiceAccount: string
  RoleARN: string
}

interface AddonSummary {
  Name: string
  Version: string
  NewerVersion: string
  IAMRole: string
  Status: string
  ConfigurationValues: string
  /** pkg/actions/addon/get.go@v0.230.0:36-40. */
  Issues: { Code: string; Message: string; ResourceIDs: string[] }[] | null
  /** pkg/actions/addon/get.go@v0.230.0:17-22, 95-115 (a nil slice prints as null). */
  PodIdentityAssociations: AssociationSummary[] | null
}

const SIMULATED_ADDONS = [ADDON_NAME, POD_IDENTITY_AGENT]
const AGENT_VERSION = 'v1.3.10-eksbuild.2'

async function installAddon(cluster: string, r: string, a: Addon, associations: AssociationSummary[] | null): Promise<AddonSummary> {
  const kube = await kubeFor(cluster)
  let v: string
  if (a.name === POD_IDENTITY_AGENT) {
    for (const o of podIdentityAgentObjects()) await kube.apply(o, 'eks')
    v = AGENT_VERSION
  } else {
    for (const o of cloudwatchAddonObjects(cluster, r, parseConfigurationValues(a.configurationValues))) await kube.apply(o, 'eks')
    v = !a.version || a.version === 'latest' ? ADDON_VERSIONS.at(-1)! : a.version
    if (!ADDON_VERSIONS.includes(v))
      throw new CliFailure(`addon version ${v} not found for ${ADDON_NAME}; available: ${ADDON_VERSIONS.join(', ')}`)
  }
  const summary: AddonSummary = {
    Name: a.name,
    Version: v,
    NewerVersion: a.name !== ADDON_NAME || ADDON_VERSIONS.at(-1) === v ? '' : ADDON_VERSIONS.at(-1)!,
    IAMRole: '',
    Status: 'ACTIVE',
    ConfigurationValues: a.configurationValues ?? '',
    Issues: null,
    PodIdentityAssociations: associations?.length ? associations : null,
  }
  await control('PUT', `/clusters/${encodeURIComponent(cluster)}/addons/${a.name}`, summary)
  return summary
}

/**
 * An add-on's Pod Identity associations brought to `wanted`: a role per service account made by
 * its stack (pkg/actions/podidentityassociation/iam_role_creator.go@v0.230.0) unless roleARN is
 * given, and the association. eksctl hands them to EKS inside CreateAddon/UpdateAddon
 * (pkg/actions/addon/create.go:147-163, update.go:101-125), where EKS makes the associations; the
 * stand-in makes the same associations through the EKS API. Those no longer wanted go, with
 * their roles (update.go:162-171).
 */
async function reconcileAssociations(cluster: string, r: string, a: Addon, existing: AssociationSummary[]): Promise<AssociationSummary[]> {
  const { eks, iam } = clients(r)
  const wanted = a.podIdentityAssociations ?? []
  const kept: AssociationSummary[] = []
  for (const e of existing) {
    if (wanted.some((w) => w.serviceAccountName === e.ServiceAccount && w.namespace === e.Namespace)) kept.push(e)
    else await dropAssociation(eks, iam, cluster, a.name, e)
  }
  for (const w of wanted) {
    const roleName = podIdentityRoleName(cluster, a.name, w.serviceAccountName!)
    const roleArn = w.roleARN ?? (await ensureRole(iam, roleName, 'pods', w.permissionPolicyARNs ?? [], w.permissionsBoundaryARN))
    if (kept.some((k) => k.ServiceAccount === w.serviceAccountName && k.Namespace === w.namespace)) continue
    eksLog('ℹ', `creating pod identity association for service account "${w.namespace}/${w.serviceAccountName}"`)
    const id = await eks
      .send(
        new CreatePodIdentityAssociationCommand({
          clusterName: cluster,
          namespace: w.namespace,
          serviceAccount: w.serviceAccountName,
          roleArn,
        }),
      )
      .then((out) => out.association!.associationId!)
      .catch((err: Error) => leftByThisAddon(eks, cluster, w, roleArn, err))
    kept.push({
      AssociationID: id,
      Namespace: w.namespace!,
      ServiceAccount: w.serviceAccountName!,
      RoleARN: roleArn,
    })
  }
  return kept
}

/**
 * EKS makes an add-on's associations inside CreateAddon, in one request (create.go:147-163): an
 * interrupted eksctl leaves both or neither. The stand-in makes them in calls of its own before the
 * add-on, so a kill between leaves an association EKS could not have: one for this add-on's service
 * account, to the role eksctl made for it. That one is taken as made by this request; any other
 * association of the service account (someone's own) is the conflict EKS reports.
 */
async function leftByThisAddon(eks: EKSClient, cluster: string, w: PodIdentityAssociation, roleArn: string, err: Error): Promise<string> {
  if (err.name !== 'ResourceInUseException') throw err
  const listed = await eks.send(
    new ListPodIdentityAssociationsCommand({ clusterName: cluster, namespace: w.namespace, serviceAccount: w.serviceAccountName }),
  )
  for (const a of listed.associations ?? []) {
    const d = await eks.send(new DescribePodIdentityAssociationCommand({ clusterName: cluster, associationId: a.associationId }))
    if (d.association?.roleArn === roleArn) return a.associationId!
  }
  throw err
}

async function dropAssociation(eks: EKSClient, iam: IAMClient, cluster: string, addonName: string, e: AssociationSummary): Promise<void> {
  await eks.send(new DeletePodIdentityAssociationCommand({ clusterName: cluster, associationId: e.AssociationID })).catch((err: Error) => {
    if (err.name !== 'ResourceNotFoundException') throw err
  })
  if (e.RoleARN.endsWith(`/${podIdentityRoleName(cluster, addonName, e.ServiceAccount)}`))
    await deleteRole(iam, podIdentityRoleName(cluster, addonName, e.ServiceAccount))
}

function addonArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      'config-file': { type: 'string', short: 'f' },
      cluster: { type: 'string', short: 'c' },
      name: { type: 'string' },
      version: { type: 'string' },
      region: { type: 'string', short: 'r' },
      force: { type: 'boolean' },
      wait: { type: 'boolean' },
      output: { type: 'string', short: 'o', default: 'table' },
      'configuration-values': { type: 'string' },
    },
  }).values
}

/** The add-ons to act on: from -f (addons[]) or from --name/--version flags. */
function addonTargets(v: ReturnType<typeof addonArgs>): { cluster: string; region: string; addons: Addon[] } {
  if (v['config-file']) {
    const c = loadClusterConfig(v['config-file'])
    return { cluster: c.metadata.name, region: region(v.region, c), addons: c.addons ?? [] }
  }
  if (!v.cluster || !v.name) throw new CliFailure('--cluster and --name must be set (or -f)')
  return {
    cluster: v.cluster,
    region: region(v.region),
    addons: [{ name: v.name, version: v.version, configurationValues: v['configuration-values'] }],
  }
}

function checkAddonName(name: string): void {
  if (!SIMULATED_ADDONS.includes(name))
    throw new CliFailure(`simulator: add-on "${name}" is not simulated (only ${SIMULATED_ADDONS.join(' and ')})`)
}

const addonPath = (cluster: string, name: string) => `/clusters/${encodeURIComponent(cluster)}/addons/${name}`

async function addon(verb: string, argv: string[]): Promise<void> {
  const v = addonArgs(argv)
  if (verb === 'get') {
    if (!v.cluster) throw new CliFailure('--cluster must be set')
    const r = region(v.region)
    await describeCluster(clients(r).eks, v.cluster)
    let list = ((await control('GET', `/clusters/${encodeURIComponent(v.cluster)}/addons`)) ?? []) as AddonSummary[]
    if (v.name) {
      list = list.filter((a) => a.Name === v.name)
      if (!list.length)
        throw new CliFailure(
          `no addon found with name ${v.name}: operation error EKS: DescribeAddon, https response error StatusCode: 404, ResourceNotFoundException: No addon: ${v.name} found in cluster: ${v.cluster}`,
        )
    }
    // eksctl-io/eksctl v0.230.0 pkg/ctl/get/addon.go:119 and pkg/printers/json.go:54-58: the JSON
    // indented by four spaces, no newline after it; then, with --name, :124-127 print each health
    // issue as `Issue: %+v` on stdout, right after the closing bracket.
    if (v.output === 'json') process.stdout.write(JSON.stringify(list, null, '    '))
    else
      process.stdout.write(
        `NAME\tVERSION\tSTATUS\tISSUES\tIAMROLE\tUPDATE AVAILABLE\tCONFIGURATION VALUES\n${list.map((a) => `${a.Name}\t${a.Version}\t${a.Status}\t${(a.Issues ?? []).length}\t\t${a.NewerVersion}\t${a.ConfigurationValues}`).join('\n')}\n`,
      )
    if (v.name)
      for (const i of list.flatMap((a) => a.Issues ?? []))
        process.stdout.write(`Issue: {Code:${i.Code} Message:${i.Message} ResourceIDs:[${i.ResourceIDs.join(' ')}]}\n`)
    return
  }
  const t = addonTargets(v)
  for (const a of t.addons) {
    checkAddonName(a.name)
    validateAddon(a)
  }
  await describeCluster(clients(t.region).eks, t.cluster)
  const get = async (name: string) => (await control('GET', addonPath(t.cluster, name))) as AddonSummary | undefined
  if (verb === 'create' || verb === 'update') {
    // pkg/ctl/create/addon.go@v0.230.0:143-169 (and update/addon.go:125-139): associations need
    // the Pod Identity Agent, installed or (create only) in the same file, where it goes first.
    const wantsPodIdentity = t.addons.some((a) => a.podIdentityAssociations?.length)
    const agentInFile = verb === 'create' && t.addons.some((a) => a.name === POD_IDENTITY_AGENT)
    if (wantsPodIdentity && !agentInFile && !(await get(POD_IDENTITY_AGENT)))
      throw new CliFailure(
        `the "${POD_IDENTITY_AGENT}" addon must be installed to create pod identity associations; please enable it using \`eksctl create addon --cluster=${t.cluster} --name=${POD_IDENTITY_AGENT}\`, or by adding it to the config file`,
      )
    t.addons.sort((x, y) => Number(y.name === POD_IDENTITY_AGENT) - Number(x.name === POD_IDENTITY_AGENT))
  }
  for (const a of t.addons) {
    const existing = await get(a.name)
    if (verb === 'create') {
      if (existing) {
        eksLog('ℹ', `"${a.name}" addon is already present on the cluster, as an EKS managed addon, skipping creation`)
        continue
      }
      eksLog('ℹ', `creating addon "${a.name}"`)
      const associations = a.podIdentityAssociations?.length ? await reconcileAssociations(t.cluster, t.region, a, []) : null
      await installAddon(t.cluster, t.region, a, associations)
      eksLog('✔', `created addon "${a.name}"`)
    } else if (verb === 'update') {
      if (!existing)
        throw new CliFailure(
          `addon ${a.name} not found: operation error EKS: DescribeAddon, https response error StatusCode: 404, ResourceNotFoundException: No addon: ${a.name} found in cluster: ${t.cluster}`,
        )
      const had = existing.PodIdentityAssociations ?? []
      // pkg/actions/addon/update.go@v0.230.0:80-85: associations are removed only by an explicit [].
      if (had.length && a.podIdentityAssociations === undefined)
        throw new CliFailure(
          `addon ${a.name} has pod identity associations, to remove pod identity associations from an addon, addon.podIdentityAssociations must be explicitly set to []; if the addon was migrated to use pod identity, addon.podIdentityAssociations must be set to values obtained from \`aws eks describe-pod-identity-association --cluster-name=${t.cluster} --association-id=${had[0]!.AssociationID}\``,
        )
      eksLog('ℹ', `updating addon`)
      const associations = a.podIdentityAssociations === undefined ? had : await reconcileAssociations(t.cluster, t.region, a, had)
      await installAddon(
        t.cluster,
        t.region,
        { ...a, version: a.version ?? existing.Version, configurationValues: a.configurationValues ?? existing.ConfigurationValues },
        associations,
      )
      eksLog('✔', `addon "${a.name}" updated`)
    } else if (verb === 'delete') {
      if (!existing)
        throw new CliFailure(
          `addon ${a.name} not found: operation error EKS: DescribeAddon, https response error StatusCode: 404, ResourceNotFoundException: No addon: ${a.name} found in cluster: ${t.cluster}`,
        )
      await removeAddon(t.cluster, t.region, existing)
      eksLog('✔', `deleted addon: ${a.name}`)
    }
  }
}

/** The add-on's objects, its associations and their roles, and its record. */
async function removeAddon(cluster: string, r: string, existing: AddonSummary): Promise<void> {
  const { eks, iam } = clients(r)
  for (const e of existing.PodIdentityAssociations ?? []) await dropAssociation(eks, iam, cluster, existing.Name, e)
  const kube = await kubeFor(cluster)
  const objects = existing.Name === POD_IDENTITY_AGENT ? podIdentityAgentObjects() : cloudwatchAddonObjects(cluster, r, {})
  for (const o of objects.reverse()) await kube.delete(o.kind, o.metadata.namespace, o.metadata.name)
  await control('DELETE', addonPath(cluster, existing.Name))
}

// --- deletion ------------------------------------------------------------------------------------

/** A duration flag as eksctl takes it (Go's time.ParseDuration forms: 10s, 25m, 1h30m). */
function duration(v: string | undefined, fallbackMs: number): number {
  if (!v) return fallbackMs
  let ms = 0
  for (const [, n, u] of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    ms += Number(n) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[u as 's']
  return ms || fallbackMs
}

const labelsMatch = (sel: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Object.entries(sel ?? {}).every(([k, v]) => labels?.[k] === v)

/**
 * How many Pods a PodDisruptionBudget lets go now (kubernetes v1.32 pkg/controller/disruption/
 * disruption.go: disruptionsAllowed = currentHealthy - desiredHealthy; minAvailable as a number or
 * a percentage of the expected Pods, rounded up; maxUnavailable as expected - maxUnavailable).
 */
function disruptionsAllowed(pdb: any, pods: any[]): number {
  const matching = pods.filter(
    (p) =>
      p.metadata.namespace === pdb.metadata.namespace &&
      labelsMatch(pdb.spec?.selector?.matchLabels, p.metadata.labels) &&
      !['Succeeded', 'Failed'].includes(p.status?.phase),
  )
  const expected = matching.length
  const healthy = matching.filter(isReady).length
  const scaled = (v: number | string) => (typeof v === 'number' ? v : Math.ceil((Number(String(v).replace('%', '')) * expected) / 100))
  const desired = pdb.spec?.minAvailable !== undefined ? scaled(pdb.spec.minAvailable) : expected - scaled(pdb.spec?.maxUnavailable ?? 0)
  return Math.max(0, healthy - desired)
}

/**
 * eksctl delete nodegroup (eksctl-io/eksctl v0.230.0 pkg/ctl/delete/nodegroup.go:60-70): drains by
 * default (--drain, true), through the eviction API, which a PodDisruptionBudget refuses while it
 * allows no disruption; pkg/drain/nodegroup.go:234-263 retries such Pods every
 * --pod-eviction-wait-period (10s) until --timeout (25m), then fails `timed out waiting for
 * nodegroup "X" to be drained` (:115; wrapped in drain.go:53), and nodegroup.go:159 logs how to
 * skip the drain. DaemonSet Pods are left alone.
 */
async function deleteNodegroup(argv: string[]): Promise<void> {
  // cobra's bool flag takes --drain=false; node's parseArgs does not: read it here.
  const drainArg = argv.find((a) => /^--drain(=|$)/.test(a))
  const drain = drainArg ? !/=false$/i.test(drainArg) : true
  const { values } = parseArgs({
    args: argv.filter((a) => a !== drainArg),
    options: {
      cluster: { type: 'string' },
      name: { type: 'string', short: 'n' },
      region: { type: 'string', short: 'r' },
      wait: { type: 'boolean' },
      'disable-eviction': { type: 'boolean' },
      timeout: { type: 'string' },
      'pod-eviction-wait-period': { type: 'string' },
      'max-grace-period': { type: 'string' },
      parallel: { type: 'string' },
    },
  })
  if (!values.cluster || !values.name) throw new CliFailure('--cluster and --name must be set')
  const r = region(values.region)
  const { eks } = clients(r)
  try {
    await eks.send(new DescribeNodegroupCommand({ clusterName: values.cluster, nodegroupName: values.name }))
  } catch (e) {
    if ((e as Error).name !== 'ResourceNotFoundException') throw e
    // Only its stack is left (a failed creation): eksctl deletes the stack.
    if (failedStacks()[nodegroupStack(values.cluster, values.name)]) {
      setFailedStack(nodegroupStack(values.cluster, values.name), undefined)
      eksLog('✔', `deleted 1 nodegroup(s) from cluster "${values.cluster}"`)
      return
    }
    throw new CliFailure(`nodegroup ${values.name} not found`)
  }
  if (drain)
    await drainNodegroup(
      values.cluster,
      values.name,
      duration(values.timeout, 25 * 60_000),
      duration(values['pod-eviction-wait-period'], 10_000),
      Boolean(values['disable-eviction']),
    )
  await eks.send(new DeleteNodegroupCommand({ clusterName: values.cluster, nodegroupName: values.name }))
  // The node group's stack goes, and its NodeInstanceRole with it.
  await deleteRole(clients(r).iam, nodeRoleName(values.cluster, values.name))
  await control(
    'DELETE',
    `/clusters/${encodeURIComponent(values.cluster)}/nodes?labelSelector=${encodeURIComponent(`eks.amazonaws.com/nodegroup=${values.name}`)}&count=100000`,
  )
  eksLog('✔', `deleted 1 nodegroup(s) from cluster "${values.cluster}"`)
}

async function drainNodegroup(
  cluster: string,
  nodegroup: string,
  timeoutMs: number,
  waitMs: number,
  disableEviction: boolean,
): Promise<void> {
  const kube = await kubeFor(cluster)
  const nodes = await kube.list('Node', undefined, `eks.amazonaws.com/nodegroup=${nodegroup}`)
  const names = new Set(nodes.map((n) => n.metadata.name))
  for (const n of nodes) if (!n.spec?.unschedulable) await kube.replace({ ...n, spec: { ...n.spec, unschedulable: true } }) // cordon
  eksLog('ℹ', `cordon node(s) of nodegroup "${nodegroup}"`)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const pods = await kube.list('Pod', '*')
    const pdbs = await kube.list('PodDisruptionBudget', '*')
    const left = pods.filter(
      (p) =>
        names.has(p.spec?.nodeName) &&
        !['Succeeded', 'Failed'].includes(p.status?.phase) &&
        !(p.metadata.ownerReferences ?? []).some((o: { kind: string }) => o.kind === 'DaemonSet'),
    )
    if (!left.length) break
    let blocked = 0
    for (const p of left) {
      const covering = pdbs.filter(
        (b) => b.metadata.namespace === p.metadata.namespace && labelsMatch(b.spec?.selector?.matchLabels, p.metadata.labels),
      )
      if (!disableEviction && covering.some((b) => disruptionsAllowed(b, pods) < 1)) {
        blocked++ // 429 from the eviction API: "Cannot evict pod as it would violate the pod's disruption budget."
        continue
      }
      await kube.delete('Pod', p.metadata.namespace, p.metadata.name)
    }
    if (blocked && Date.now() >= deadline) {
      eksLog('!', `${blocked} pods are unevictable from node(s) of nodegroup "${nodegroup}"`)
      eksLog('!', `error occurred during drain, to skip drain use '--drain=false' flag`)
      throw new CliFailure(`draining nodegroups: timed out waiting for nodegroup "${nodegroup}" to be drained`)
    }
    await new Promise((res) => setTimeout(res, blocked ? Math.min(waitMs, Math.max(0, deadline - Date.now())) : 200))
  }
  eksLog('✔', `drained all nodes: [${[...names].join(' ')}]`)
}

async function deleteCluster(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string', short: 'n' },
      cluster: { type: 'string' },
      region: { type: 'string', short: 'r' },
      wait: { type: 'boolean', short: 'w' },
      'config-file': { type: 'string', short: 'f' },
      force: { type: 'boolean' },
      'disable-nodegroup-eviction': { type: 'boolean' },
    },
  })
  const config = values['config-file'] ? loadClusterConfig(values['config-file']) : undefined
  const name = values.name ?? values.cluster ?? config?.metadata.name
  if (!name) throw new CliFailure('--name must be set')
  const r = region(values.region, config)
  const { eks, sts, ec2 } = clients(r)
  // A cluster whose stack failed and rolled back: only the stack is left, and it is deleted.
  if (failedStacks()[clusterStack(name)] && !(await clusterExists(eks, name))) {
    eksLog('ℹ', `deleting EKS cluster "${name}"`)
    await new CloudFormationClient({ region: r, ...retry }).send(new DeleteStackCommand({ StackName: clusterStack(name) }))
    setFailedStack(clusterStack(name), undefined)
    eksLog('✔', `all cluster resources were deleted`)
    return
  }
  // pkg/eks/eks.go:100-112: the cleanup runs only while the cluster is operable (ACTIVE).
  if ((await describeCluster(eks, name)).status === 'ACTIVE') await cleanupLoadBalancers(name, r)
  eksLog('ℹ', `deleting EKS cluster "${name}"`)
  const { iam } = clients(r)
  // eksctl deletes the add-ons' Pod Identity role stacks and the node group stacks (their roles) with the cluster.
  for (const a of ((await control('GET', `/clusters/${encodeURIComponent(name)}/addons`)) ?? []) as AddonSummary[])
    for (const e of a.PodIdentityAssociations ?? []) await dropAssociation(eks, iam, name, a.Name, e)
  for (const ng of (await eks.send(new ListNodegroupsCommand({ clusterName: name }))).nodegroups ?? []) {
    await eks.send(new DeleteNodegroupCommand({ clusterName: name, nodegroupName: ng }))
    await deleteRole(iam, nodeRoleName(name, ng))
  }
  await deleteRole(iam, cniRoleName(name))
  await eks.send(new DeleteClusterCommand({ name }))
  await deleteRole(iam, serviceRoleName(name))
  await control('DELETE', `/clusters/${encodeURIComponent(name)}`)
  // EKS deletes the cluster security group it made.
  const sg = await clusterSecurityGroup(ec2, name)
  if (sg) await ec2.send(new DeleteSecurityGroupCommand({ GroupId: sg }))
  // Remove the kubeconfig entries eksctl wrote.
  const file = kubeconfigPath()
  if (fs.existsSync(file)) {
    const k = readKubeconfig(file)
    const ctx = await contextName(sts, name, r)
    k.contexts = k.contexts.filter((c) => c.name !== ctx)
    k.users = k.users.filter((u) => u.name !== ctx)
    k.clusters = k.clusters.filter((c) => c.name !== `${name}.${r}.eksctl.io`)
    if (k['current-context'] === ctx) k['current-context'] = ''
    fs.writeFileSync(file, YAML.stringify(k), { mode: 0o600 })
  }
  eksLog('✔', `all cluster resources were deleted`)
}

// --- dispatch ------------------------------------------------------------------------------------

await main(
  async (argv) => {
    const [verb, noun, ...rest] = argv
    if (verb === 'version') {
      const { values } = parseArgs({ args: argv.slice(1), options: { output: { type: 'string', short: 'o' } } })
      process.stdout.write(
        values.output === 'json'
          ? JSON.stringify({ Version: VERSION, PreReleaseID: '', Metadata: { BuildDate: '2026-08-21T00:00:00Z', GitCommit: '99984adb' } }) +
              '\n'
          : `${VERSION}\n`,
      )
      return
    }
    const key = `${verb} ${noun}`
    const singular = key
      .replace(/nodegroups$/, 'nodegroup')
      .replace(/clusters$/, 'cluster')
      .replace(/addons$/, 'addon')
    switch (singular) {
      case 'create cluster':
        return createCluster(rest)
      case 'create nodegroup':
        return createNodegroups(rest)
      case 'get cluster':
        return getCluster(rest)
      case 'get nodegroup':
        return getNodegroups(rest)
      case 'scale nodegroup':
        return scaleNodegroup(rest)
      case 'create addon':
      case 'get addon':
      case 'update addon':
      case 'delete addon':
        return addon(verb!, rest)
      case 'delete nodegroup':
        return deleteNodegroup(rest)
      case 'delete cluster':
        return deleteCluster(rest)
    }
    if (verb === 'utils') return utils(noun ?? '', rest)
    throw new CliFailure(
      `unknown command "${argv.join(' ')}" for "eksctl" (this stand-in simulates: version, create/get/delete cluster, create/get/scale/delete nodegroup, create/get/update/delete addon, utils write-kubeconfig, utils update-cluster-logging)`,
    )
  },
  (e) => {
    if (e instanceof CliFailure) for (const l of e.logged) eksLog(l.symbol, l.message)
    const msg = e instanceof CliFailure ? e.message : `${(e as Error).name}: ${(e as Error).message}`
    process.stderr.write(msg.startsWith('Error: ') ? `${msg}\n` : `Error: ${msg}\n`)
  },
)
