// Configuration: read .env (or --env-file) with dotenv, validate every key at once, before any
// side effect. The AWS SDK's own variables (AWS_PROFILE, AWS_ENDPOINT_URL, credentials) are left
// to the SDK, which reads them from the environment as it always does.
import fs from 'node:fs'
import path from 'node:path'
import dotenv from 'dotenv'
import * as z from 'zod'
import { isPrivateRange, overlaps, parseCidr } from './cidr.ts'
import { registerEnvSecrets, SECRET_KEY } from './redact.ts'

export interface ConfigProblem {
  key: string
  message: string
  fix: string
}

export class ConfigError extends Error {
  constructor(
    readonly problems: ConfigProblem[],
    readonly source: string,
  ) {
    super(`configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'} (${source})`)
  }
}

/** How to fix each key, shown next to every problem with it. */
const FIX: Record<string, string> = {
  AWS_REGION: 'set AWS_REGION to the region to deploy in, e.g. AWS_REGION=ap-northeast-1',
  CLUSTER_NAME: 'set CLUSTER_NAME to e.g. scalardl-prod (lower-case letters, digits, hyphens; starts with a letter; at most 40 characters)',
  VPC_CIDR: 'set VPC_CIDR to a private range between /16 and /20, e.g. VPC_CIDR=10.1.0.0/16',
  NAT_GATEWAYS: 'set NAT_GATEWAYS=single (one NAT gateway, cheaper) or NAT_GATEWAYS=per-az (one per AZ, survives an AZ outage)',
  BASTION_ENABLED: 'set BASTION_ENABLED=true or BASTION_ENABLED=false',
  BASTION_SSH_CIDR:
    'leave BASTION_SSH_CIDR empty to reach the bastion through SSM Session Manager, or set it to your office range, e.g. 203.0.113.0/24',
  BASTION_INSTANCE_TYPE: 'set BASTION_INSTANCE_TYPE to an EC2 instance type, e.g. t3.small',
  BASTION_KEY_NAME: 'set BASTION_KEY_NAME to the name of an existing EC2 key pair, or leave it empty',
  BASTION_OPERATOR_POLICY:
    'set BASTION_OPERATOR_POLICY=true to let the bastion run every step with its own role (npm run iam-policy shows the policy), or false',
  NODE_COUNT: 'set NODE_COUNT to the number of Scalar DL nodes, e.g. NODE_COUNT=3',
  NODE_INSTANCE_TYPE: 'set NODE_INSTANCE_TYPE to an EC2 instance type, e.g. m5.xlarge',
  DATABASE: 'set DATABASE=dynamodb (the only database this runbook deploys today)',
  DYNAMODB_NAMESPACE_PREFIX: 'use letters, digits, "_", "-" or "." (at most 40), e.g. DYNAMODB_NAMESPACE_PREFIX=prod_',
  WAIT_TIMEOUT_SECONDS: 'set WAIT_TIMEOUT_SECONDS to a whole number of seconds, e.g. 900',
  KUBECTL: 'set KUBECTL to the kubectl command or its path',
  KUBERNETES_VERSION:
    'set KUBERNETES_VERSION to an EKS version in standard support, such as 1.35 (00-preflight lists them: aws eks describe-cluster-versions)',
  NODEGROUP_NAME: 'set NODEGROUP_NAME to a node group name such as scalardlpool (letters, digits, hyphens)',
  NODE_MAX: 'set NODE_MAX to the most Scalar DL nodes the node group may scale to (at least NODE_COUNT), e.g. 6',
  ENDPOINT_PUBLIC_ACCESS:
    'set ENDPOINT_PUBLIC_ACCESS=false (private endpoint, reached from the bastion) or true with ENDPOINT_PUBLIC_CIDRS',
  ENDPOINT_PUBLIC_CIDRS:
    'set ENDPOINT_PUBLIC_CIDRS to the comma-separated ranges allowed to reach the public endpoint, e.g. 203.0.113.0/24',
  CLUSTER_ADMIN_ARNS:
    'set CLUSTER_ADMIN_ARNS to the comma-separated ARNs of the IAM roles or users that may administer the clusters, e.g. arn:aws:iam::111122223333:role/ops (a role by its ARN as IAM shows it, path included, e.g. an IAM Identity Center role arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef; never a session ARN arn:aws:sts::...:assumed-role/...), or leave it empty',
  SYSTEM_NODE_COUNT: 'set SYSTEM_NODE_COUNT to the number of untainted system nodes, e.g. 2',
  SYSTEM_NODE_INSTANCE_TYPE: 'set SYSTEM_NODE_INSTANCE_TYPE to an EC2 instance type, e.g. m5.large',
  CONTROL_PLANE_LOG_TYPES:
    'set CONTROL_PLANE_LOG_TYPES to a comma-separated subset of api,audit,authenticator,controllerManager,scheduler (or empty to turn control-plane logging off)',
  CONTAINER_INSIGHTS:
    'set CONTAINER_INSIGHTS=addon (the amazon-cloudwatch-observability EKS add-on, its agents on Pod Identity), or leave it out',
  LOG_RETENTION_DAYS:
    'set LOG_RETENTION_DAYS to one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653',
  LOG_FRESHNESS_MINUTES: 'set LOG_FRESHNESS_MINUTES to how recent the newest container log must be, e.g. 10',
  GITHUB_USERNAME: 'set GITHUB_USERNAME to the GitHub account that owns GITHUB_TOKEN',
  GITHUB_TOKEN:
    'set GITHUB_TOKEN to a GitHub personal access token with the read:packages scope (in .env, mode 600, or the environment; never on a command line)',
  SCALARDL_NAMESPACE: 'set SCALARDL_NAMESPACE to a Kubernetes namespace name, e.g. default',
  SCALARDL_RELEASE: 'set SCALARDL_RELEASE to a helm release name, e.g. my-release-scalardl',
  SCHEMA_RELEASE: 'set SCHEMA_RELEASE to a helm release name, e.g. load-schema',
  SCALARDL_CHART_VERSION: 'set SCALARDL_CHART_VERSION to a scalar-labs/scalardl chart version, e.g. 4.12.0',
  SCHEMA_LOADING_CHART_VERSION: 'set SCHEMA_LOADING_CHART_VERSION to a scalar-labs/schema-loading chart version, e.g. 2.14.0',
  LEDGER_PROOF_ENABLED: 'set LEDGER_PROOF_ENABLED=true (Asset Proofs, as the guide recommends) or false',
  LEDGER_PRIVATE_KEY_FILE:
    "set LEDGER_PRIVATE_KEY_FILE to the path of the Ledger's EC P-256 private key in PEM (04-scalardl --generate-ledger-key creates one)",
  SCALARDL_DB_USERNAME: 'set SCALARDL_DB_USERNAME to the access key id Scalar DL uses for DynamoDB',
  SCALARDL_DB_PASSWORD:
    'set SCALARDL_DB_PASSWORD to the secret access key Scalar DL uses for DynamoDB (in .env with mode 600, or the environment)',
  HELM: 'set HELM to the helm command or its path',
  AUDITOR_ENABLED: 'set AUDITOR_ENABLED=true to deploy Scalar DL Auditor (05-auditor) in its own VPC and EKS cluster, or false',
  AUDITOR_CLUSTER_NAME:
    'set AUDITOR_CLUSTER_NAME to the Auditor cluster name, different from CLUSTER_NAME (default <CLUSTER_NAME>-auditor; lower-case letters, digits, hyphens)',
  AUDITOR_VPC_CIDR:
    'set AUDITOR_VPC_CIDR to a private range between /16 and /20 that overlaps neither VPC_CIDR nor a client VPC, e.g. AUDITOR_VPC_CIDR=10.2.0.0/16',
  CLIENT_VPC_IDS:
    'set CLIENT_VPC_IDS to the comma-separated ids of the application VPCs to peer with the Ledger and the Auditor, e.g. vpc-0123456789abcdef0, or leave it empty',
  AUDITOR_PRIVATE_KEY_FILE:
    "set AUDITOR_PRIVATE_KEY_FILE to the path of the Auditor's EC P-256 private key in PEM (05-auditor --generate-keys creates one)",
  AUDITOR_CERTIFICATE_FILE:
    "set AUDITOR_CERTIFICATE_FILE to the path of the Auditor's X.509 certificate in PEM (05-auditor --generate-keys creates a self-signed one)",
  LEDGER_CERTIFICATE_FILE:
    "set LEDGER_CERTIFICATE_FILE to the path of the certificate of the Ledger's key in PEM (05-auditor --generate-keys creates a self-signed one)",
  SCALARDL_AUDIT_CHART_VERSION: 'set SCALARDL_AUDIT_CHART_VERSION to a scalar-labs/scalardl-audit chart version, e.g. 2.12.0',
  AUDITOR_RELEASE: 'set AUDITOR_RELEASE to a helm release name, e.g. my-release-scalardl-audit',
  AUDIT_SCHEMA_RELEASE: 'set AUDIT_SCHEMA_RELEASE to a helm release name, e.g. load-audit-schema',
  SCALARDL_AUDITOR_LICENSE_KEY:
    'set SCALARDL_AUDITOR_LICENSE_KEY to your ScalarDL Auditor licence key, the JSON text Scalar gave you, in single quotes in .env (mode 600); a trial key: https://scalardl.scalar-labs.com/docs/latest/scalar-licensing/trial/',
  SCALARDL_AUDITOR_LICENSE_CERT_FILE:
    "set SCALARDL_AUDITOR_LICENSE_CERT_FILE to the PEM file of the certificate that checks the licence key (the trial or commercial one from Scalar's licensing page)",
  SCALARDL_CLIENT_SDK_VERSION:
    'set SCALARDL_CLIENT_SDK_VERSION to the Scalar DL Java client SDK release whose register-cert tool registers the certificates, e.g. 3.13.0',
  EKSCTL: 'set EKSCTL to the eksctl command or its path',
  LOCK_LEASE_SECONDS: "set LOCK_LEASE_SECONDS to how long a run's lock outlives the run if it is killed, in seconds (10 to 3600), e.g. 120",
}

