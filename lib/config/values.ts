// The kinds of value a configuration key holds: zod schemas that read the raw text of a .env value
// (trimmed) and say, in words, what is wrong with it. Defaults and optionality are the key's own
// (lib/config/keys.ts), not the kind's.
import * as z from 'zod'
import { isPrivateRange, parseCidr } from '../network/cidr.ts'

export const LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/
/** An IAM role or user ARN (an assumed-role session ARN is not a principal an access entry can name). */
export const ADMIN_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/
export const CLUSTER = /^[a-z][a-z0-9-]*$/
const RELEASE = /^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/

const TRUE = ['true', 'yes', '1']
/** Whether a raw value means true, as the boolean keys read it. */
const isTrue = (v: string | undefined) => TRUE.includes((v ?? '').trim().toLowerCase())

/** The items of a comma-separated value, trimmed, without empty ones. */
export const list = (v: string) =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)

export const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => [...TRUE, 'false', 'no', '0'].includes(v), 'must be true or false')
  .transform((v) => isTrue(v))

export const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`)

export const text = (re: RegExp, message: string) => z.string().trim().regex(re, message)

export const instanceType = (example: string) => text(INSTANCE_TYPE, `is not an EC2 instance type such as ${example}`)
export const release = text(RELEASE, 'is not a helm release name')
export const version = (example: string) => text(/^\d+\.\d+\.\d+$/, `must look like ${example}`)

const cidr = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    try {
      parseCidr(v)
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message })
    }
  })

/** A VPC range: valid, private, between /16 and /20. */
export const vpcCidr = cidr.superRefine((v, ctx) => {
  let c
  try {
    c = parseCidr(v)
  } catch {
    return // reported by cidr
  }
  if (c.prefix < 16 || c.prefix > 20)
    ctx.addIssue({ code: 'custom', message: `is /${c.prefix}; it must be between /16 and /20 (public subnets must stay /24 or larger)` })
  if (!isPrivateRange(c))
    ctx.addIssue({ code: 'custom', message: `${v} is not inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)` })
})

/**
 * A CIDR, or with `many` comma-separated CIDRs, or none; `refused` names what 0.0.0.0/0 would open
 * to the whole internet, which is refused.
 */
export const openTo = (refused: string, many = false) =>
  z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      for (const c of many ? list(v) : v ? [v] : []) {
        try {
          if (parseCidr(c).prefix === 0)
            ctx.addIssue({ code: 'custom', message: `opens ${refused} to the whole internet (0.0.0.0/0), which is refused` })
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message })
        }
      }
    })

/** Comma-separated items (or none), each matching `item`; `bad` says what the others are. */
export const listOf = (item: (x: string) => boolean, bad: (items: string[]) => string) =>
  z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      const wrong = list(v).filter((x) => !item(x))
      if (wrong.length) ctx.addIssue({ code: 'custom', message: bad(wrong) })
    })

/** A command or its path: no spaces or shell characters (commands run without a shell). */
export const tool = text(/^[\w./+-]+$/, 'must be a command name or a path, without spaces or shell characters')

/** A file path (existence and content are checked by the step that uses it). */
export const filePath = z
  .string()
  .trim()
  .refine((v) => !/[\0\r\n]/.test(v), 'holds a line break or NUL')

const DATABASES = [
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

export const database = z
  .string()
  .trim()
  .toLowerCase()
  .superRefine((v, ctx) => {
    if (v === 'dynamodb') return
    ctx.addIssue({
      code: 'custom',
      message: DATABASES.includes(v)
        ? `"${v}" is not supported yet: this runbook deploys Scalar DL on DynamoDB only`
        : `"${v}" is not a database this runbook knows; it supports dynamodb`,
    })
  })

export const containerInsights = z
  .string()
  .trim()
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
  })

/** The licence key's JSON text (docs-scalardl docs/scalar-licensing/trial.mdx); the value is never echoed. */
export const auditorLicenceKey = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
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
