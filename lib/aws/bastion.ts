// The bastion: an Amazon Linux instance in a public subnet with a public IP and IMDSv2 required,
// reached through SSM Session Manager (its instance profile allows it) or SSH when configured.
import {
  DescribeInstancesCommand,
  ModifyInstanceMetadataOptionsCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2'
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRoleTagsCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam'
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm'
import { isAwsError } from './clients.ts'
import { RunbookError } from '../engine/errors.ts'
import { requestToken, single } from './discover.ts'
import { BOOTSTRAP_TAG } from '../bastion/bootstrap.ts'
import { CLUSTER_TAG, roleFilters, runbookTags } from './tags.ts'

const SSM_POLICY_ARN = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore'

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped']

export function bastionRoleName(cluster: string): string {
  return `${cluster}-bastion`
}

export async function findBastion(ec2: EC2Client, cluster: string): Promise<Instance | undefined> {
  const out = await ec2.send(
    new DescribeInstancesCommand({ Filters: [...roleFilters(cluster, 'bastion'), { Name: 'instance-state-name', Values: LIVE_STATES }] }),
  )
  const instances = (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])
  return single(instances, 'bastion instances', (i) => i.InstanceId)
}

export async function describeInstance(ec2: EC2Client, id: string): Promise<Instance | undefined> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))
  return out.Reservations?.[0]?.Instances?.[0]
}

export function bastionDrift(i: Instance): string[] {
  const drift: string[] = []
  if (i.State?.Name === 'stopped' || i.State?.Name === 'stopping') drift.push(`start ${i.InstanceId} (${i.State.Name})`)
  if (i.MetadataOptions?.HttpTokens !== 'required') drift.push('require IMDSv2')
  return drift
}

export async function repairBastion(ec2: EC2Client, i: Instance): Promise<void> {
  if (i.MetadataOptions?.HttpTokens !== 'required') {
    await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: i.InstanceId, HttpTokens: 'required', HttpEndpoint: 'enabled' }))
  }
  if (i.State?.Name === 'stopped') await ec2.send(new StartInstancesCommand({ InstanceIds: [i.InstanceId!] }))
}

export const isArm = (instanceType: string) => /^[a-z]+\d+g[a-z]*\./.test(instanceType)

/** The current Amazon Linux 2023 AMI, from the public SSM parameter AWS maintains (never hard-coded). */
export async function latestAmazonLinuxAmi(ssm: SSMClient, instanceType: string): Promise<string> {
  const arch = isArm(instanceType) ? 'arm64' : 'x86_64'
  const out = await ssm.send(new GetParameterCommand({ Name: `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}` }))
  return out.Parameter!.Value!
}

/**
 * Launches the bastion with an idempotency token, so that a retried or lost RunInstances makes no
 * second instance. EC2 keeps answering a token with its first instance for at least 24 hours,
 * even after that instance is terminated (AWS EC2 API reference, "Ensuring idempotency"): when the
 * answer is an instance that is gone, this is a replacement, and it is asked again with the next
 * token of the series.
 */
export async function launchBastion(
  ec2: EC2Client,
  o: {
    cluster: string
    amiId: string
    instanceType: string
    subnetId: string
    securityGroupId: string
    instanceProfile: string
    keyName?: string
    /** The first-boot script (bastion/bootstrap.sh rendered), and the version it is tagged with. */
    bootstrap?: { script: string; version: string }
  },
): Promise<Instance> {
  for (let generation = 0; ; generation++) {
    const instance = await runBastion(ec2, o, generation)
    const now = await describeInstance(ec2, instance.InstanceId!)
    if (!['terminated', 'shutting-down'].includes(now?.State?.Name ?? '')) return instance
    if (generation >= 20)
      throw new RunbookError(
        `every bastion launch token answers a terminated instance (last ${instance.InstanceId})`,
        'wait a day for EC2 to forget the tokens, or change the public subnet',
      )
  }
}

async function runBastion(
  ec2: EC2Client,
  o: {
    cluster: string
    amiId: string
    instanceType: string
    subnetId: string
    securityGroupId: string
    instanceProfile: string
    keyName?: string
    bootstrap?: { script: string; version: string }
  },
  generation: number,
): Promise<Instance> {
  const tags = runbookTags({
    cluster: o.cluster,
    role: 'bastion',
    name: `${o.cluster}-bastion`,
    extra: o.bootstrap ? { [BOOTSTRAP_TAG]: o.bootstrap.version } : {},
  })
  const input: Omit<RunInstancesCommandInput, 'ClientToken'> = {
    ImageId: o.amiId,
    InstanceType: o.instanceType as never,
    MinCount: 1,
    MaxCount: 1,
    // SubnetId + SecurityGroupIds (not NetworkInterfaces) so Instance.SecurityGroups is filled;
    // the public subnet maps a public IP on launch.
    SubnetId: o.subnetId,
    SecurityGroupIds: [o.securityGroupId],
    IamInstanceProfile: { Name: o.instanceProfile },
    KeyName: o.keyName || undefined,
    // No secret is ever in it: tools, versions and checksums only.
    UserData: o.bootstrap ? Buffer.from(o.bootstrap.script).toString('base64') : undefined,
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    BlockDeviceMappings: [
      { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, Encrypted: true, VolumeType: 'gp3', DeleteOnTermination: true } },
    ],
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  }
  const out = await ec2.send(new RunInstancesCommand({ ...input, ClientToken: requestToken(input, generation) }))
  return out.Instances![0]!
}