export const LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/
/** An IAM role or user ARN (an assumed-role session ARN is not a principal an access entry can name). */
const ADMIN_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/
const CLUSTER = /^[a-z][a-z0-9-]*$/

const TRUE = ['true', 'yes', '1']
/** Whether a raw value means true, as the boolean keys read it. */
export const isTrue = (v: string | undefined) => TRUE.includes((v ?? '').trim().toLowerCase())

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => [...TRUE, 'false', 'no', '0'].includes(v), 'must be true or false')
  .transform((v) => isTrue(v))

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`)

const cidrString = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    try {
      parseCidr(v)
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message })
    }
  })

/** A command or its path: no spaces or shell characters (commands run without a shell). */
const tool = (fallback: string) =>
  z
    .string()
    .trim()
    .regex(/^[\w./+-]+$/, 'must be a command name or a path, without spaces or shell characters')
    .default(fallback)

/** A file path (existence and content are checked by the step that uses it). */
const filePath = z
  .string()
  .trim()
  .refine((v) => !/[\0\r\n]/.test(v), 'holds a line break or NUL')
  .default('')

/** A VPC range: valid, private, between /16 and /20. */
const vpcCidr = (fallback: string) =>
  cidrString.default(fallback).superRefine((v, ctx) => {
    let c
    try {
      c = parseCidr(v)
    } catch {
      return // reported by cidrString
    }
    if (c.prefix < 16 || c.prefix > 20)
      ctx.addIssue({ code: 'custom', message: `is /${c.prefix}; it must be between /16 and /20 (public subnets must stay /24 or larger)` })
    if (!isPrivateRange(c))
      ctx.addIssue({ code: 'custom', message: `${v} is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)` })
  })

const schema = z.object({
  AWS_REGION: z
    .string({ error: 'is required' })
    .trim()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'is not an AWS region name such as ap-northeast-1'),
  CLUSTER_NAME: z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'is required')
    .max(40, 'is longer than 40 characters')
    .regex(CLUSTER, 'must be lower-case letters, digits and hyphens, starting with a letter'),
  VPC_CIDR: vpcCidr('10.1.0.0/16'),
  NAT_GATEWAYS: z.enum(['single', 'per-az'], { error: 'must be single or per-az' }).default('single'),
  BASTION_ENABLED: bool.default(true),
  BASTION_OPERATOR_POLICY: bool.default(true),
  BASTION_SSH_CIDR: z
    .string()
    .trim()
    .default('')
    .superRefine((v, ctx) => {
      if (!v) return
      try {
        const c = parseCidr(v)
        if (c.prefix === 0) ctx.addIssue({ code: 'custom', message: 'opens SSH to the whole internet (0.0.0.0/0), which is refused' })
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message })
      }
    }),
  BASTION_INSTANCE_TYPE: z.string().trim().regex(INSTANCE_TYPE, 'is not an EC2 instance type such as t3.small').default('t3.small'),
  BASTION_KEY_NAME: z
    .string()
    .trim()
    .max(255, 'is longer than 255 characters')
    .regex(/^[\x20-\x7e]*$/, 'may only hold printable ASCII characters')
    .default(''),
  NODE_COUNT: int(1, 100).default(3),
  NODE_INSTANCE_TYPE: z.string().trim().regex(INSTANCE_TYPE, 'is not an EC2 instance type such as m5.xlarge').default('m5.xlarge'),
  DATABASE: z
    .string()
    .trim()
    .toLowerCase()
    .default('dynamodb')
    .superRefine((v, ctx) => {
      if (v === 'dynamodb') return
      const known = [
        'mysql',
        'postgresql',
        'aurora',
        'aurora-mysql',
        'aurora-postgresql',
        'rds',
        'cosmos',
        'cassandra',
        'oracle',
        'sqlserver',
      ]
      ctx.addIssue({
        code: 'custom',
        message: known.includes(v)
          ? `"${v}" is not supported yet: this runbook deploys Scalar DL on DynamoDB only`
          : `"${v}" is not a database this runbook knows; it supports dynamodb`,
      })
    }),
  DYNAMODB_NAMESPACE_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{0,40}$/, 'may only hold letters, digits, "_", "-" and "." (at most 40)')
    .default(''),
  WAIT_TIMEOUT_SECONDS: int(1, 24 * 3600).default(900),
  KUBERNETES_VERSION: z
    .string()
    .trim()
    .regex(/^1\.\d{1,2}$/, 'must look like 1.35')
    .refine((v) => Number(v.split('.')[1]) >= 19, 'is older than 1.19, which the guide requires')
    // In EKS standard support until 2027-03-27 (AWS's calendar); 00-preflight asks EKS, so a
    // default that has aged into extended support is reported with its cost, not trusted.
    .default('1.35'),
  NODEGROUP_NAME: z
    .string()
    .trim()
    .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, 'must be letters, digits and hyphens, starting with a letter')
    .default('scalardlpool'),
  NODE_MAX: int(1, 200).optional(),
  ENDPOINT_PUBLIC_ACCESS: bool.default(false),
  CLUSTER_ADMIN_ARNS: z
    .string()
    .trim()
    .default('')
    .superRefine((v, ctx) => {
      const bad = v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x && !ADMIN_ARN.test(x))
      if (bad.length)
        ctx.addIssue({
          code: 'custom',
          message: `has ${bad.map((b) => `"${b}"`).join(', ')}, not IAM role or user ARNs such as arn:aws:iam::111122223333:role/ops`,
        })
    }),
  ENDPOINT_PUBLIC_CIDRS: z
    .string()
    .trim()
    .default('')
    .superRefine((v, ctx) => {
      for (const c of v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)) {
        try {
          if (parseCidr(c).prefix === 0)
            ctx.addIssue({ code: 'custom', message: 'opens the Kubernetes API to the whole internet (0.0.0.0/0), which is refused' })
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message })
        }
      }
    }),
  SYSTEM_NODE_COUNT: int(0, 100).default(2),
  CONTROL_PLANE_LOG_TYPES: z
    .string()
    .trim()
    .default('api,audit,authenticator,controllerManager,scheduler')
    .superRefine((v, ctx) => {
      const bad = v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x && !LOG_TYPES.includes(x))
      if (bad.length) ctx.addIssue({ code: 'custom', message: `has unknown log type(s) ${bad.join(', ')}` })
    }),
  CONTAINER_INSIGHTS: z
    .string()
    .trim()
    .default('addon')
    .superRefine((v, ctx) => {
      // manifest (AWS's quick-start DaemonSets on the node role) is gone: eksctl refuses the node
      // role's CloudWatch policy beside disablePodIMDS (validation.go@v0.228.0:740-747).
      if (v === 'manifest')
        ctx.addIssue({
          code: 'custom',
          message:
            'is manifest, which this runbook no longer offers: eksctl refuses a CloudWatch policy on the node role of a node group without IMDS for its Pods',
        })
      else if (v !== 'addon') ctx.addIssue({ code: 'custom', message: 'must be addon' })
    }),
  LOG_RETENTION_DAYS: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number of days')
    .transform(Number)
    .refine((n) => RETENTION_DAYS.includes(n), 'is not a retention CloudWatch Logs accepts')
    .default(30),
  LOG_FRESHNESS_MINUTES: int(1, 24 * 60).default(10),
  GITHUB_USERNAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9-]{1,39}$/, 'is not a GitHub user name')
    .optional(),
  GITHUB_TOKEN: z.string().trim().min(20, 'is too short for a GitHub token').optional(),
  SCALARDL_NAMESPACE: z
    .string()
    .trim()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'is not a Kubernetes namespace name')
    .default('default'),
  SCALARDL_RELEASE: z
    .string()
    .trim()
    .regex(/^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/, 'is not a helm release name')
    .default('my-release-scalardl'),
  SCHEMA_RELEASE: z
    .string()
    .trim()
    .regex(/^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/, 'is not a helm release name')
    .default('load-schema'),
  SCALARDL_CHART_VERSION: z
    .string()
    .trim()
    .regex(/^\d+\.\d+\.\d+$/, 'must look like 4.12.0')
    .default('4.12.0'),
  SCHEMA_LOADING_CHART_VERSION: z
    .string()
    .trim()
    .regex(/^\d+\.\d+\.\d+$/, 'must look like 2.14.0')
    .default('2.14.0'),
  LEDGER_PROOF_ENABLED: bool.default(true),
  LEDGER_PRIVATE_KEY_FILE: filePath,
  SCALARDL_DB_USERNAME: z
    .string()
    .trim()
    .regex(/^[A-Z0-9]{16,128}$/, 'is not an AWS access key id (16 to 128 upper-case letters and digits, e.g. AKIA...)')
    .optional(),
  SCALARDL_DB_PASSWORD: z
    .string()
    .min(8, 'is too short for a secret access key')
    .refine((v) => !/[\r\n]/.test(v), 'holds a line break')
    .optional(),
  SYSTEM_NODE_INSTANCE_TYPE: z.string().trim().regex(INSTANCE_TYPE, 'is not an EC2 instance type such as m5.large').default('m5.large'),
  AUDITOR_ENABLED: bool.default(false),
  AUDITOR_CLUSTER_NAME: z
    .string()
    .trim()
    .max(40, 'is longer than 40 characters')
    .regex(CLUSTER, 'must be lower-case letters, digits and hyphens, starting with a letter')
    .optional(),
  AUDITOR_VPC_CIDR: vpcCidr('10.2.0.0/16'),
  CLIENT_VPC_IDS: z
    .string()
    .trim()
    .default('')
    .superRefine((v, ctx) => {
      const bad = v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x && !/^vpc-[0-9a-f]{8,17}$/.test(x))
      if (bad.length)
        ctx.addIssue({ code: 'custom', message: `has ${bad.map((b) => `"${b}"`).join(', ')}, not VPC ids such as vpc-0123456789abcdef0` })
    }),
  AUDITOR_PRIVATE_KEY_FILE: filePath,
  AUDITOR_CERTIFICATE_FILE: filePath,
  LEDGER_CERTIFICATE_FILE: filePath,
  SCALARDL_AUDIT_CHART_VERSION: z
    .string()
    .trim()
    .regex(/^\d+\.\d+\.\d+$/, 'must look like 2.12.0')
    .default('2.12.0'),
  AUDITOR_RELEASE: z
    .string()
    .trim()
    .regex(/^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/, 'is not a helm release name')
    .default('my-release-scalardl-audit'),
  AUDIT_SCHEMA_RELEASE: z
    .string()
    .trim()
    .regex(/^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/, 'is not a helm release name')
    .default('load-audit-schema'),
  SCALARDL_CLIENT_SDK_VERSION: z
    .string()
    .trim()
    .regex(/^\d+\.\d+\.\d+$/, 'must look like 3.13.0')
    .default('3.13.0'),
  SCALARDL_AUDITOR_LICENSE_KEY: z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      // The JSON Scalar issues (docs-scalardl docs/scalar-licensing/trial.mdx); the value is never echoed.
      let licence: { product_name?: unknown; license_type?: unknown } | undefined
      try {
        licence = JSON.parse(v)
      } catch {
        licence = undefined
      }
      if (!licence || typeof licence !== 'object')
        ctx.addIssue({ code: 'custom', message: 'is not a licence key (the JSON text Scalar issues, in single quotes in .env)' })
      else if (licence.product_name !== 'ScalarDL Auditor')
        ctx.addIssue({
          code: 'custom',
          message: `is a licence for ${JSON.stringify(licence.product_name ?? 'no product')}, not for ScalarDL Auditor`,
        })
      else if (!/^(enterprise|trial)$/i.test(String(licence.license_type ?? '')))
        ctx.addIssue({ code: 'custom', message: 'is neither an ENTERPRISE nor a TRIAL licence' })
    })
    .optional(),
  SCALARDL_AUDITOR_LICENSE_CERT_FILE: filePath,
  LOCK_LEASE_SECONDS: int(10, 3600).default(120),
  KUBECTL: tool('kubectl'),
  HELM: tool('helm'),
  EKSCTL: tool('eksctl'),
})

type Raw = z.infer<typeof schema>

export interface Config {
  region: string
  clusterName: string
  vpcCidr: string
  natGateways: 'single' | 'per-az'
  bastion: {
    enabled: boolean
    sshCidr: string
    instanceType: string
    keyName: string
    /** The runbook operator policy (lib/iam/operator-policy.ts) on the bastion's role, so it runs the steps with its own credentials. */
    operatorPolicy: boolean
  }
  nodeCount: number
  nodeInstanceType: string
  kubernetesVersion: string
  nodegroupName: string
  nodeMax: number
  endpoint: { publicAccess: boolean; publicCidrs: string[] }
  systemNodeCount: number
  systemNodeInstanceType: string
  monitoring: {
    controlPlaneLogTypes: string[]
    containerInsights: 'addon'
    logRetentionDays: number
    logFreshnessMinutes: number
  }
  scalardl: {
    namespace: string
    release: string
    schemaRelease: string
    chartVersion: string
    schemaChartVersion: string
    /** Which Scalar DL server this view deploys: the Ledger (04) or the Auditor (05). */
    app: 'ledger' | 'auditor'
    proofEnabled: boolean
    privateKeyFile: string
    /** The certificate of privateKeyFile (the Auditor's, in the Auditor's view). */
    certificateFile: string
    github: { username?: string; token?: string }
    db: { username?: string; password?: string }
  }
  auditor: {
    enabled: boolean
    clusterName: string
    vpcCidr: string
    clientVpcIds: string[]
    privateKeyFile: string
    certificateFile: string
    ledgerCertificateFile: string
    chartVersion: string
    release: string
    schemaRelease: string
    clientSdkVersion: string
    /** ScalarDL Auditor is ScalarDL Enterprise: its licence key and the certificate that checks it. */
    license: { key?: string; certFile: string }
  }
  database: 'dynamodb'
  dynamodbNamespacePrefix: string
  waitTimeoutMs: number
  /** How long a killed run's lock lasts (renewed every third of it while the run lives). */
  lockLeaseMs: number
  tools: { kubectl: string; helm: string; eksctl: string }
  /** IAM roles and users given cluster-admin access entries on the clusters, besides the bastion's role. */
  clusterAdminArns: string[]
  /** The cluster whose bastion operates this one (the Auditor's view: the Ledger's), when it is not this cluster's own. */
  bastionOf?: string
  /** Another range admitted to the EKS API on 443 (the Auditor's view: the Ledger VPC, where the bastion is). */
  apiAccessFrom?: { cidr: string; label: string }
  /** Where the runbook keeps its journal and rendered files. */
  stateDir: string
  /** Where the values came from, for messages. */
  source: string
}

export const CONFIG_KEYS = Object.keys(schema.shape)

/** The EKS clusters (each with its own VPC) a configuration makes: the Ledger's, and the Auditor's when enabled. */
export const deploymentClusters = (c: Pick<Config, 'clusterName' | 'auditor'>): string[] => [
  c.clusterName,
  ...(c.auditor.enabled ? [c.auditor.clusterName] : []),
]

/**
 * Lines dotenv would silently ignore or misread: not `KEY=value`, a comment or blank. A value in
 * quotes may span lines (a PEM, say), so lines inside an open quote are not judged.
 */
export function envFileProblems(text: string, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  let open: string | undefined
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (open) {
      if (line.endsWith(open)) open = undefined
      continue
    }
    if (!line || line.startsWith('#')) continue
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (!m) {
      problems.push({
        key: `${file}:${i + 1}`,
        message: `is not KEY=value: "${line.length > 40 ? `${line.slice(0, 40)}...` : line}"`.replace(
          /(TOKEN|PASSWORD|SECRET)[^"]*/gi,
          '$1...',
        ),
        fix: 'write each setting as KEY=value on its own line (comments start with #)',
      })
      continue
    }
    const v = m[2]!
    const q = v[0]
    if (
      (q === '"' || q === "'" || q === '`') &&
      !(
        v.length > 1 &&
        v
          .trimEnd()
          .replace(/\s+#.*$/, '')
          .endsWith(q)
      )
    )
      open = q
  }
  if (open)
    problems.push({
      key: file,
      message: `a quoted value is never closed (missing ${open})`,
      fix: 'close the quote of the value that spans lines',
    })
  return problems
}

