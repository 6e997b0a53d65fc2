// Reading a ClusterConfig as eksctl does: YAML, strictly (unknown fields are errors), then the
// validations eksctl runs before it calls AWS. Field lists follow eksctl's published schema.
import fs from 'node:fs'
import YAML from 'yaml'
import { CliFailure } from './common.ts'

const FIELDS: Record<string, string[]> = {
  ClusterConfig: [
    'accessConfig',
    'addons',
    'addonsConfig',
    'apiVersion',
    'autoModeConfig',
    'availabilityZones',
    'capabilities',
    'cloudWatch',
    'controlPlaneScalingConfig',
    'fargateProfiles',
    'gitops',
    'iam',
    'iamIdentityMappings',
    'identityProviders',
    'karpenter',
    'kind',
    'kubeAPIServerConfig',
    'kubeControllerManagerConfig',
    'kubeSchedulerConfig',
    'kubernetesNetworkConfig',
    'localZones',
    'managedNodeGroups',
    'metadata',
    'nodeGroups',
    'outpost',
    'privateCluster',
    'remoteNetworkConfig',
    'secretsEncryption',
    'upgradePolicy',
    'vpc',
    'zonalShiftConfig',
  ],
  ClusterMeta: ['annotations', 'forceUpdateVersion', 'name', 'region', 'rollbackConfig', 'tags', 'version'],
  ClusterVPC: [
    'autoAllocateIPv6',
    'cidr',
    'clusterEndpoints',
    'controlPlaneEgressMode',
    'controlPlaneOnPrivateSubnets',
    'controlPlaneSecurityGroupIDs',
    'controlPlaneSubnetIDs',
    'extraCIDRs',
    'extraIPv6CIDRs',
    'hostnameType',
    'id',
    'ipv6Cidr',
    'ipv6Pool',
    'manageSharedNodeSecurityGroupRules',
    'nat',
    'publicAccessCIDRs',
    'securityGroup',
    'sharedNodeSecurityGroup',
    'subnets',
  ],
  ClusterSubnets: ['private', 'public'],
  AZSubnetSpec: ['az', 'cidr', 'id'],
  ClusterEndpoints: ['privateAccess', 'publicAccess'],
  ManagedNodeGroup: [
    'additionalVolumes',
    'ami',
    'amiFamily',
    'asgSuspendProcesses',
    'availabilityZones',
    'bottlerocket',
    'capacityReservation',
    'desiredCapacity',
    'disableIMDSv1',
    'disablePodIMDS',
    'ebsOptimized',
    'efaEnabled',
    'enableDetailedMonitoring',
    'iam',
    'instanceMarketOptions',
    'instanceName',
    'instancePrefix',
    'instanceSelector',
    'instanceType',
    'instanceTypes',
    'labels',
    'launchTemplate',
    'maxPodsPerNode',
    'maxSize',
    'minSize',
    'name',
    'nodeRepairConfig',
    'outpostARN',
    'overrideBootstrapCommand',
    'placement',
    'preBootstrapCommands',
    'privateNetworking',
    'propagateASGTags',
    'releaseVersion',
    'securityGroups',
    'spot',
    'ssh',
    'subnets',
    'tags',
    'taints',
    'updateConfig',
    'volumeEncrypted',
    'volumeIOPS',
    'volumeKmsKeyID',
    'volumeName',
    'volumeSize',
    'volumeThroughput',
    'volumeType',
  ],
  NodeGroupIAM: [
    'attachPolicy',
    'attachPolicyARNs',
    'instanceProfileARN',
    'instanceRoleARN',
    'instanceRoleName',
    'instanceRolePermissionsBoundary',
    'withAddonPolicies',
  ],
  NodeGroupIAMAddonPolicies: [
    'albIngress',
    'appMesh',
    'appMeshPreview',
    'autoScaler',
    'awsLoadBalancerController',
    'certManager',
    'cloudWatch',
    'ebs',
    'efs',
    'externalDNS',
    'fsx',
    'imageBuilder',
    'xRay',
  ],
  ClusterCloudWatch: ['clusterLogging'],
  // pkg/apis/eksctl.io/v1alpha5/iam.go@v0.230.0:176-219.
  PodIdentityAssociation: [
    'namespace',
    'serviceAccountName',
    'roleARN',
    'createServiceAccount',
    'roleName',
    'permissionsBoundaryARN',
    'permissionPolicyARNs',
    'permissionPolicyName',
    'permissionPolicy',
    'wellKnownPolicies',
    'tags',
    'targetRoleARN',
    'disableSessionTags',
    'policy',
  ],
  ClusterCloudWatchLogging: ['enableTypes', 'logRetentionInDays'],
  Addon: [
    'attachPolicy',
    'attachPolicyARNs',
    'configurationValues',
    'name',
    'namespaceConfig',
    'owners',
    'permissionsBoundary',
    'podIdentityAssociations',
    'publishers',
    'resolveConflicts',
    'serviceAccountRoleARN',
    'tags',
    'types',
    'useDefaultPodIdentityAssociations',
    'version',
    'wellKnownPolicies',
  ],
  ClusterIAM: [
    'fargatePodExecutionRoleARN',
    'fargatePodExecutionRolePermissionsBoundary',
    'podIdentityAssociations',
    'serviceAccounts',
    'serviceRoleARN',
    'serviceRolePermissionsBoundary',
    'vpcResourceControllerPolicy',
    'withOIDC',
  ],
  PrivateCluster: ['additionalEndpointServices', 'enabled', 'skipEndpointCreation'],
  NodeGroupTaint: ['effect', 'key', 'value'],
  ClusterNAT: ['gateway'],
  NodeGroupSSH: ['allow', 'enableSsm', 'publicKey', 'publicKeyName', 'publicKeyPath', 'sourceSecurityGroupIds'],
  // eksctl v0.230.0 pkg/apis/eksctl.io/v1alpha5 types.go:2320-2332, access_entry.go:14-44.
  AccessConfig: ['accessEntries', 'authenticationMode', 'bootstrapClusterCreatorAdminPermissions'],
  AccessEntry: ['accessPolicies', 'kubernetesGroups', 'kubernetesUsername', 'principalARN', 'type'],
  AccessPolicy: ['accessScope', 'policyARN'],
  AccessScope: ['namespaces', 'type'],
}

