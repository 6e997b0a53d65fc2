// The "runbook operator" IAM policy: what the principal that runs the steps needs, for the AWS
// calls of the steps themselves and of the tools they run. eksctl's part is its documented
// minimum (eksctl-io/eksctl userdocs/src/usage/minimum-iam-policies.md: AmazonEC2FullAccess,
// AWSCloudFormationFullAccess, EksAllAccess, IamLimitedAccess); the runbook's own calls are
// scoped to its resources where IAM allows it (the bastion's role, the lock table, the Scalar DL
// tables by prefix, the clusters' log groups). `npm run iam-policy` prints it; RUNBOOK.md lists
// which steps use which statement; the rehearsal's test checks that it allows every action the
// rehearsal's AWS requests needed.
import { deploymentClusters, type Config } from '../config/load.ts'
import { BOUNDARY_CHANGES, boundaryArn, GRANTING_ROLE_ACTIONS, withBoundary } from './boundary.ts'
import {
  arnsOf,
  decryptThroughSsm,
  type PolicyDocument,
  SERVICE_LINKED_SERVICES,
  TABLE_READ_ACTIONS,
  TABLE_WRITE_ACTIONS,
} from './document.ts'

export type { Statement } from './document.ts'

export interface PolicyScope {
  /** The AWS account (default: any, "*"). */
  account?: string
  /** The clusters (the Ledger's, and the Auditor's when enabled). */
  clusters: string[]
  /** DYNAMODB_NAMESPACE_PREFIX ('' for none). */
  tablePrefix: string
}

/** The scope of a configuration: its clusters (the Auditor's too when enabled) and table prefix. */
export function policyScope(c: Config, account?: string): PolicyScope {
  return {
    account,
    clusters: deploymentClusters(c),
    tablePrefix: c.dynamodbNamespacePrefix,
  }
}

/** Why each statement is there, and which steps need it (`npm run iam-policy -- --explain`, RUNBOOK.md). */
const STATEMENT_REASONS: Record<string, { steps: string; why: string }> = {
  EksctlEc2: {
    steps: '01 02 03 05 07 99',
    why: "eksctl's documented minimum (AmazonEC2FullAccess), and the runbook's own VPC, NAT, bastion and load balancer calls",
  },
  EksctlServiceLinkedRoles: {
    steps: '03 05',
    why: 'the service-linked roles EKS, its node groups and load balancers need, and only those (iam:AWSServiceName)',
  },
  EksctlCloudFormation: {
    steps: '03 05 06 99',
    why: "eksctl's stacks (AWSCloudFormationFullAccess in eksctl's minimum); 03 reads a failed cluster stack's events",
  },
  EksctlEks: { steps: '00 03 04 05 06 07 99', why: "eksctl's EksAllAccess: clusters, node groups, add-ons, access entries, Pod Identity" },
  EksctlPublicParameters: {
    steps: '01 03 05',
    why: "AWS's public parameters only (/aws/...: the EKS and Amazon Linux AMIs), never the account's own",
  },
  EksctlIam: {
    steps: '03 05 06 99',
    why: "eksctl's IamLimitedAccess: the roles, profiles and OIDC provider eksctl makes (eksctl-*), no other role; creating or widening a role is RunbookRolesBounded's",
  },
  RunbookRolesBounded: {
    steps: '01 03 05 06',
    why: 'creating a role, or adding to its policies, only with the permissions boundary scalardl-runbook-boundary on it (iam:PermissionsBoundary)',
  },
  RunbookBoundary: {
    steps: '01 03 05',
    why: "the permissions boundary, made once per account by 01 and read to see that it is the runbook's",
  },
  RunbookBoundaryFixed: {
    steps: 'all (a denial)',
    why: 'no holder changes, replaces or removes the permissions boundary, on the policy or on any role',
  },
  RunbookBastionRole: {
    steps: '01 99',
    why: "the bastion's role and instance profile (<cluster>-bastion), made by 01 (its policies through RunbookRolesBounded) and deleted by 99",
  },
  RunbookBastionNoSelfEdit: {
    steps: 'all (a denial)',
    why: "the bastion's role may not change its own policies or trust: a shell on the bastion cannot make itself more than this policy",
  },
  RunbookBastionBootstrap: {
    steps: '01, npm run bastion -- push and run',
    why: 'SSM Run Command on the instances tagged for the deployment only',
  },
  RunbookBastionBootstrapDocument: { steps: 'as RunbookBastionBootstrap', why: 'the one document it sends: AWS-RunShellScript' },
  RunbookBastionBootstrapResult: { steps: 'as RunbookBastionBootstrap', why: "the sent commands' results" },
  RunbookBastionPush: {
    steps: 'npm run bastion -- push, 99',
    why: "the private, encrypted, expiring staging bucket and its objects (99 deletes the deployment's, and the bucket once empty)",
  },
  RunbookLockTable: {
    steps: 'every mutating step; 99 --delete-lock-table',
    why: 'the run lock (one mutating run per cluster at a time); 99 --delete-lock-table reads whose locks are in it and deletes it when only the deployment used it',
  },
  RunbookScalarDlTablesRead: {
    steps: '02 04 05 07 99',
    why: "reading the tables under DYNAMODB_NAMESPACE_PREFIX: which exist, whose they are, 05's certificates",
  },
  RunbookScalarDlTablesClaim: {
    steps: '04 05',
    why: "tagging a table the deployment's schema Job made as the deployment's, with that tag only",
  },
  RunbookScalarDlTablesWrite: {
    steps: '04 05 99',
    why: "protection, point-in-time recovery, backups and --delete-data, on the tables tagged as the deployment's only (aws:ResourceTag)",
  },
  RunbookTablesAutoScaling: {
    steps: '99 --delete-data',
    why: "the auto scaling the schema loader gave the deployment's tables: their scalable targets deregistered (their policies go with them) and their target-tracking alarms read, before the tables are deleted",
  },
  RunbookTablesAutoScalingAlarms: {
    steps: '99 --delete-data',
    why: 'deleting the target-tracking alarms left of those tables, named TargetTracking-table/<DYNAMODB_NAMESPACE_PREFIX>...',
  },
  RunbookLogs: { steps: '06 07 99', why: "the clusters' own log groups" },
  RunbookReadOnly: { steps: '00 and every step', why: 'who am I, the tables and log groups listed, the quotas' },
  RunbookSecrets: {
    steps: 'npm run secrets -- store, every step whose configuration names ssm:/scalardl-runbook/..., 99',
    why: "the deployment's own parameters only: stored, read, and deleted by 99",
  },
  RunbookSecretsDecrypt: { steps: 'as RunbookSecrets', why: 'their decryption, only as Parameter Store asks for it (kms:ViaService)' },
}

