// The runbook's tags: every resource carries Name and scalardl-runbook/cluster=<CLUSTER_NAME>,
// and is found again by them. scalardl-runbook/role says what the resource is for.
import type { Filter, Tag, TagSpecification, ResourceType } from '@aws-sdk/client-ec2'

export const CLUSTER_TAG = 'scalardl-runbook/cluster'
export const ROLE_TAG = 'scalardl-runbook/role'
export const AZ_TAG = 'scalardl-runbook/az'

export type Role =
  | 'vpc'
  | 'public-subnet'
  | 'private-subnet'
  | 'internet-gateway'
  | 'nat-eip'
  | 'nat-gateway'
  | 'public-route-table'
  | 'private-route-table'
  | 'bastion-sg'
  | 'control-plane-sg'
  | 'bastion'
  | 'dynamodb-endpoint'
  | 'peering'
  | 'envoy-sg'

interface TagOptions {
  cluster: string
  role: Role
  name: string
  az?: string
  extra?: Record<string, string>
}

export function runbookTags(o: TagOptions): Tag[] {
  const tags: Tag[] = [
    { Key: 'Name', Value: o.name },
    { Key: CLUSTER_TAG, Value: o.cluster },
    { Key: ROLE_TAG, Value: o.role },
  ]
  if (o.az) tags.push({ Key: AZ_TAG, Value: o.az })
  for (const [Key, Value] of Object.entries(o.extra ?? {})) tags.push({ Key, Value })
  return tags
}

export function tagSpec(type: ResourceType, o: TagOptions): TagSpecification[] {
  return [{ ResourceType: type, Tags: runbookTags(o) }]
}

/** Filters that find this cluster's resources of one role. */
export function roleFilters(cluster: string, role: Role): Filter[] {
  return [
    { Name: `tag:${CLUSTER_TAG}`, Values: [cluster] },
    { Name: `tag:${ROLE_TAG}`, Values: [role] },
  ]
}

export function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value
}

/** True when the tags say the resource is this cluster's, in this role. */
export function hasRole(tags: Tag[] | undefined, cluster: string, role: Role): boolean {
  return tagValue(tags, CLUSTER_TAG) === cluster && tagValue(tags, ROLE_TAG) === role
}