/** Which definition each field's value is, for the nested objects checked strictly. */
const NESTED: Record<string, Record<string, string>> = {
  ClusterConfig: {
    metadata: 'ClusterMeta',
    vpc: 'ClusterVPC',
    managedNodeGroups: 'ManagedNodeGroup[]',
    cloudWatch: 'ClusterCloudWatch',
    addons: 'Addon[]',
    iam: 'ClusterIAM',
    privateCluster: 'PrivateCluster',
    accessConfig: 'AccessConfig',
  },
  AccessConfig: { accessEntries: 'AccessEntry[]' },
  AccessEntry: { accessPolicies: 'AccessPolicy[]' },
  AccessPolicy: { accessScope: 'AccessScope' },
  ClusterVPC: { subnets: 'ClusterSubnets', clusterEndpoints: 'ClusterEndpoints', nat: 'ClusterNAT' },
  ClusterSubnets: { private: 'AZSubnetSpec{}', public: 'AZSubnetSpec{}' },
  ManagedNodeGroup: { iam: 'NodeGroupIAM', taints: 'NodeGroupTaint[]', ssh: 'NodeGroupSSH' },
  Addon: { podIdentityAssociations: 'PodIdentityAssociation[]' },
  NodeGroupIAM: { withAddonPolicies: 'NodeGroupIAMAddonPolicies' },
  ClusterCloudWatch: { clusterLogging: 'ClusterCloudWatchLogging' },
}

