// The permissions boundary every role the runbook and eksctl make carries: the bastion's role
// (01), the cluster's service role, the node groups' roles and the add-ons' roles (03, 05, 06
// through eksctl's ClusterConfig). A role's effective permissions are what its policies allow
// AND what its boundary allows (IAM user guide, access_policies_boundaries), so whoever may make
// an `eksctl-*` role with any policy attached (eksctl's IamLimitedAccess) still cannot make one
// that does more than this. The operator policy allows creating a role, or adding to a role's
// policies, only with this boundary on it (iam:PermissionsBoundary), and nobody holding that
// policy may change, replace or remove it (lib/iam/operator-policy.ts RunbookBoundaryFixed).
//
// One per account, not per deployment: its statements name kinds of resources (eksctl-* roles,
// the runbook's tables, parameters and buckets), never a cluster, so a second deployment or the
// Auditor needs no change to it. What it allows is the union of what those roles need: their
// AWS managed policies (AmazonEKSClusterPolicy, AmazonEKSWorkerNodePolicy,
// AmazonEC2ContainerRegistryPullOnly, AmazonSSMManagedInstanceCore, AmazonEKS_CNI_Policy,
// CloudWatchAgentServerPolicy) and, for the bastion's role with BASTION_OPERATOR_POLICY=true, the
// operator policy's own statements. What it leaves out is the point: no other IAM role or
// policy, no parameter outside /aws/, /scalardl-runbook/ and the CloudWatch agent's (closing
// AmazonSSMManagedInstanceCore's ssm:GetParameter on "*"), no DynamoDB write on a table that is
// not tagged as a deployment's.
import {
  arnsOf,
  decryptThroughSsm,
  type PolicyDocument,
  SERVICE_LINKED_SERVICES,
  type Statement,
  TABLE_READ_ACTIONS,
  TABLE_WRITE_ACTIONS,
} from './document.ts'

export const BOUNDARY_NAME = 'scalardl-runbook-boundary'

/** The boundary's ARN in an account ("*": any account, for a policy printed without one). */
export function boundaryArn(account = '*', partition = 'aws'): string {
  return `arn:${partition}:iam::${account}:policy/${BOUNDARY_NAME}`
}

/** The condition that a role created or changed carries this boundary (IAM's iam:PermissionsBoundary key). */
export function withBoundary(account = '*'): NonNullable<Statement['Condition']> {
  return account === '*'
    ? { StringLike: { 'iam:PermissionsBoundary': [boundaryArn('*')] } }
    : { StringEquals: { 'iam:PermissionsBoundary': [boundaryArn(account)] } }
}

/** The IAM actions that create a role or add to what it may do: each needs the boundary on the role. */
export const GRANTING_ROLE_ACTIONS = ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:PutRolePermissionsBoundary']

/** Actions that would change or remove the boundary itself: denied to every holder of the operator policy and of the boundary. */
export const BOUNDARY_CHANGES = ['iam:CreatePolicyVersion', 'iam:DeletePolicy', 'iam:DeletePolicyVersion', 'iam:SetDefaultPolicyVersion']

/** The roles the runbook and eksctl make, and their instance profiles. */
function managedRoleResources(account = '*'): string[] {
  const { iam } = arnsOf(account)
  return [iam('role/eksctl-*'), iam('role/*-bastion'), iam('instance-profile/eksctl-*'), iam('instance-profile/*-bastion')]
}

