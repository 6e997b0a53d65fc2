// Every configuration key, declared once (lib/config/declaration.ts), in the order .env.example
// lists them. `npm run env-example` writes .env.example from here; test/unit/env-example.test.ts
// fails when the committed file differs.
import * as z from 'zod'
import { key } from './declaration.ts'
import {
  ADMIN_ARN,
  auditorLicenceKey,
  bool,
  CLUSTER,
  containerInsights,
  database,
  filePath,
  instanceType,
  int,
  LOG_TYPES,
  listOf,
  openTo,
  RETENTION_DAYS,
  release,
  text,
  tool,
  version,
  vpcCidr,
} from './values.ts'

const SECRETS_IN_SSM =
  'GITHUB_TOKEN, SCALARDL_DB_USERNAME, SCALARDL_DB_PASSWORD, SCALARDL_AUDITOR_LICENSE_KEY and the *_PRIVATE_KEY_FILE keys may ' +
  'instead name a SecureString in SSM Parameter Store, e.g. GITHUB_TOKEN=ssm:/scalardl-runbook/<CLUSTER_NAME>/github-token ' +
  '(`npm run secrets -- store` puts them there from this file and prints these lines), so the bastion holds no secret on its disk.'

export const KEYS = {
  AWS_REGION: key(text(/^[a-z]{2}(-[a-z]+)+-\d$/, 'is not an AWS region name such as ap-northeast-1'), {
    section: 'required',
    required: true,
    example: 'ap-northeast-1',
    doc: 'Region to deploy in; it needs at least 3 availability zones.',
    fix: 'set AWS_REGION to the region to deploy in, e.g. AWS_REGION=ap-northeast-1',
  }),
  CLUSTER_NAME: key(
    z
      .string()
      .trim()
      .min(1, 'is required')
      .max(40, 'is longer than 40 characters')
      .regex(CLUSTER, 'must be lower-case letters, digits and hyphens, starting with a letter'),
    {
      required: true,
      example: 'scalardl-prod',
      doc:
        'Name of the EKS cluster and prefix of every resource; lower-case letters, digits and hyphens, starts with a letter, at ' +
        'most 40 characters. Every AWS resource is tagged scalardl-runbook/cluster=<CLUSTER_NAME> and found again by that tag.',
      fix: 'set CLUSTER_NAME to e.g. scalardl-prod (lower-case letters, digits, hyphens; starts with a letter; at most 40 characters)',
    },
  ),

  VPC_CIDR: key(vpcCidr, {
    section: 'Step 1: network',
    default: '10.1.0.0/16',
    doc:
      'Private range, /16 to /20. Split into 3 private subnets (3/4 of the range) and 3 public subnets (the last 1/4). Must not ' +
      "overlap the Auditor's or client VPCs (they are peered).",
    fix: 'set VPC_CIDR to a private range between /16 and /20, e.g. VPC_CIDR=10.1.0.0/16',
  }),
  NAT_GATEWAYS: key(z.enum(['single', 'per-az'], { error: 'must be single or per-az' }), {
    default: 'single',
    doc:
      'single: one NAT gateway (cheaper; private subnets lose internet access if its AZ fails)\n' +
      'per-az:  one NAT gateway per AZ (about 3x the NAT cost; survives an AZ outage)',
    fix: 'set NAT_GATEWAYS=single (one NAT gateway, cheaper) or NAT_GATEWAYS=per-az (one per AZ, survives an AZ outage)',
  }),
  BASTION_ENABLED: key(bool, {
    default: 'true',
    doc: 'A bastion host in a public subnet, from which the later steps are run.',
    fix: 'set BASTION_ENABLED=true or BASTION_ENABLED=false',
  }),
  BASTION_SSH_CIDR: key(openTo('SSH'), {
    default: '',
    doc:
      'Empty: no SSH port is opened; reach the bastion with `aws ssm start-session --target <id>`.\n' +
      'Or a CIDR such as 203.0.113.0/24 to allow SSH from it (0.0.0.0/0 is refused).',
    fix: 'leave BASTION_SSH_CIDR empty to reach the bastion through SSM Session Manager, or set it to your office range, e.g. 203.0.113.0/24',
  }),
  BASTION_INSTANCE_TYPE: key(instanceType('t3.small'), {
    default: 't3.small',
    doc: "The bastion's EC2 instance type.",
    fix: 'set BASTION_INSTANCE_TYPE to an EC2 instance type, e.g. t3.small',
  }),
  BASTION_KEY_NAME: key(
    z
      .string()
      .trim()
      .max(255, 'is longer than 255 characters')
      .regex(/^[\x20-\x7e]*$/, 'may only hold printable ASCII characters'),
    {
      default: '',
      doc: 'Optional EC2 key pair for SSH (only useful with BASTION_SSH_CIDR).',
      fix: 'set BASTION_KEY_NAME to the name of an existing EC2 key pair, or leave it empty',
    },
  ),
  BASTION_OPERATOR_POLICY: key(bool, {
    default: 'true',
    doc:
      "true (the default): the bastion's role gets the runbook operator policy (`npm run iam-policy` prints it; the role carries " +
      'the permissions boundary scalardl-runbook-boundary, so a shell there can become no more), and the steps run on the ' +
      'bastion with its instance credentials (`npm run bastion -- run`). false: bring your own (SSO) credentials to the bastion.',
    fix: 'set BASTION_OPERATOR_POLICY=true to let the bastion run every step with its own role (npm run iam-policy shows the policy), or false',
  }),

  // In EKS standard support until 2027-03-27 (AWS's calendar); 00-preflight asks EKS, so a
  // default that has aged into extended support is reported with its cost, not trusted.
  KUBERNETES_VERSION: key(
    text(/^1\.\d{1,2}$/, 'must look like 1.35').refine(
      (v) => Number(v.split('.')[1]) >= 19,
      'is older than 1.19, which the guide requires',
    ),
    {
      section: 'Step 3: EKS',
      default: '1.35',
      doc:
        'Kubernetes version of the cluster (the runbook never upgrades a cluster). Choose one in EKS standard support: ' +
        '00-preflight asks EKS and warns, with the extra cost, when the version is only in extended support ($0.60 instead of ' +
        '$0.10 per cluster hour). 1.35: standard until 2027-03-27.',
      fix: 'set KUBERNETES_VERSION to an EKS version in standard support, such as 1.35 (00-preflight lists them: aws eks describe-cluster-versions)',
    },
  ),
  NODEGROUP_NAME: key(text(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'must be letters, digits and hyphens, starting with a letter'), {
    default: 'scalardlpool',
    doc:
      'Scalar DL node group: one Ledger and one Envoy per node (the guide: 3 x m5.xlarge). Its nodes are labelled ' +
      'agentpool=scalardlpool and tainted kubernetes.io/app=scalardlpool:NoSchedule.',
    fix: 'set NODEGROUP_NAME to a node group name such as scalardlpool (letters, digits, hyphens)',
  }),
  NODE_COUNT: key(int(1, 100), {
    default: '3',
    doc: 'How many nodes the Scalar DL node group has.',
    fix: 'set NODE_COUNT to the number of Scalar DL nodes, e.g. NODE_COUNT=3',
  }),
  NODE_INSTANCE_TYPE: key(instanceType('m5.xlarge'), {
    default: 'm5.xlarge',
    doc: 'The EC2 instance type of the Scalar DL nodes.',
    fix: 'set NODE_INSTANCE_TYPE to an EC2 instance type, e.g. m5.xlarge',
  }),
  NODE_MAX: key(int(1, 200), {
    doc: 'The most nodes the group may scale to (default 2 x NODE_COUNT).',
    fix: 'set NODE_MAX to the most Scalar DL nodes the node group may scale to (at least NODE_COUNT), e.g. 6',
  }),
  SYSTEM_NODE_COUNT: key(int(0, 100), {
    default: '2',
    doc:
      "An untainted system node group for CoreDNS, the schema-loading Job and the monitoring agents' operator (none of them " +
      'tolerates the Scalar DL taint). 0 needs --allow-no-system-nodes.',
    fix: 'set SYSTEM_NODE_COUNT to the number of untainted system nodes, e.g. 2',
  }),
  SYSTEM_NODE_INSTANCE_TYPE: key(instanceType('m5.large'), {
    default: 'm5.large',
    doc: 'The EC2 instance type of the system nodes.',
    fix: 'set SYSTEM_NODE_INSTANCE_TYPE to an EC2 instance type, e.g. m5.large',
  }),
  ENDPOINT_PUBLIC_ACCESS: key(bool, {
    default: 'false',
    doc:
      'The API endpoint is private (reached from the bastion). true also opens a public endpoint to ENDPOINT_PUBLIC_CIDRS ' +
      '(required then; 0.0.0.0/0 is refused).',
    fix: 'set ENDPOINT_PUBLIC_ACCESS=false (private endpoint, reached from the bastion) or true with ENDPOINT_PUBLIC_CIDRS',
  }),
  ENDPOINT_PUBLIC_CIDRS: key(openTo('the Kubernetes API', true), {
    default: '',
    doc: 'The comma-separated ranges the public endpoint admits, with ENDPOINT_PUBLIC_ACCESS=true.',
    fix: 'set ENDPOINT_PUBLIC_CIDRS to the comma-separated ranges allowed to reach the public endpoint, e.g. 203.0.113.0/24',
  }),
  CLUSTER_ADMIN_ARNS: key(
    listOf(
      (x) => ADMIN_ARN.test(x),
      (bad) => `has ${bad.map((b) => `"${b}"`).join(', ')}, not IAM role or user ARNs such as arn:aws:iam::111122223333:role/ops`,
    ),
    {
      default: '',
      doc:
        'Who may use the clusters (EKS access entries with AmazonEKSClusterAdminPolicy): the principal that runs 03-eks and ' +
        "the bastion's role always; add teammates, CI and the SSO role you work with from a laptop here, comma-separated IAM " +
        'role or user ARNs.',
      fix:
        'set CLUSTER_ADMIN_ARNS to the comma-separated ARNs of the IAM roles or users that may administer the clusters, e.g. ' +
        'arn:aws:iam::111122223333:role/ops (a role by its ARN as IAM shows it, path included, e.g. an IAM Identity Center role ' +
        'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef; never a session ARN ' +
        'arn:aws:sts::...:assumed-role/...), or leave it empty',
    },
  ),

  DATABASE: key(database, {
    section: 'Step 2: database',
    default: 'dynamodb',
    doc: 'dynamodb is the database this runbook deploys (others are not supported yet).',
    fix: 'set DATABASE=dynamodb (the only database this runbook deploys today)',
  }),
  DYNAMODB_NAMESPACE_PREFIX: key(text(/^[A-Za-z0-9_.-]{0,40}$/, 'may only hold letters, digits, "_", "-" and "." (at most 40)'), {
    default: '',
    doc:
      "Optional prefix of the Scalar DL tables (ScalarDB's scalar.db.dynamo.namespace.prefix), to keep several environments " +
      'in one account and region, e.g. prod_ -> prod_scalar.asset.',
    fix: 'use letters, digits, "_", "-" or "." (at most 40), e.g. DYNAMODB_NAMESPACE_PREFIX=prod_',
  }),

  GITHUB_USERNAME: key(text(/^[A-Za-z0-9-]{1,39}$/, 'is not a GitHub user name'), {
    section: { title: 'Step 4: Scalar DL', note: SECRETS_IN_SSM },
    doc: 'GitHub account whose personal access token (GITHUB_TOKEN) pulls the Scalar DL images from ghcr.io.',
    fix: 'set GITHUB_USERNAME to the GitHub account that owns GITHUB_TOKEN',
  }),
  GITHUB_TOKEN: key(z.string().trim().min(20, 'is too short for a GitHub token'), {
    doc: 'The personal access token of GITHUB_USERNAME (scope read:packages). Keep this file mode 600; the token never appears on a command line or in logs.',
    fix: 'set GITHUB_TOKEN to a GitHub personal access token with the read:packages scope (in .env, mode 600, or the environment; never on a command line)',
  }),
  SCALARDL_DB_USERNAME: key(
    text(/^[A-Z0-9]{16,128}$/, 'is not an AWS access key id (16 to 128 upper-case letters and digits, e.g. AKIA...)'),
    {
      doc:
        'The credentials Scalar DL uses for DynamoDB: the access key id here, the secret access key below. They are stored in a ' +
        'Kubernetes Secret; the values files never hold them.',
      fix: 'set SCALARDL_DB_USERNAME to the access key id Scalar DL uses for DynamoDB',
    },
  ),
  SCALARDL_DB_PASSWORD: key(
    z
      .string()
      .min(8, 'is too short for a secret access key')
      .refine((v) => !/[\r\n]/.test(v), 'holds a line break'),
    {
      doc: 'The secret access key of SCALARDL_DB_USERNAME.',
      fix: 'set SCALARDL_DB_PASSWORD to the secret access key Scalar DL uses for DynamoDB (in .env with mode 600, or the environment)',
    },
  ),
  SCALARDL_NAMESPACE: key(text(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'is not a Kubernetes namespace name'), {
    default: 'default',
    doc: 'The Kubernetes namespace of the Scalar DL releases.',
    fix: 'set SCALARDL_NAMESPACE to a Kubernetes namespace name, e.g. default',
  }),
  SCALARDL_RELEASE: key(release, {
    default: 'my-release-scalardl',
    doc: "The helm release of the Ledger (the guide's name).",
    fix: 'set SCALARDL_RELEASE to a helm release name, e.g. my-release-scalardl',
  }),
  SCHEMA_RELEASE: key(release, {
    default: 'load-schema',
    doc: "The helm release of the Ledger's schema loading.",
    fix: 'set SCHEMA_RELEASE to a helm release name, e.g. load-schema',
  }),
  SCALARDL_CHART_VERSION: key(version('4.12.0'), {
    default: '4.12.0',
    doc: 'The scalar-labs/scalardl chart version.',
    fix: 'set SCALARDL_CHART_VERSION to a scalar-labs/scalardl chart version, e.g. 4.12.0',
  }),
  SCHEMA_LOADING_CHART_VERSION: key(version('2.14.0'), {
    default: '2.14.0',
    doc: 'The scalar-labs/schema-loading chart version.',
    fix: 'set SCHEMA_LOADING_CHART_VERSION to a scalar-labs/schema-loading chart version, e.g. 2.14.0',
  }),
  LEDGER_PROOF_ENABLED: key(bool, {
    default: 'true',
    doc: 'Asset Proofs (recommended by the guide; required by the Auditor): the Ledger signs proofs with LEDGER_PRIVATE_KEY_FILE.',
    fix: 'set LEDGER_PROOF_ENABLED=true (Asset Proofs, as the guide recommends) or false',
  }),
  LEDGER_PRIVATE_KEY_FILE: key(filePath, {
    default: '',
    example: './ledger-key.pem',
    doc: "The Ledger's EC P-256 private key in PEM. `04-scalardl --generate-ledger-key` creates it (mode 600) if absent.",
    fix: "set LEDGER_PRIVATE_KEY_FILE to the path of the Ledger's EC P-256 private key in PEM (04-scalardl --generate-ledger-key creates one)",
  }),

  AUDITOR_ENABLED: key(bool, {
    section: 'Step 5 (optional): Scalar DL Auditor',
    default: 'false',
    doc:
      'true: 05-auditor builds the Auditor in its own VPC and EKS cluster, peered with the Ledger; 04 then deploys the Ledger ' +
      'with ledgerAuditorEnabled, 06/07/99 cover both clusters.',
    fix: 'set AUDITOR_ENABLED=true to deploy Scalar DL Auditor (05-auditor) in its own VPC and EKS cluster, or false',
  }),
  AUDITOR_CLUSTER_NAME: key(
    z
      .string()
      .trim()
      .max(40, 'is longer than 40 characters')
      .regex(CLUSTER, 'must be lower-case letters, digits and hyphens, starting with a letter'),
    {
      commented: true,
      doc: "The Auditor's cluster (and resource prefix); default <CLUSTER_NAME>-auditor.",
      fix: 'set AUDITOR_CLUSTER_NAME to the Auditor cluster name, different from CLUSTER_NAME (default <CLUSTER_NAME>-auditor; lower-case letters, digits, hyphens)',
    },
  ),
  AUDITOR_VPC_CIDR: key(vpcCidr, {
    default: '10.2.0.0/16',
    doc: "The Auditor's VPC range: must overlap neither VPC_CIDR nor any client VPC.",
    fix: 'set AUDITOR_VPC_CIDR to a private range between /16 and /20 that overlaps neither VPC_CIDR nor a client VPC, e.g. AUDITOR_VPC_CIDR=10.2.0.0/16',
  }),
  CLIENT_VPC_IDS: key(
    listOf(
      (x) => /^vpc-[0-9a-f]{8,17}$/.test(x),
      (bad) => `has ${bad.map((b) => `"${b}"`).join(', ')}, not VPC ids such as vpc-0123456789abcdef0`,
    ),
    {
      default: '',
      doc:
        'Application VPCs (same account and region) to peer with both, comma-separated, e.g. vpc-0123456789abcdef0. Their ' +
        'route tables get routes to both; their ranges must not overlap.',
      fix: 'set CLIENT_VPC_IDS to the comma-separated ids of the application VPCs to peer with the Ledger and the Auditor, e.g. vpc-0123456789abcdef0, or leave it empty',
    },
  ),
  AUDITOR_PRIVATE_KEY_FILE: key(filePath, {
    default: '',
    example: './auditor-key.pem',
    doc:
      "The Auditor's EC P-256 private key in PEM. `05-auditor --generate-keys` creates it and the two certificates below when " +
      'missing (self-signed, mode 600); use CA-issued ones in production.',
    fix: "set AUDITOR_PRIVATE_KEY_FILE to the path of the Auditor's EC P-256 private key in PEM (05-auditor --generate-keys creates one)",
  }),
  AUDITOR_CERTIFICATE_FILE: key(filePath, {
    default: '',
    example: './auditor-cert.pem',
    doc: "The Auditor's X.509 certificate, registered with the Ledger under the holder id auditor.",
    fix: "set AUDITOR_CERTIFICATE_FILE to the path of the Auditor's X.509 certificate in PEM (05-auditor --generate-keys creates a self-signed one)",
  }),
  LEDGER_CERTIFICATE_FILE: key(filePath, {
    default: '',
    example: './ledger-cert.pem',
    doc: "The certificate of the Ledger's key, registered with the Auditor under the holder id ledger.",
    fix: "set LEDGER_CERTIFICATE_FILE to the path of the certificate of the Ledger's key in PEM (05-auditor --generate-keys creates a self-signed one)",
  }),
  SCALARDL_AUDIT_CHART_VERSION: key(version('2.12.0'), {
    default: '2.12.0',
    doc: 'The scalar-labs/scalardl-audit chart version.',
    fix: 'set SCALARDL_AUDIT_CHART_VERSION to a scalar-labs/scalardl-audit chart version, e.g. 2.12.0',
  }),
  AUDITOR_RELEASE: key(release, {
    default: 'my-release-scalardl-audit',
    doc: "The helm release of the Auditor (the guide's name).",
    fix: 'set AUDITOR_RELEASE to a helm release name, e.g. my-release-scalardl-audit',
  }),
  AUDIT_SCHEMA_RELEASE: key(release, {
    default: 'load-audit-schema',
    doc: "The helm release of the Auditor's schema loading.",
    fix: 'set AUDIT_SCHEMA_RELEASE to a helm release name, e.g. load-audit-schema',
  }),
  SCALARDL_CLIENT_SDK_VERSION: key(version('3.13.0'), {
    default: '3.13.0',
    doc: 'The Scalar DL Java client SDK release whose register-cert tool registers the certificates.',
    fix: 'set SCALARDL_CLIENT_SDK_VERSION to the Scalar DL Java client SDK release whose register-cert tool registers the certificates, e.g. 3.13.0',
  }),
  SCALARDL_AUDITOR_LICENSE_KEY: key(auditorLicenceKey, {
    doc:
      'ScalarDL Auditor (image scalardl-auditor-byol) is ScalarDL Enterprise and refuses to start without a licence: the key ' +
      '(the JSON text Scalar sends, in single quotes; a secret: keep .env at mode 600) and the PEM certificate below that ' +
      'checks it. For an evaluation, Scalar publishes a trial key and its certificate: ' +
      'https://scalardl.scalar-labs.com/docs/latest/scalar-licensing/trial/ (the Ledger, scalardl-ledger, is open source and ' +
      'needs none).',
    fix:
      'set SCALARDL_AUDITOR_LICENSE_KEY to your ScalarDL Auditor licence key, the JSON text Scalar gave you, in single quotes ' +
      'in .env (mode 600); a trial key: https://scalardl.scalar-labs.com/docs/latest/scalar-licensing/trial/',
  }),
  SCALARDL_AUDITOR_LICENSE_CERT_FILE: key(filePath, {
    default: '',
    example: './auditor-license-cert.pem',
    doc: 'The PEM certificate that checks the licence key.',
    fix: "set SCALARDL_AUDITOR_LICENSE_CERT_FILE to the PEM file of the certificate that checks the licence key (the trial or commercial one from Scalar's licensing page)",
  }),

  CONTROL_PLANE_LOG_TYPES: key(
    listOf(
      (x) => LOG_TYPES.includes(x),
      (bad) => `has unknown log type(s) ${bad.join(', ')}`,
    ),
    {
      section: 'Step 6: monitoring',
      default: LOG_TYPES.join(','),
      doc: 'EKS control-plane log types sent to /aws/eks/<CLUSTER_NAME>/cluster (empty: off).',
      fix: 'set CONTROL_PLANE_LOG_TYPES to a comma-separated subset of api,audit,authenticator,controllerManager,scheduler (or empty to turn control-plane logging off)',
    },
  ),
  CONTAINER_INSIGHTS: key(containerInsights, {
    default: 'addon',
    doc:
      'addon (the only value): the amazon-cloudwatch-observability EKS add-on, its agents tolerating the Scalar DL taint and ' +
      'holding their role through EKS Pod Identity.',
    fix: 'set CONTAINER_INSIGHTS=addon (the amazon-cloudwatch-observability EKS add-on, its agents on Pod Identity), or leave it out',
  }),
  LOG_RETENTION_DAYS: key(
    text(/^\d+$/, 'must be a whole number of days')
      .transform(Number)
      .refine((n) => RETENTION_DAYS.includes(n), 'is not a retention CloudWatch Logs accepts'),
    {
      default: '30',
      doc: 'Retention of the Container Insights and control-plane log groups, in days.',
      fix: `set LOG_RETENTION_DAYS to one of ${RETENTION_DAYS.join(', ')}`,
    },
  ),

  LOG_FRESHNESS_MINUTES: key(int(1, 24 * 60), {
    section: 'Step 7: verification',
    default: '10',
    doc: 'The logs check wants Ledger and Envoy log events at most this many minutes old.',
    fix: 'set LOG_FRESHNESS_MINUTES to how recent the newest container log must be, e.g. 10',
  }),

  WAIT_TIMEOUT_SECONDS: key(int(1, 24 * 3600), {
    section: 'runbook behaviour',
    default: '900',
    doc:
      'How long any single wait (NAT gateway, bastion, ...) may take before the step fails and says what it last saw. ' +
      'Rerunning the step resumes the wait.',
    fix: 'set WAIT_TIMEOUT_SECONDS to a whole number of seconds, e.g. 900',
  }),
  LOCK_LEASE_SECONDS: key(int(10, 3600), {
    default: '120',
    doc: 'How long the run lock of a killed run lasts (a live run renews it); see RUNBOOK.md.',
    fix: "set LOCK_LEASE_SECONDS to how long a run's lock outlives the run if it is killed, in seconds (10 to 3600), e.g. 120",
  }),
  KUBECTL: key(tool, {
    default: 'kubectl',
    doc: 'The kubectl the steps run, as a command or a path.',
    fix: 'set KUBECTL to the kubectl command or its path',
  }),
  HELM: key(tool, {
    default: 'helm',
    doc: 'The helm the steps run, as a command or a path.',
    fix: 'set HELM to the helm command or its path',
  }),
  EKSCTL: key(tool, {
    default: 'eksctl',
    doc: 'The eksctl the steps run, as a command or a path.',
    fix: 'set EKSCTL to the eksctl command or its path',
  }),
}

export type Key = keyof typeof KEYS