function strict(value: unknown, def: string, where: string): void {
  if (def.endsWith('[]')) {
    if (!Array.isArray(value))
      throw unmarshal(`cannot unmarshal ${typeof value} into Go struct field ${where} of type []v1alpha5.${def.slice(0, -2)}`)
    value.forEach((v, i) => strict(v, def.slice(0, -2), `${where}[${i}]`))
    return
  }
  if (def.endsWith('{}')) {
    for (const [k, v] of Object.entries((value ?? {}) as object)) strict(v, def.slice(0, -2), `${where}.${k}`)
    return
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw unmarshal(
      `cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go struct field ${where} of type v1alpha5.${def}`,
    )
  const allowed = FIELDS[def]!
  for (const [k, v] of Object.entries(value)) {
    if (!allowed.includes(k)) throw unmarshal(`unknown field "${where ? `${where}.` : ''}${k}"`)
    const nested = NESTED[def]?.[k]
    if (nested && v !== undefined && v !== null) strict(v, nested, where ? `${where}.${k}` : k)
  }
}

let configFile = ''
function unmarshal(msg: string): CliFailure {
  return new CliFailure(`loading config file "${configFile}": error unmarshaling JSON: while decoding JSON: json: ${msg}`)
}

interface Taint {
  key: string
  value?: string
  effect: string
}

export interface ManagedNodeGroup {
  name: string
  instanceType?: string
  instanceTypes?: string[]
  desiredCapacity?: number
  minSize?: number
  maxSize?: number
  labels?: Record<string, string>
  taints?: Taint[]
  privateNetworking?: boolean
  volumeSize?: number
  subnets?: string[]
  iam?: { withAddonPolicies?: Record<string, boolean>; instanceRolePermissionsBoundary?: string; [k: string]: unknown }
  disablePodIMDS?: boolean
  [k: string]: unknown
}

export interface ClusterConfig {
  apiVersion: string
  kind: string
  metadata: { name: string; region: string; version?: string; tags?: Record<string, string> }
  vpc?: {
    id?: string
    cidr?: string
    securityGroup?: string
    controlPlaneSecurityGroupIDs?: string[]
    subnets?: {
      private?: Record<string, { id?: string; az?: string; cidr?: string }>
      public?: Record<string, { id?: string; az?: string; cidr?: string }>
    }
    clusterEndpoints?: { publicAccess?: boolean; privateAccess?: boolean }
    publicAccessCIDRs?: string[]
  }
  managedNodeGroups?: ManagedNodeGroup[]
  cloudWatch?: { clusterLogging?: { enableTypes?: string[]; logRetentionInDays?: number } }
  addons?: Addon[]
  iam?: { withOIDC?: boolean; serviceRolePermissionsBoundary?: string }
  privateCluster?: { enabled?: boolean }
  accessConfig?: {
    authenticationMode?: 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP'
    bootstrapClusterCreatorAdminPermissions?: boolean
    accessEntries?: {
      principalARN: string
      type?: string
      kubernetesGroups?: string[]
      kubernetesUsername?: string
      accessPolicies?: { policyARN: string; accessScope: { type: 'cluster' | 'namespace'; namespaces?: string[] } }[]
    }[]
  }
}

export const LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']
const EFFECTS = ['NoSchedule', 'NoExecute', 'PreferNoSchedule']
const RESERVED = /^([^/]*\.)?(kubernetes\.io|k8s\.io)\//
const KUBELET_ALLOWED = /^(node\.kubernetes\.io|kubelet\.kubernetes\.io)\//

export function loadClusterConfig(file: string): ClusterConfig {
  configFile = file
  let text: string
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8')
  } catch {
    throw new CliFailure(`reading config file "${file}": open ${file}: no such file or directory`)
  }
  let doc: unknown
  try {
    doc = YAML.parse(text)
  } catch (e) {
    throw new CliFailure(`loading config file "${file}": error converting YAML to JSON: ${(e as Error).message}`)
  }
  strict(doc, 'ClusterConfig', '')
  const c = doc as ClusterConfig
  if (c.apiVersion !== 'eksctl.io/v1alpha5')
    throw new CliFailure(`loading config file "${file}": no kind "${c.kind}" is registered for version "${c.apiVersion}"`)
  if (c.kind !== 'ClusterConfig')
    throw new CliFailure(`loading config file "${file}": no kind "${c.kind}" is registered for version "${c.apiVersion}"`)
  if (!c.metadata?.name) throw new CliFailure('metadata.name must be set')
  if (!c.metadata.region) throw new CliFailure('metadata.region must be set')
  return c
}

export interface PodIdentityAssociation {
  namespace?: string
  serviceAccountName?: string
  roleARN?: string
  permissionPolicyARNs?: string[]
  permissionPolicy?: Record<string, unknown>
  wellKnownPolicies?: Record<string, boolean>
  permissionsBoundaryARN?: string
}
export interface Addon {
  name: string
  version?: string
  permissionsBoundary?: string
  configurationValues?: string
  podIdentityAssociations?: PodIdentityAssociation[]
}

export const POD_IDENTITY_AGENT = 'eks-pod-identity-agent'

