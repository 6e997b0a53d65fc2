// The permissions boundary as a task of 01 (and of 03 and 05, for an environment whose 01 ran
// before there was one): made once per account, and "already there" only when its default
// version is this runbook's document. A different document is not replaced by anyone holding the
// operator policy (RunbookBoundaryFixed); an administrator replaces it, as the hint says.
import {
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam'
import { normalisePolicy } from '../aws/bastion.ts'
import { isAwsError } from '../aws/clients.ts'
import { RunbookError } from '../engine/errors.ts'
import type { Task, TaskContext } from '../engine/task.ts'
import { BOUNDARY_NAME, boundaryArn, boundaryPolicy } from './boundary.ts'

/** The boundary's ARN in the caller's account and partition. */
export async function callerBoundaryArn(ctx: TaskContext): Promise<string> {
  const [, partition, , , account] = (await ctx.aws.identity()).Arn!.split(':')
  return boundaryArn(account, partition)
}

const wanted = async (ctx: TaskContext) => normalisePolicy(boundaryPolicy((await ctx.aws.identity()).Account))

interface BoundaryReading {
  arn: string
  /** Absent: no such policy. */
  document?: string
}

async function readBoundary(ctx: TaskContext): Promise<BoundaryReading> {
  const arn = await callerBoundaryArn(ctx)
  try {
    const policy = (await ctx.aws.iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!
    const version = await ctx.aws.iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.DefaultVersionId }))
    return { arn, document: normalisePolicy(version.PolicyVersion!.Document!) }
  } catch (err) {
    if (isAwsError(err, 'NoSuchEntity', 'NoSuchEntityException')) return { arn }
    throw err
  }
}

const adminHint = (arn: string) =>
  `an administrator puts this runbook's version in place: npm run iam-policy -- --boundary > boundary.json; ` +
  `aws iam create-policy-version --policy-arn ${arn} --policy-document file://boundary.json --set-as-default ` +
  '(RUNBOOK.md, "Security model")'

export function boundaryTask(): Task<unknown, BoundaryReading> {
  return {
    title: `Permissions boundary ${BOUNDARY_NAME} (the most any role the runbook or eksctl makes may do)`,
    async check(ctx) {
      const [reading, doc] = await Promise.all([readBoundary(ctx), wanted(ctx)])
      if (!reading.document) return { holds: false, detail: `create IAM policy ${reading.arn}`, reading }
      if (reading.document !== doc)
        return { holds: false, detail: `${reading.arn} differs from this runbook's version: make this version the default`, reading }
      return { holds: true, detail: reading.arn, reading }
    },
    async apply(ctx, _s, reading) {
      const { arn, document } = reading ?? (await readBoundary(ctx))
      const doc = await wanted(ctx)
      const iam = ctx.aws.iam
      try {
        if (!document) {
          await iam
            .send(
              new CreatePolicyCommand({
                PolicyName: BOUNDARY_NAME,
                PolicyDocument: doc,
                Description: 'scalardl-eks-runbook: the permissions boundary of the roles it and eksctl make',
                Tags: [{ Key: 'scalardl-runbook/role', Value: 'permissions-boundary' }],
              }),
            )
            .catch((err: unknown) => {
              // Made meanwhile (another deployment's 01): checked again on the next run.
              if (!isAwsError(err, 'EntityAlreadyExists', 'EntityAlreadyExistsException')) throw err
            })
          return `created ${arn}`
        }
        // A policy keeps at most 5 versions (IAM quotas): the oldest non-default one goes first.
        const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? []
        if (versions.length >= 5) {
          const oldest = versions.filter((v) => !v.IsDefaultVersion).sort((a, b) => +a.CreateDate! - +b.CreateDate!)[0]
          if (oldest) await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: oldest.VersionId }))
        }
        await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: doc, SetAsDefault: true }))
        return `made this runbook's version the default of ${arn}`
      } catch (err) {
        if (isAwsError(err, 'AccessDenied', 'AccessDeniedException'))
          throw new RunbookError(
            `not allowed to ${document ? 'change' : 'create'} the permissions boundary ${arn}: ${(err as Error).message}`,
            adminHint(arn),
          )
        throw err
      }
    },
  }
}
