// An IAM policy document as the runbook writes them (the operator's, the boundary, the database's).
export interface Statement {
  Sid: string
  Effect: 'Allow' | 'Deny'
  Action: string[]
  Resource: string | string[]
  Condition?: Record<string, Record<string, string[]>>
}

export interface PolicyDocument {
  Version: '2012-10-17'
  Statement: Statement[]
}

/** ARN makers for an account ("*": any). */
export const arnsOf = (account: string) => ({
  iam: (what: string) => `arn:aws:iam::${account}:${what}`,
  table: (name: string) => `arn:aws:dynamodb:*:${account}:table/${name}`,
})

/** The service-linked roles EKS, its node groups, Auto Scaling and load balancers need (eksctl's minimum), and only those. */
export const SERVICE_LINKED_SERVICES = [
  'autoscaling.amazonaws.com',
  'ec2scheduled.amazonaws.com',
  'elasticloadbalancing.amazonaws.com',
  'spot.amazonaws.com',
  'spotfleet.amazonaws.com',
  'transitgateway.amazonaws.com',
  'eks.amazonaws.com',
  'eks-nodegroup.amazonaws.com',
  'eks-fargate.amazonaws.com',
]

/** Reading the Scalar DL tables: which exist, whose they are (tags), their backups, 05's certificates (Scan). */
export const TABLE_READ_ACTIONS = [
  'dynamodb:DescribeTable',
  'dynamodb:Scan',
  'dynamodb:DescribeContinuousBackups',
  'dynamodb:DescribeBackup',
  'dynamodb:ListTagsOfResource',
]

/** What the runbook does to a table it owns (tagged as a deployment's). */
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:UpdateContinuousBackups',
  'dynamodb:UpdateTable',
  'dynamodb:CreateBackup',
  'dynamodb:DeleteTable',
]

/** Decryption of the SecureString parameters, only as Parameter Store asks for it (kms:ViaService). */
export const decryptThroughSsm = (sid: string, account: string): Statement => ({
  Sid: sid,
  Effect: 'Allow',
  Action: ['kms:Decrypt'],
  Resource: `arn:aws:kms:*:${account}:key/*`,
  Condition: { StringLike: { 'kms:ViaService': ['ssm.*.amazonaws.com'] } },
})