/** Reads the env file into process.env (values already in the environment win, as dotenv does). */
export function loadEnvFile(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const file = envFile ?? '.env'
  if (fs.existsSync(file)) {
    let text: string
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (e) {
      throw new ConfigError(
        [
          {
            key: file,
            message: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
            fix: `make ${file} readable by this user (chmod 600 ${file}; it holds secrets)`,
          },
        ],
        file,
      )
    }
    const problems = envFileProblems(text, file)
    if (problems.length) throw new ConfigError(problems, file)
    dotenv.config({ path: file, processEnv: env as Record<string, string>, quiet: true })
    return file
  }
  if (envFile)
    throw new ConfigError(
      [{ key: '--env-file', message: `${envFile} does not exist`, fix: 'pass the path of an existing file, or copy .env.example to .env' }],
      envFile,
    )
  return 'environment'
}

/** Validates the environment; throws ConfigError listing every problem. */
export function parseConfig(env: NodeJS.ProcessEnv, source = 'environment'): Config {
  const input: Record<string, string> = {}
  for (const key of CONFIG_KEYS) {
    const v = env[key]
    // An empty value means "use the default" (and "missing" for a required key), as in .env files.
    if (v !== undefined && v.trim() !== '') input[key] = v
  }
  const result = schema.safeParse(input)
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const key = String(i.path[0] ?? '?')
      const given = input[key]
      const message = given === undefined && /required|expected string/i.test(i.message) ? 'is required' : i.message
      // Never echo a secret's value back, even a malformed one.
      const echo = given !== undefined && !SECRET_KEY.test(key)
      return { key, message: echo ? `${message} (got "${given}")` : message, fix: FIX[key] ?? '' }
    })
    // Rules between keys are checked too, so every problem shows at once: on each key's own
    // parse (its default included, from the schema, the one place defaults are written); a key
    // that failed its own parse is left out of those rules (NaN or its raw text).
    const one = <K extends keyof typeof schema.shape>(k: K) => {
      const r = schema.shape[k].safeParse(input[k])
      return r.success ? (r.data as Raw[K]) : undefined
    }
    const raw = {
      NODE_COUNT: one('NODE_COUNT') ?? Number.NaN,
      NODE_MAX: input.NODE_MAX === undefined ? undefined : (one('NODE_MAX') ?? Number.NaN),
      ENDPOINT_PUBLIC_ACCESS: one('ENDPOINT_PUBLIC_ACCESS') ?? false,
      ENDPOINT_PUBLIC_CIDRS: one('ENDPOINT_PUBLIC_CIDRS') ?? input.ENDPOINT_PUBLIC_CIDRS ?? '',
      AUDITOR_ENABLED: one('AUDITOR_ENABLED') ?? false,
      VPC_CIDR: one('VPC_CIDR') ?? input.VPC_CIDR?.trim() ?? '',
      AUDITOR_VPC_CIDR: one('AUDITOR_VPC_CIDR') ?? input.AUDITOR_VPC_CIDR?.trim() ?? '',
      CLUSTER_NAME: one('CLUSTER_NAME') ?? input.CLUSTER_NAME?.trim() ?? '',
      AUDITOR_CLUSTER_NAME: one('AUDITOR_CLUSTER_NAME') ?? input.AUDITOR_CLUSTER_NAME?.trim(),
    }
    const seen = new Set(problems.map((p) => p.key))
    for (const p of crossFieldProblems(raw))
      if (!seen.has(p.key) && (p.key !== 'NODE_MAX' || !Number.isNaN(raw.NODE_COUNT))) problems.push(p)
    throw new ConfigError(problems, source)
  }
  const cross = crossFieldProblems(result.data)
  if (cross.length) throw new ConfigError(cross, source)
  return toConfig(result.data, env, source)
}