export function boundaryPolicy(account = '*'): PolicyDocument {
  const { iam, table } = arnsOf(account)
  return {
    Version: '2012-10-17',
    Statement: [
      {
        // The services eksctl drives and the nodes, the control plane, the CNI and the agents use.
        Sid: 'BoundaryServices',
        Effect: 'Allow',
        Action: [
          'ec2:*',
          'elasticloadbalancing:*',
          'autoscaling:*',
          'cloudwatch:*',
          'cloudformation:*',
          'eks:*',
          'eks-auth:AssumeRoleForPodIdentity',
          'logs:*',
          'sts:GetCallerIdentity',
          'servicequotas:GetServiceQuota',
          'servicequotas:GetAWSDefaultServiceQuota',
          'kms:CreateGrant',
          'kms:DescribeKey',
          // AmazonEC2ContainerRegistryPullOnly
          'ecr:GetAuthorizationToken',
          'ecr:BatchCheckLayerAvailability',
          'ecr:GetDownloadUrlForLayer',
          'ecr:BatchGetImage',
          'ecr:BatchImportUpstreamImage',
          // CloudWatchAgentServerPolicy's traces
          'xray:PutTraceSegments',
          'xray:PutTelemetryRecords',
          'xray:GetSamplingRules',
          'xray:GetSamplingTargets',
          'xray:GetSamplingStatisticSummaries',
          // AmazonSSMManagedInstanceCore, without its ssm:GetParameter(s) on "*"
          'ssm:DescribeAssociation',
          'ssm:GetDeployablePatchSnapshotForInstance',
          'ssm:GetDocument',
          'ssm:DescribeDocument',
          'ssm:GetManifest',
          'ssm:ListAssociations',
          'ssm:ListInstanceAssociations',
          'ssm:PutInventory',
          'ssm:PutComplianceItems',
          'ssm:PutConfigurePackageResult',
          'ssm:UpdateAssociationStatus',
          'ssm:UpdateInstanceAssociationStatus',
          'ssm:UpdateInstanceInformation',
          'ssmmessages:*',
          'ec2messages:*',
          // The operator policy's RunbookTablesAutoScaling (99 --delete-data)
          'application-autoscaling:DescribeScalableTargets',
          'application-autoscaling:DeregisterScalableTarget',
          // The operator policy's Run Command (npm run bastion, 01's bootstrap)
          'ssm:SendCommand',
          'ssm:GetCommandInvocation',
          'ssm:ListCommands',
        ],
        Resource: '*',
      },
      {
        Sid: 'BoundaryParameters',
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:GetParameters'],
        Resource: [
          'arn:aws:ssm:*::parameter/aws/*',
          `arn:aws:ssm:*:${account}:parameter/scalardl-runbook/*`,
          `arn:aws:ssm:*:${account}:parameter/AmazonCloudWatch-*`,
        ],
      },
      {
        // The runbook's own parameters, as the operator policy's RunbookSecrets.
        Sid: 'BoundaryRunbookParameters',
        Effect: 'Allow',
        Action: ['ssm:GetParametersByPath', 'ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:ListTagsForResource', 'ssm:DeleteParameters'],
        Resource: `arn:aws:ssm:*:${account}:parameter/scalardl-runbook/*`,
      },
      decryptThroughSsm('BoundaryDecrypt', account),
      {
        Sid: 'BoundaryStaging',
        Effect: 'Allow',
        Action: ['s3:*'],
        Resource: ['arn:aws:s3:::scalardl-runbook-staging-*', 'arn:aws:s3:::scalardl-runbook-staging-*/*'],
      },
      {
        Sid: 'BoundaryTablesRead',
        Effect: 'Allow',
        Action: ['dynamodb:ListTables', 'dynamodb:ListBackups', ...TABLE_READ_ACTIONS],
        Resource: '*',
      },
      { Sid: 'BoundaryLockTable', Effect: 'Allow', Action: ['dynamodb:*'], Resource: table('scalardl-runbook-locks') },
      {
        Sid: 'BoundaryTablesClaim',
        Effect: 'Allow',
        Action: ['dynamodb:TagResource'],
        Resource: table('*'),
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['scalardl-runbook/cluster'] } },
      },
      {
        Sid: 'BoundaryTablesWrite',
        Effect: 'Allow',
        Action: TABLE_WRITE_ACTIONS,
        Resource: table('*'),
        Condition: { StringLike: { 'aws:ResourceTag/scalardl-runbook/cluster': ['*'] } },
      },
      {
        // The runbook's and eksctl's roles, as the operator policy allows them (minus what needs the boundary).
        Sid: 'BoundaryRoles',
        Effect: 'Allow',
        Action: [
          'iam:GetRole',
          'iam:DeleteRole',
          'iam:TagRole',
          'iam:ListRoleTags',
          'iam:DetachRolePolicy',
          'iam:DeleteRolePolicy',
          'iam:GetRolePolicy',
          'iam:ListRolePolicies',
          'iam:ListAttachedRolePolicies',
          'iam:PassRole',
          'iam:CreateInstanceProfile',
          'iam:GetInstanceProfile',
          'iam:DeleteInstanceProfile',
          'iam:TagInstanceProfile',
          'iam:AddRoleToInstanceProfile',
          'iam:RemoveRoleFromInstanceProfile',
          'iam:ListInstanceProfiles',
          'iam:ListInstanceProfilesForRole',
          'iam:SimulatePrincipalPolicy',
          'iam:GetOpenIDConnectProvider',
          'iam:CreateOpenIDConnectProvider',
          'iam:DeleteOpenIDConnectProvider',
          'iam:TagOpenIDConnectProvider',
        ],
        Resource: [...managedRoleResources(account), iam('oidc-provider/*')],
      },
      {
        Sid: 'BoundaryRolesBounded',
        Effect: 'Allow',
        Action: GRANTING_ROLE_ACTIONS,
        Resource: managedRoleResources(account).filter((r) => r.includes(':role/')),
        Condition: withBoundary(account),
      },
      {
        Sid: 'BoundaryServiceLinkedRoles',
        Effect: 'Allow',
        Action: ['iam:CreateServiceLinkedRole'],
        Resource: '*',
        Condition: {
          StringEquals: {
            'iam:AWSServiceName': SERVICE_LINKED_SERVICES,
          },
        },
      },
      {
        // As the operator policy's RunbookBoundary: read it, and make it where it is missing (a
        // document other than the runbook's is reported as drift by every 01, 03 and 05).
        Sid: 'BoundaryItself',
        Effect: 'Allow',
        Action: ['iam:CreatePolicy', 'iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions'],
        Resource: boundaryArn(account),
      },
      {
        Sid: 'BoundaryFixed',
        Effect: 'Deny',
        Action: [...BOUNDARY_CHANGES, 'iam:DeleteRolePermissionsBoundary'],
        Resource: '*',
      },
    ],
  }
}
