// What the runbook keeps outside the clusters and VPCs, deleted at the end of a teardown that
// deletes the bastion (with --keep-bastion the bastion's own teardown still reads them): the
// deployment's secrets in Parameter Store (made by `npm run secrets -- store`, tagged for the
// cluster) and its objects in the staging bucket (`npm run bastion -- push`), then the bucket
// itself once no deployment has an object left in it. The lock table stays unless asked
// (--delete-lock-table, lock-table.ts): every deployment in the account uses it.
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3'
import { DeleteParametersCommand, ListTagsForResourceCommand, paginateGetParametersByPath } from '@aws-sdk/client-ssm'
import { isAwsError } from '../aws/clients.ts'
import { CLUSTER_TAG } from '../aws/tags.ts'
import { stagingBucket } from '../bastion/remote.ts'
import { PARAMETER_ROOT } from '../secrets/parameters.ts'
import { deploymentClusters } from '../config/load.ts'
import type { Task, TaskContext } from '../engine/task.ts'

/** The parameters under each of the deployment's paths that carry its cluster tag. */
async function ourParameters(ctx: TaskContext): Promise<string[]> {
  const out: string[] = []
  for (const cluster of deploymentClusters(ctx.config)) {
    const names: string[] = []
    for await (const page of paginateGetParametersByPath(
      { client: ctx.aws.ssm },
      { Path: `${PARAMETER_ROOT}/${cluster}`, Recursive: true },
    ))
      for (const p of page.Parameters ?? []) names.push(p.Name!)
    const tagged = await Promise.all(
      names.map(async (n) => {
        const tags = (await ctx.aws.ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: n }))).TagList ?? []
        return tags.some((t) => t.Key === CLUSTER_TAG && t.Value === cluster) ? n : undefined
      }),
    )
    out.push(...tagged.filter((n): n is string => Boolean(n)))
  }
  return out
}

export function parametersTask(): Task<unknown, string[]> {
  return {
    title: "The deployment's secrets in Parameter Store deleted (npm run secrets -- store made them)",
    async check(ctx) {
      const names = await ourParameters(ctx)
      return names.length ? { holds: false, detail: `delete ${names.join(', ')}`, reading: names } : { holds: true, detail: 'none' }
    },
    async apply(ctx, _s, reading) {
      // What the check read; read again only when apply runs without it.
      const names = reading ?? (await ourParameters(ctx))
      for (let i = 0; i < names.length; i += 10) await ctx.aws.ssm.send(new DeleteParametersCommand({ Names: names.slice(i, i + 10) }))
      return `deleted ${names.length} parameter(s)`
    },
  }
}

interface Staging {
  bucket: string
  exists: boolean
  ours: string[]
}

async function staging(ctx: TaskContext): Promise<Staging> {
  const bucket = stagingBucket((await ctx.aws.identity()).Account!, ctx.config.region)
  try {
    await ctx.aws.s3.send(new HeadBucketCommand({ Bucket: bucket }))
  } catch (e) {
    if (isAwsError(e, 'NotFound', 'NoSuchBucket') || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return { bucket, exists: false, ours: [] }
    throw e
  }
  const ours: string[] = []
  for (const cluster of deploymentClusters(ctx.config))
    for await (const page of paginateListObjectsV2({ client: ctx.aws.s3 }, { Bucket: bucket, Prefix: `${cluster}/` }))
      for (const o of page.Contents ?? []) ours.push(o.Key!)
  return { bucket, exists: true, ours }
}

export function stagingTask(): Task<unknown, Staging> {
  return {
    title: "The deployment's staged bundles deleted, and the staging bucket once empty (npm run bastion -- push made them)",
    async check(ctx) {
      const s = await staging(ctx)
      if (!s.exists) return { holds: true, detail: 'no staging bucket', reading: s }
      if (s.ours.length)
        return { holds: false, detail: `delete ${s.ours.length} object(s) of s3://${s.bucket}, then the bucket if empty`, reading: s }
      const others = (await ctx.aws.s3.send(new ListObjectsV2Command({ Bucket: s.bucket, MaxKeys: 1 }))).KeyCount ?? 0
      return others
        ? { holds: true, detail: `none of ours; s3://${s.bucket} kept for other deployments' objects`, reading: s }
        : { holds: false, detail: `delete the empty bucket s3://${s.bucket}`, reading: s }
    },
    async apply(ctx, _s, reading) {
      const s = reading ?? (await staging(ctx))
      for (let i = 0; i < s.ours.length; i += 1000)
        await ctx.aws.s3.send(
          new DeleteObjectsCommand({
            Bucket: s.bucket,
            Delete: { Objects: s.ours.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
          }),
        )
      const left = (await ctx.aws.s3.send(new ListObjectsV2Command({ Bucket: s.bucket, MaxKeys: 1 }))).KeyCount ?? 0
      if (left) return `deleted ${s.ours.length} object(s); s3://${s.bucket} kept for other deployments' objects`
      await ctx.aws.s3.send(new DeleteBucketCommand({ Bucket: s.bucket }))
      return `deleted ${s.ours.length} object(s) and the bucket s3://${s.bucket}`
    },
  }
}