/** The first pair of ranges that overlap, as a sentence naming both keys, or undefined. */
export function cidrOverlap(ranges: { key: string; cidr: string }[]): string | undefined {
  const parsed = ranges.flatMap((r) => {
    try {
      return [{ ...r, c: parseCidr(r.cidr) }]
    } catch {
      return [] // reported on its own key
    }
  })
  for (const [i, a] of parsed.entries()) {
    for (const b of parsed.slice(i + 1))
      if (overlaps(a.c, b.c)) return `${a.key} ${a.cidr} and ${b.key} ${b.cidr} overlap: peered VPCs need distinct ranges`
  }
  return undefined
}

/** Rules between keys, checked once every key is valid on its own. */
function crossFieldProblems(
  r: Pick<
    Raw,
    | 'NODE_MAX'
    | 'NODE_COUNT'
    | 'ENDPOINT_PUBLIC_ACCESS'
    | 'ENDPOINT_PUBLIC_CIDRS'
    | 'AUDITOR_ENABLED'
    | 'VPC_CIDR'
    | 'AUDITOR_VPC_CIDR'
    | 'CLUSTER_NAME'
    | 'AUDITOR_CLUSTER_NAME'
  >,
): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  if (r.AUDITOR_ENABLED) {
    const overlap = cidrOverlap([
      { key: 'VPC_CIDR', cidr: r.VPC_CIDR },
      { key: 'AUDITOR_VPC_CIDR', cidr: r.AUDITOR_VPC_CIDR },
    ])
    if (overlap) problems.push({ key: 'AUDITOR_VPC_CIDR', message: overlap, fix: FIX.AUDITOR_VPC_CIDR! })
    if (r.AUDITOR_CLUSTER_NAME && r.AUDITOR_CLUSTER_NAME === r.CLUSTER_NAME)
      problems.push({
        key: 'AUDITOR_CLUSTER_NAME',
        message: "is the same as CLUSTER_NAME: the Auditor needs its own cluster (Scalar's production checklist)",
        fix: FIX.AUDITOR_CLUSTER_NAME!,
      })
  }
  if (r.NODE_MAX !== undefined && !Number.isNaN(r.NODE_MAX) && r.NODE_MAX < r.NODE_COUNT)
    problems.push({ key: 'NODE_MAX', message: `is ${r.NODE_MAX}, less than NODE_COUNT (${r.NODE_COUNT})`, fix: FIX.NODE_MAX! })
  if (r.ENDPOINT_PUBLIC_ACCESS && !r.ENDPOINT_PUBLIC_CIDRS)
    problems.push({
      key: 'ENDPOINT_PUBLIC_CIDRS',
      message: 'is required when ENDPOINT_PUBLIC_ACCESS=true',
      fix: FIX.ENDPOINT_PUBLIC_CIDRS!,
    })
  return problems
}