interface BastionIdentity {
  roleExists: boolean
  roleOwned: boolean
  policyAttached: boolean
  profileExists: boolean
  profileHasRole: boolean
  /** The role's permissions boundary (its ARN), if it has one. */
  boundary?: string
  /** The runbook operator policy inline on the role (normalised JSON), if there. */
  operatorPolicy?: string
}

/** The name of the inline policy BASTION_OPERATOR_POLICY=true puts on the bastion's role. */
export const OPERATOR_POLICY_NAME = 'scalardl-runbook-operator'

/** A policy document as JSON with one spelling (IAM returns it URL-encoded). */
export function normalisePolicy(doc: string | object): string {
  return JSON.stringify(typeof doc === 'string' ? JSON.parse(/^%7B/i.test(doc) ? decodeURIComponent(doc) : doc) : doc)
}

/** The IAM role and instance profile that let Session Manager reach the bastion. */
export async function bastionIdentity(iam: IAMClient, cluster: string): Promise<BastionIdentity> {
  const name = bastionRoleName(cluster)
  const id: BastionIdentity = { roleExists: false, roleOwned: false, policyAttached: false, profileExists: false, profileHasRole: false }
  try {
    const role = (await iam.send(new GetRoleCommand({ RoleName: name }))).Role
    id.roleExists = true
    id.boundary = role?.PermissionsBoundary?.PermissionsBoundaryArn
    const [tags, policies] = await Promise.all([
      iam.send(new ListRoleTagsCommand({ RoleName: name })),
      iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name })),
    ])
    id.roleOwned = (tags.Tags ?? []).some((t) => t.Key === CLUSTER_TAG && t.Value === cluster)
    id.policyAttached = (policies.AttachedPolicies ?? []).some((p) => p.PolicyArn === SSM_POLICY_ARN)
    try {
      const doc = (await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: OPERATOR_POLICY_NAME }))).PolicyDocument
      id.operatorPolicy = doc ? normalisePolicy(doc) : undefined
    } catch (err) {
      if (!isAwsError(err, 'NoSuchEntity', 'NoSuchEntityException')) throw err
    }
  } catch (err) {
    if (!isAwsError(err, 'NoSuchEntity', 'NoSuchEntityException')) throw err
  }
  try {
    const p = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }))
    id.profileExists = true
    id.profileHasRole = (p.InstanceProfile?.Roles ?? []).some((r) => r.RoleName === name)
  } catch (err) {
    if (!isAwsError(err, 'NoSuchEntity', 'NoSuchEntityException')) throw err
  }
  return id
}

/**
 * What differs from the wanted identity; `operatorPolicy` is the wanted inline policy (normalised),
 * or undefined for none; `boundary` the permissions boundary the role must carry (lib/iam/boundary.ts).
 */
export function identityDrift(id: BastionIdentity, operatorPolicy: string | undefined, boundary: string): string[] {
  const name = 'bastion role'
  return [
    ...(id.roleExists ? [] : [`create IAM role (${name}) with the permissions boundary`]),
    ...(id.roleExists && id.boundary !== boundary ? [`set the permissions boundary ${boundary.split('/').pop()}`] : []),
    ...(id.policyAttached ? [] : ['attach AmazonSSMManagedInstanceCore']),
    ...(id.profileExists ? [] : ['create instance profile']),
    ...(id.profileHasRole ? [] : ['add the role to the instance profile']),
    ...(operatorPolicy && id.operatorPolicy !== operatorPolicy
      ? [`${id.operatorPolicy ? 'update' : 'put'} the inline policy ${OPERATOR_POLICY_NAME} (BASTION_OPERATOR_POLICY=true)`]
      : []),
    ...(!operatorPolicy && id.operatorPolicy ? [`remove the inline policy ${OPERATOR_POLICY_NAME} (BASTION_OPERATOR_POLICY=false)`] : []),
  ]
}

export async function ensureBastionIdentity(
  iam: IAMClient,
  cluster: string,
  id: BastionIdentity,
  operatorPolicy: string | undefined,
  boundary: string,
): Promise<void> {
  const name = bastionRoleName(cluster)
  const tags = runbookTags({ cluster, role: 'bastion', name })
  if (!id.roleExists) {
    await iam.send(
      new CreateRoleCommand({
        RoleName: name,
        Description: `Bastion of Scalar DL cluster ${cluster}: SSM Session Manager access`,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
        Tags: tags.map((t) => ({ Key: t.Key!, Value: t.Value! })),
        PermissionsBoundary: boundary,
      }),
    )
  } else if (id.boundary !== boundary) {
    // First, so that the policies below are put on a role that carries it (the operator policy
    // allows them only then: iam:PermissionsBoundary).
    await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: name, PermissionsBoundary: boundary }))
  }
  if (!id.policyAttached) await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: SSM_POLICY_ARN }))
  if (!id.profileExists) {
    try {
      await iam.send(
        new CreateInstanceProfileCommand({ InstanceProfileName: name, Tags: tags.map((t) => ({ Key: t.Key!, Value: t.Value! })) }),
      )
    } catch (err) {
      if (!isAwsError(err, 'EntityAlreadyExists', 'EntityAlreadyExistsException')) throw err
    }
  }
  if (!id.profileHasRole) {
    try {
      await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }))
    } catch (err) {
      if (!isAwsError(err, 'LimitExceeded', 'LimitExceededException')) throw err // the profile already holds a role
    }
  }
  if (operatorPolicy && id.operatorPolicy !== operatorPolicy)
    await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: OPERATOR_POLICY_NAME, PolicyDocument: operatorPolicy }))
  if (!operatorPolicy && id.operatorPolicy)
    await iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: OPERATOR_POLICY_NAME }))
}