/** The policy with each statement's reason: what `npm run iam-policy -- --explain` prints. */
export function explainPolicy(policy: PolicyDocument): string {
  return policy.Statement.map((st) => {
    const r = STATEMENT_REASONS[st.Sid]
    const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource]
    const cond = st.Condition
      ? Object.entries(st.Condition)
          .flatMap(([op, kv]) => Object.entries(kv).map(([k, v]) => `${op} ${k} = ${v.join(' | ')}`))
          .join('; ')
      : ''
    return [
      `${st.Sid} (${st.Effect}; steps: ${r?.steps ?? '?'})`,
      `  why: ${r?.why ?? 'not explained'}`,
      `  actions: ${st.Action.join(', ')}`,
      `  resources: ${resources.join(', ')}`,
      ...(cond ? [`  only when: ${cond}`] : []),
    ].join('\n')
  }).join('\n\n')
}

export function operatorPolicy(scope: PolicyScope): PolicyDocument {
  const account = scope.account ?? '*'
  const { iam, table } = arnsOf(account)
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EksctlEc2',
        Effect: 'Allow',
        Action: ['ec2:*', 'elasticloadbalancing:*', 'cloudwatch:*', 'autoscaling:*'],
        Resource: '*',
      },
      {
        Sid: 'EksctlServiceLinkedRoles',
        Effect: 'Allow',
        Action: ['iam:CreateServiceLinkedRole'],
        Resource: '*',
        Condition: {
          StringEquals: {
            'iam:AWSServiceName': SERVICE_LINKED_SERVICES,
          },
        },
      },
      { Sid: 'EksctlCloudFormation', Effect: 'Allow', Action: ['cloudformation:*'], Resource: '*' },
      {
        Sid: 'EksctlEks',
        Effect: 'Allow',
        Action: ['eks:*', 'kms:CreateGrant', 'kms:DescribeKey', 'logs:PutRetentionPolicy'],
        Resource: '*',
      },
      {
        // The public parameters under /aws/ (EKS AMIs, the bastion's Amazon Linux AMI): their ARN has no account.
        Sid: 'EksctlPublicParameters',
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:GetParameters'],
        Resource: 'arn:aws:ssm:*::parameter/aws/*',
      },
      {
        Sid: 'EksctlIam',
        Effect: 'Allow',
        Action: [
          'iam:CreateInstanceProfile',
          'iam:DeleteInstanceProfile',
          'iam:GetInstanceProfile',
          'iam:RemoveRoleFromInstanceProfile',
          'iam:GetRole',
          'iam:DeleteRole',
          'iam:ListInstanceProfiles',
          'iam:AddRoleToInstanceProfile',
          'iam:ListInstanceProfilesForRole',
          'iam:PassRole',
          'iam:DetachRolePolicy',
          'iam:DeleteRolePolicy',
          'iam:GetRolePolicy',
          'iam:GetOpenIDConnectProvider',
          'iam:CreateOpenIDConnectProvider',
          'iam:DeleteOpenIDConnectProvider',
          'iam:TagOpenIDConnectProvider',
          'iam:ListAttachedRolePolicies',
          'iam:TagRole',
        ],
        Resource: [
          iam('instance-profile/eksctl-*'),
          iam('role/eksctl-*'),
          iam('oidc-provider/*'),
          iam('role/aws-service-role/eks-nodegroup.amazonaws.com/AWSServiceRoleForAmazonEKSNodegroup'),
          iam('role/eksctl-managed-*'),
        ],
      },
      {
        // 01 makes the bastion's role and instance profile (<cluster>-bastion); 99 deletes them.
        Sid: 'RunbookBastionRole',
        Effect: 'Allow',
        Action: [
          'iam:GetRole',
          'iam:DeleteRole',
          'iam:TagRole',
          'iam:DetachRolePolicy',
          'iam:ListAttachedRolePolicies',
          'iam:ListRolePolicies',
          'iam:ListRoleTags',
          'iam:GetRolePolicy',
          'iam:DeleteRolePolicy',
          'iam:CreateInstanceProfile',
          'iam:GetInstanceProfile',
          'iam:DeleteInstanceProfile',
          'iam:TagInstanceProfile',
          'iam:AddRoleToInstanceProfile',
          'iam:RemoveRoleFromInstanceProfile',
          'iam:ListInstanceProfilesForRole',
          'iam:PassRole',
          // npm run bastion -- push and run ask IAM first whether the role may run the steps.
          'iam:SimulatePrincipalPolicy',
        ],
        Resource: scope.clusters.flatMap((c) => [iam(`role/${c}-bastion`), iam(`instance-profile/${c}-bastion`)]),
      },
      {
        // Creating a role, or adding to what a role may do, only with the boundary on it (IAM user
        // guide, access_policies_boundaries "Delegating responsibility to others"; the key
        // iam:PermissionsBoundary names the boundary of the role the request is about).
        Sid: 'RunbookRolesBounded',
        Effect: 'Allow',
        Action: GRANTING_ROLE_ACTIONS,
        Resource: [iam('role/eksctl-*'), ...scope.clusters.map((c) => iam(`role/${c}-bastion`))],
        Condition: withBoundary(account),
      },
      {
        // 01 makes the boundary once per account, and reads it to see that it is the runbook's.
        Sid: 'RunbookBoundary',
        Effect: 'Allow',
        Action: ['iam:CreatePolicy', 'iam:GetPolicy', 'iam:GetPolicyVersion', 'iam:ListPolicyVersions'],
        Resource: boundaryArn(account),
      },
      {
        // Nobody holding this policy changes, replaces or removes the boundary.
        Sid: 'RunbookBoundaryFixed',
        Effect: 'Deny',
        Action: [...BOUNDARY_CHANGES, 'iam:DeleteRolePermissionsBoundary'],
        Resource: [boundaryArn(account), iam('role/*')],
      },
      {
        // Whoever holds this policy as the bastion's role may not edit that role (aws:PrincipalArn is
        // the role's ARN for its sessions: IAM user guide, reference_policies_condition-keys).
        Sid: 'RunbookBastionNoSelfEdit',
        Effect: 'Deny',
        Action: [
          'iam:PutRolePolicy',
          'iam:DeleteRolePolicy',
          'iam:AttachRolePolicy',
          'iam:DetachRolePolicy',
          'iam:UpdateAssumeRolePolicy',
          'iam:PutRolePermissionsBoundary',
          'iam:DeleteRolePermissionsBoundary',
          'iam:DeleteRole',
        ],
        Resource: scope.clusters.map((c) => iam(`role/${c}-bastion`)),
        Condition: { ArnLike: { 'aws:PrincipalArn': scope.clusters.map((c) => iam(`role/${c}-bastion`)) } },
      },
      {
        // 01 sends a changed bootstrap (bastion/bootstrap.sh) to the bastion, tagged for the cluster.
        // (Run Command's tag condition key: https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html)
        Sid: 'RunbookBastionBootstrap',
        Effect: 'Allow',
        Action: ['ssm:SendCommand'],
        Resource: `arn:aws:ec2:*:${account}:instance/*`,
        Condition: { StringEquals: { 'ssm:resourceTag/scalardl-runbook/cluster': scope.clusters } },
      },
      {
        Sid: 'RunbookBastionBootstrapDocument',
        Effect: 'Allow',
        Action: ['ssm:SendCommand'],
        Resource: 'arn:aws:ssm:*::document/AWS-RunShellScript',
      },
      {
        // npm run bastion -- push: the staging bucket and its objects (lib/bastion/remote.ts).
        Sid: 'RunbookBastionPush',
        Effect: 'Allow',
        Action: [
          's3:CreateBucket',
          's3:ListBucket',
          's3:PutBucketPublicAccessBlock',
          's3:PutEncryptionConfiguration',
          's3:PutLifecycleConfiguration',
          's3:PutBucketTagging',
          's3:PutObject',
          's3:GetObject',
          's3:DeleteObject',
          's3:DeleteBucket',
        ],
        Resource: ['arn:aws:s3:::scalardl-runbook-staging-*', 'arn:aws:s3:::scalardl-runbook-staging-*/*'],
      },
      {
        Sid: 'RunbookBastionBootstrapResult',
        Effect: 'Allow',
        Action: ['ssm:GetCommandInvocation', 'ssm:ListCommands'],
        Resource: '*',
      },
      {
        Sid: 'RunbookLockTable',
        Effect: 'Allow',
        Action: [
          'dynamodb:CreateTable',
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          // 99 --delete-lock-table: whose locks are in it, then the table.
          'dynamodb:Scan',
          'dynamodb:DeleteTable',
        ],
        Resource: table('scalardl-runbook-locks'),
      },
      {
        // The schema loader creates the tables with the database credentials, not these; 05 reads
        // the certificate tables (Scan) to see whether each certificate is registered.
        Sid: 'RunbookScalarDlTablesRead',
        Effect: 'Allow',
        Action: TABLE_READ_ACTIONS,
        Resource: [table(`${scope.tablePrefix}*`), `${table(`${scope.tablePrefix}*`)}/backup/*`],
      },
      {
        // 04 and 05 tag the tables their schema Job made, with the deployment's tag and no other.
        Sid: 'RunbookScalarDlTablesClaim',
        Effect: 'Allow',
        Action: ['dynamodb:TagResource'],
        Resource: table(`${scope.tablePrefix}*`),
        Condition: {
          StringEquals: { 'aws:RequestTag/scalardl-runbook/cluster': scope.clusters },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['scalardl-runbook/cluster'] },
        },
      },
      {
        // Changes and deletion, on the deployment's tables only (DynamoDB's attribute-based access
        // control: aws:ResourceTag on table actions).
        Sid: 'RunbookScalarDlTablesWrite',
        Effect: 'Allow',
        Action: TABLE_WRITE_ACTIONS,
        Resource: table(`${scope.tablePrefix}*`),
        Condition: { StringEquals: { 'aws:ResourceTag/scalardl-runbook/cluster': scope.clusters } },
      },
      {
        // 99 --delete-data: the tables' scalable targets (their ARNs carry an id, not the table's
        // name, and DescribeScalableTargets and DescribeAlarms take no resource) and the alarms.
        Sid: 'RunbookTablesAutoScaling',
        Effect: 'Allow',
        Action: [
          'application-autoscaling:DescribeScalableTargets',
          'application-autoscaling:DeregisterScalableTarget',
          'cloudwatch:DescribeAlarms',
        ],
        Resource: '*',
      },
      {
        Sid: 'RunbookTablesAutoScalingAlarms',
        Effect: 'Allow',
        Action: ['cloudwatch:DeleteAlarms'],
        Resource: `arn:aws:cloudwatch:*:${account}:alarm:TargetTracking-table/${scope.tablePrefix}*`,
      },
      {
        Sid: 'RunbookLogs',
        Effect: 'Allow',
        Action: ['logs:DescribeLogStreams', 'logs:GetLogEvents', 'logs:FilterLogEvents', 'logs:DeleteLogGroup', 'logs:CreateLogGroup'],
        Resource: scope.clusters.flatMap((c) => [
          `arn:aws:logs:*:${account}:log-group:/aws/eks/${c}/*`,
          `arn:aws:logs:*:${account}:log-group:/aws/containerinsights/${c}/*`,
        ]),
      },
      {
        // Secrets the configuration keeps in Parameter Store (SecureString with AWS's aws/ssm key).
        Sid: 'RunbookSecrets',
        Effect: 'Allow',
        Action: [
          'ssm:GetParameters',
          'ssm:GetParameter',
          'ssm:GetParametersByPath',
          'ssm:PutParameter',
          'ssm:AddTagsToResource',
          'ssm:ListTagsForResource',
          'ssm:DeleteParameters',
        ],
        Resource: scope.clusters.flatMap((c) => [
          `arn:aws:ssm:*:${account}:parameter/scalardl-runbook/${c}`,
          `arn:aws:ssm:*:${account}:parameter/scalardl-runbook/${c}/*`,
        ]),
      },
      decryptThroughSsm('RunbookSecretsDecrypt', account),
      {
        Sid: 'RunbookReadOnly',
        Effect: 'Allow',
        Action: [
          'sts:GetCallerIdentity',
          'dynamodb:ListTables',
          'dynamodb:ListBackups',
          'logs:DescribeLogGroups',
          'servicequotas:GetServiceQuota',
          'servicequotas:GetAWSDefaultServiceQuota',
        ],
        Resource: '*',
      },
    ],
  }
}

