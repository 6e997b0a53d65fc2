// The IAM roles eksctl's CloudFormation stacks make, made in moto by the eksctl stand-in: a managed
// node group's NodeInstanceRole and an add-on's Pod Identity role. Their policies decide what the
// simulated CloudWatch agents may send (sim/kube/daemon.ts agentCredentials).
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DetachRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam'

const AWS_POLICY = (name: string) => `arn:aws:iam::aws:policy/${name}`

/**
 * eksctl pkg/cfn/builder/iam_helper.go@v0.230.0:149-175 (makeManagedPolicies) for a managed group
 * without attachPolicyARNs: AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy (without withOIDC),
 * AmazonEC2ContainerRegistryPullOnly, AmazonSSMManagedInstanceCore; CloudWatchAgentServerPolicy
 * with iam.withAddonPolicies.cloudWatch.
 */
export function nodeRolePolicies(ng: { iam?: { withAddonPolicies?: Record<string, boolean> } }, withOIDC = false): string[] {
  return [
    'AmazonEKSWorkerNodePolicy',
    ...(withOIDC ? [] : ['AmazonEKS_CNI_Policy']),
    'AmazonEC2ContainerRegistryPullOnly',
    'AmazonSSMManagedInstanceCore',
    ...(ng.iam?.withAddonPolicies?.cloudWatch ? ['CloudWatchAgentServerPolicy'] : []),
  ].map(AWS_POLICY)
}

export const nodeRoleName = (cluster: string, ng: string) => `eksctl-${cluster}-nodegroup-${ng}-NodeInstanceRole-SIM`.slice(0, 64)

/**
 * The role of an add-on's Pod Identity association: eksctl's stack
 * eksctl-<cluster>-addon-<addon>-podidentityrole-<serviceAccount>
 * (pkg/actions/podidentityassociation/iam_role_creator.go@v0.230.0:64-66) with a role trusted by
 * pods.eks.amazonaws.com for sts:AssumeRole and sts:TagSession (pkg/cfn/template/iam_helpers.go:85-97).
 * CloudFormation names the role after the stack, cut short, with a suffix.
 */
export const podIdentityRoleName = (cluster: string, addon: string, serviceAccount: string) =>
  `${`eksctl-${cluster}-addon-${addon}-podidentityrole-${serviceAccount}`.slice(0, 54)}-Role1-SIM`

const trust = (service: string, actions: string[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: actions }] })

/** The cluster's service role (pkg/cfn/builder/iam.go@v0.228.0:104-137): trusted by EKS, with AmazonEKSClusterPolicy. */
export const serviceRoleName = (cluster: string) => `eksctl-${cluster}-cluster-ServiceRole-SIM`.slice(0, 64)
export const SERVICE_ROLE_POLICIES = [AWS_POLICY('AmazonEKSClusterPolicy'), AWS_POLICY('AmazonEKSVPCResourceController')]

/**
 * The IRSA role of the vpc-cni add-on that eksctl makes with withOIDC (pkg/actions/addon/create.go@v0.228.0:
 * 223-241, its stack eksctl-<cluster>-addon-vpc-cni), with AmazonEKS_CNI_Policy and the add-on's
 * permissionsBoundary when the file lists vpc-cni (none when eksctl adds it by default).
 */
export const cniRoleName = (cluster: string) => `eksctl-${cluster}-addon-vpc-cni-Role1-SIM`.slice(0, 64)
export const CNI_ROLE_POLICIES = [AWS_POLICY('AmazonEKS_CNI_Policy')]

/**
 * Makes the role (or finds it made) with exactly these managed policies; policies moto does not
 * know are left out. `boundary`: the permissions boundary CloudFormation sets on it (the role's
 * PermissionsBoundary property), so CreateRole is judged with iam:PermissionsBoundary as on AWS.
 */
export async function ensureRole(
  iam: IAMClient,
  name: string,
  service: 'ec2' | 'pods' | 'eks' | 'oidc',
  policies: string[],
  boundary?: string,
): Promise<string> {
  let arn: string
  try {
    const doc =
      service === 'ec2'
        ? trust('ec2.amazonaws.com', ['sts:AssumeRole'])
        : service === 'eks'
          ? trust('eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession'])
          : service === 'oidc'
            ? trust('oidc.eks.amazonaws.com', ['sts:AssumeRoleWithWebIdentity'])
            : trust('pods.eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession'])
    arn = (
      await iam.send(
        new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: doc, ...(boundary ? { PermissionsBoundary: boundary } : {}) }),
      )
    ).Role!.Arn!
  } catch (e) {
    if ((e as Error).name !== 'EntityAlreadyExistsException') throw e
    arn = `arn:aws:iam::123456789012:role/${name}`
  }
  for (const p of policies)
    await iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: p })).catch((e: Error) => {
      // moto 5.2.1's copy of AWS's managed policies predates AmazonEC2ContainerRegistryPullOnly (2024).
      if (e.name !== 'NoSuchEntityException' && e.name !== 'NoSuchEntity') throw e
    })
  return arn
}

async function attachedPolicies(iam: IAMClient, name: string): Promise<string[]> {
  try {
    return ((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))).AttachedPolicies ?? []).map((p) => p.PolicyArn!)
  } catch (e) {
    if ((e as Error).name === 'NoSuchEntityException' || (e as Error).name === 'NoSuchEntity') return []
    throw e
  }
}

/** Deletes a role made here (its stack's deletion): managed policies detached first. Gone already: nothing to do. */
export async function deleteRole(iam: IAMClient, name: string): Promise<void> {
  for (const p of await attachedPolicies(iam, name)) await iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: p }))
  await iam.send(new DeleteRoleCommand({ RoleName: name })).catch((e: Error) => {
    if (e.name !== 'NoSuchEntityException' && e.name !== 'NoSuchEntity') throw e
  })
}