/** pkg/apis/eksctl.io/v1alpha5/addon.go@v0.230.0:130-195 (Addon.Validate), the Pod Identity part. */
export function validateAddon(a: Addon): void {
  const invalid = (m: string) => new CliFailure(`invalid configuration for "${a.name}" addon: ${m}`)
  if (!a.name) throw invalid('name is required')
  if (!a.podIdentityAssociations?.length) return
  if (a.name === POD_IDENTITY_AGENT) throw invalid(`cannot set pod identity associations for "${POD_IDENTITY_AGENT}" addon`)
  a.podIdentityAssociations.forEach((p, i) => {
    const path = `podIdentityAssociations[${i}]`
    if (!p.namespace) throw invalid(`${path}.namespace must be set`)
    if (!p.serviceAccountName) throw invalid(`${path}.serviceAccountName must be set`)
    const policies =
      Boolean(p.permissionPolicy && Object.keys(p.permissionPolicy).length) ||
      Boolean(p.permissionPolicyARNs?.length) ||
      Object.values(p.wellKnownPolicies ?? {}).some(Boolean)
    if (!p.roleARN && !policies)
      throw invalid(
        `at least one of the following must be specified: ${path}.roleARN, ${path}.permissionPolicy, ${path}.permissionPolicyARNs, ${path}.wellKnownPolicies`,
      )
    if (p.roleARN && p.permissionPolicyARNs?.length)
      throw invalid(`${path}.permissionPolicyARNs cannot be specified when ${path}.roleARN is set`)
  })
}

/**
 * The checks eksctl makes before any AWS call, each with eksctl's wording (eksctl-io/eksctl
 * pkg/apis/eksctl.io/v1alpha5 at v0.228.0): endpoints validation.go:44,585-597; access entries
 * :332-336 and access_entry.go:141-196; node group labels :1141-1184 (message :1172); taint effects
 * pkg/utils/taints/taints.go:67-72; sizes :1298-1329; disablePodIMDS with addon policies :740-747;
 * instance types :1348-1349; instance role :1245-1268; private networking :218-219.
 */