/** Whether an IAM action pattern (with * and ?) matches an action, case-insensitively as IAM matches them. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  )
  return re.test(action)
}

/** The actions no statement of the policy allows (resources and conditions aside). */
export function uncovered(policy: PolicyDocument, actions: string[]): string[] {
  return actions.filter((a) => !policy.Statement.some((s) => s.Effect === 'Allow' && s.Action.some((p) => actionMatches(p, a))))
}

/**
 * The policy for the database credentials (SCALARDL_DB_USERNAME, an IAM user's access key), which
 * the schema loader and the Ledger and Auditor use: the DynamoDB calls of ScalarDB 3.17.2 (the
 * version ScalarDL v3.13.0 builds on: scalar-labs/scalardl build.gradle:58), from
 * scalar-labs/scalardb v3.17.2 core/src/main/java/com/scalar/db/storage/dynamo/ (DynamoAdmin: tables,
 * continuous backups, auto scaling; the statement handlers: items, queries, scans, transactions),
 * on Scalar DL's namespaces only. Auto scaling (the schema loader's default) needs Application Auto
 * Scaling, the CloudWatch alarms of its target tracking, and its service-linked role.
 */
export function databasePolicy(scope: Omit<PolicyScope, 'clusters'>): PolicyDocument {
  const account = scope.account ?? '*'
  const tables = ['scalar', 'coordinator', 'scalardb', 'auditor'].flatMap((ns) => {
    const t = `arn:aws:dynamodb:*:${account}:table/${scope.tablePrefix}${ns}.*`
    return [t, `${t}/index/*`]
  })
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ScalarDbTables',
        Effect: 'Allow',
        Action: [
          'dynamodb:CreateTable',
          'dynamodb:DescribeTable',
          'dynamodb:UpdateTable',
          'dynamodb:DescribeContinuousBackups',
          'dynamodb:UpdateContinuousBackups',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:ConditionCheckItem',
          'dynamodb:Query',
          'dynamodb:Scan',
        ],
        Resource: tables,
      },
      // TransactWriteItems is authorised per item (the actions above); ListTables names no table.
      { Sid: 'ScalarDbListTables', Effect: 'Allow', Action: ['dynamodb:ListTables'], Resource: '*' },
      {
        Sid: 'ScalarDbAutoScaling',
        Effect: 'Allow',
        Action: [
          'application-autoscaling:RegisterScalableTarget',
          'application-autoscaling:DeregisterScalableTarget',
          'application-autoscaling:PutScalingPolicy',
          'application-autoscaling:DeleteScalingPolicy',
          'cloudwatch:PutMetricAlarm',
          'cloudwatch:DescribeAlarms',
          'cloudwatch:DeleteAlarms',
        ],
        Resource: '*',
      },
      {
        Sid: 'ScalarDbAutoScalingRole',
        Effect: 'Allow',
        Action: ['iam:CreateServiceLinkedRole'],
        Resource: `arn:aws:iam::${account}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/*`,
        Condition: { StringEquals: { 'iam:AWSServiceName': ['dynamodb.application-autoscaling.amazonaws.com'] } },
      },
    ],
  }
}