const file = (p: string) => (p ? path.resolve(p) : '')
const auditorClusterName = (cluster: string) => `${cluster}-auditor`.slice(0, 40)

function toConfig(r: Raw, env: NodeJS.ProcessEnv, source: string): Config {
  return {
    region: r.AWS_REGION,
    clusterName: r.CLUSTER_NAME,
    vpcCidr: r.VPC_CIDR,
    natGateways: r.NAT_GATEWAYS,
    bastion: {
      enabled: r.BASTION_ENABLED,
      sshCidr: r.BASTION_SSH_CIDR,
      instanceType: r.BASTION_INSTANCE_TYPE,
      keyName: r.BASTION_KEY_NAME,
      operatorPolicy: r.BASTION_OPERATOR_POLICY,
    },
    nodeCount: r.NODE_COUNT,
    nodeInstanceType: r.NODE_INSTANCE_TYPE,
    kubernetesVersion: r.KUBERNETES_VERSION,
    nodegroupName: r.NODEGROUP_NAME,
    nodeMax: r.NODE_MAX ?? 2 * r.NODE_COUNT,
    endpoint: {
      publicAccess: r.ENDPOINT_PUBLIC_ACCESS,
      publicCidrs: r.ENDPOINT_PUBLIC_CIDRS.split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    },
    clusterAdminArns: [
      ...new Set(
        r.CLUSTER_ADMIN_ARNS.split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    ],
    systemNodeCount: r.SYSTEM_NODE_COUNT,
    systemNodeInstanceType: r.SYSTEM_NODE_INSTANCE_TYPE,
    monitoring: {
      controlPlaneLogTypes: r.CONTROL_PLANE_LOG_TYPES.split(',')
        .map((x) => x.trim())
        .filter(Boolean),
      containerInsights: 'addon' as const,
      logRetentionDays: r.LOG_RETENTION_DAYS,
      logFreshnessMinutes: r.LOG_FRESHNESS_MINUTES,
    },
    scalardl: {
      namespace: r.SCALARDL_NAMESPACE,
      release: r.SCALARDL_RELEASE,
      schemaRelease: r.SCHEMA_RELEASE,
      chartVersion: r.SCALARDL_CHART_VERSION,
      schemaChartVersion: r.SCHEMA_LOADING_CHART_VERSION,
      app: 'ledger',
      proofEnabled: r.LEDGER_PROOF_ENABLED,
      privateKeyFile: file(r.LEDGER_PRIVATE_KEY_FILE),
      certificateFile: file(r.LEDGER_CERTIFICATE_FILE),
      github: { username: r.GITHUB_USERNAME, token: r.GITHUB_TOKEN },
      db: { username: r.SCALARDL_DB_USERNAME, password: r.SCALARDL_DB_PASSWORD },
    },
    auditor: {
      enabled: r.AUDITOR_ENABLED,
      clusterName: r.AUDITOR_CLUSTER_NAME ?? auditorClusterName(r.CLUSTER_NAME),
      vpcCidr: r.AUDITOR_VPC_CIDR,
      clientVpcIds: r.CLIENT_VPC_IDS.split(',')
        .map((x) => x.trim())
        .filter(Boolean),
      privateKeyFile: file(r.AUDITOR_PRIVATE_KEY_FILE),
      certificateFile: file(r.AUDITOR_CERTIFICATE_FILE),
      ledgerCertificateFile: file(r.LEDGER_CERTIFICATE_FILE),
      chartVersion: r.SCALARDL_AUDIT_CHART_VERSION,
      release: r.AUDITOR_RELEASE,
      schemaRelease: r.AUDIT_SCHEMA_RELEASE,
      clientSdkVersion: r.SCALARDL_CLIENT_SDK_VERSION,
      license: { key: r.SCALARDL_AUDITOR_LICENSE_KEY, certFile: file(r.SCALARDL_AUDITOR_LICENSE_CERT_FILE) },
    },
    database: 'dynamodb',
    dynamodbNamespacePrefix: r.DYNAMODB_NAMESPACE_PREFIX,
    waitTimeoutMs: r.WAIT_TIMEOUT_SECONDS * 1000,
    lockLeaseMs: r.LOCK_LEASE_SECONDS * 1000,
    tools: { kubectl: r.KUBECTL, helm: r.HELM, eksctl: r.EKSCTL },
    stateDir: path.resolve(env.RUNBOOK_STATE_DIR || '.runbook'),
    source,
  }
}

/** Loads the env file and validates; the one entry point the runbooks use. */
export function loadConfig(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  const source = loadEnvFile(envFile, env)
  registerEnvSecrets(env) // values read from the file are secrets too
  return parseConfig(env, source)
}