export function validateClusterConfig(c: ClusterConfig): void {
  // The version is judged against DescribeClusterVersions once AWS is asked (eksctl.ts resolveClusterVersion).
  for (const a of c.addons ?? []) validateAddon(a)
  const ep = c.vpc?.clusterEndpoints
  if (ep && ep.publicAccess === false && ep.privateAccess !== true)
    throw new CliFailure('Kubernetes API access must have one of public or private clusterEndpoints enabled')
  for (const t of c.cloudWatch?.clusterLogging?.enableTypes ?? []) {
    if (![...LOG_TYPES, 'all', '*'].includes(t))
      throw new CliFailure(`log type "${t}" (cloudWatch.clusterLogging.enableTypes[0]) is unknown`)
  }
  // v1alpha5 validation.go:382-391 and access_entry.go:141-196 (validateAccessEntries).
  const ac = c.accessConfig
  if (ac?.authenticationMode === 'CONFIG_MAP' && ac.accessEntries?.length)
    throw new CliFailure('accessConfig.authenticationMode must be set to either API_AND_CONFIG_MAP or API to use access entries')
  const principals = new Set<string>()
  ;(ac?.accessEntries ?? []).forEach((e, i) => {
    const path = `accessEntries[${i}]`
    if (!e.principalARN) throw new CliFailure(`${path}.principalARN must be set to a valid AWS ARN`)
    if (!/^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+/.test(e.principalARN))
      throw new CliFailure(
        `invalid ARN "${e.principalARN}": arn: ${e.principalARN.startsWith('arn:') ? 'not enough sections' : 'invalid prefix'}`,
      )
    if (principals.has(e.principalARN)) throw new CliFailure(`duplicate access entry ${path} with principal ARN "${e.principalARN}"`)
    principals.add(e.principalARN)
    ;(e.accessPolicies ?? []).forEach((p, j) => {
      const pp = `${path}.accessPolicies[${j}]`
      if (!p.policyARN) throw new CliFailure(`${pp}.policyARN must be set to a valid AWS ARN`)
      if (!/^arn:[^:]+:eks::aws:cluster-access-policy\//.test(p.policyARN))
        throw new CliFailure(`${pp}.policyARN must be a cluster-access-policy resource`)
      if (!['namespace', 'cluster'].includes(p.accessScope?.type))
        throw new CliFailure(`${pp}.accessScope.type must be set to either "namespace" or "cluster"`)
      if (p.accessScope.type === 'cluster' && p.accessScope.namespaces?.length)
        throw new CliFailure(`cannot specify ${pp}.accessScope.namespaces when accessScope is set to cluster`)
    })
  })
  const names = new Set<string>()
  ;(c.managedNodeGroups ?? []).forEach((ng, i) => {
    const path = `managedNodeGroups[${i}]`
    if (!ng.name) throw new CliFailure(`${path}.name must be set`)
    if (names.has(ng.name)) throw new CliFailure(`${path}.name "${ng.name}" is not unique`)
    names.add(ng.name)
    const reserved = Object.keys(ng.labels ?? {}).filter((k) => RESERVED.test(k) && !KUBELET_ALLOWED.test(k))
    if (reserved.length)
      throw new CliFailure(
        `the following nodegroup labels are disallowed as they have reserved prefixes [kubernetes.io/, k8s.io/]: [${reserved.join(' ')}]`,
      )
    for (const t of ng.taints ?? []) {
      if (!EFFECTS.includes(t.effect))
        throw new CliFailure(
          `invalid taint effect: ${t.effect}, unsupported taint effect. Valid taint effects are: NoSchedule, NoExecute and PreferNoSchedule`,
        )
    }
    // validation.go@v0.228.0:1298-1329 (validateNodeGroupBase's sizes: defaults, then the conflicts).
    const min = ng.minSize ?? ng.desiredCapacity ?? 2
    if (ng.minSize !== undefined && ng.desiredCapacity !== undefined && ng.desiredCapacity < ng.minSize)
      throw new CliFailure(`cannot use --nodes-min=${ng.minSize} and --nodes=${ng.desiredCapacity} at the same time`)
    if (ng.maxSize !== undefined && ng.desiredCapacity !== undefined && ng.desiredCapacity > ng.maxSize)
      throw new CliFailure(`cannot use --nodes-max=${ng.maxSize} and --nodes=${ng.desiredCapacity} at the same time`)
    if (ng.maxSize !== undefined && ng.maxSize < min)
      throw new CliFailure(`cannot use --nodes-min=${min} and --nodes-max=${ng.maxSize} at the same time`)
    // validation.go@v0.228.0:740-747 with :1186-1231: disablePodIMDS and any withAddonPolicies set to true.
    const addonPolicies = Object.entries(ng.iam?.withAddonPolicies ?? {}).filter(([, v]) => v === true)
    if (ng.disablePodIMDS === true && addonPolicies.length)
      throw new CliFailure(`${path}.disablePodIMDS and ${path}.iam.withAddonPolicies cannot be set at the same time`)
    // validation.go@v0.228.0:1348-1349.
    if (ng.instanceType && Array.isArray(ng.instanceTypes) && ng.instanceTypes.length)
      throw new CliFailure(`only one of instanceType or instanceTypes can be specified (${path})`)
    // validation.go@v0.228.0:1245-1268: an existing instance role excludes every other IAM setting.
    const iam = (ng.iam ?? {}) as Record<string, unknown>
    if (iam.instanceRoleARN)
      for (const other of ['instanceRoleName', 'attachPolicy', 'attachPolicyARNs', 'instanceRolePermissionsBoundary'])
        if (iam[other]) throw new CliFailure(`${path}.iam.instanceRoleARN and ${path}.iam.${other} cannot be set at the same time`)
    const onlyPrivate = c.vpc?.subnets?.private && !c.vpc?.subnets?.public
    if (onlyPrivate && !ng.privateNetworking)
      throw new CliFailure(`subnets for ${ng.name}: public subnets required for ${path}.privateNetworking=false`)
    if (c.privateCluster?.enabled && !ng.privateNetworking)
      throw new CliFailure(`${path}.privateNetworking must be enabled for a fully-private cluster`)
  })
}

/** What EKS itself refuses in a managed node group (after eksctl's own validation). */
export function eksNodegroupRefusal(ng: ManagedNodeGroup): string | undefined {
  const reservedLabel = Object.keys(ng.labels ?? {}).find((k) => /(^|\.)(kubernetes\.io|k8s\.io|eks\.amazonaws\.com)\//.test(k))
  if (reservedLabel)
    return `InvalidParameterException: Label cannot contain reserved prefixes [kubernetes.io/, k8s.io/, eks.amazonaws.com/]`
  const reservedTaint = (ng.taints ?? []).find((t) => /(^|\.)(kubernetes\.io|k8s\.io|eks\.amazonaws\.com)\//.test(t.key))
  if (reservedTaint)
    return `InvalidParameterException: Taint key cannot contain reserved prefixes [kubernetes.io/, k8s.io/, eks.amazonaws.com/] (simulated wording: the exact EKS text is not published)`
  return undefined
}
