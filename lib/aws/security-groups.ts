// Security groups the runbook owns: their ingress is exactly what the spec says.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2'
import { single } from './discover.ts'
import { roleFilters, tagSpec, type Role } from './tags.ts'

interface IngressRule {
  port: number
  /** Either a CIDR or a source security group. */
  cidr?: string
  sourceGroupId?: string
  description: string
}

export interface SecurityGroupSpec {
  role: Extract<Role, 'bastion-sg' | 'control-plane-sg' | 'envoy-sg'>
  name: string
  description: string
  ingress: IngressRule[]
}

interface FlatRule extends IngressRule {
  key: string
  protocol: string
  fromPort?: number
  toPort?: number
}

const ruleKey = (protocol: string, from: number | undefined, to: number | undefined, source: string) =>
  `${protocol}:${from ?? '*'}-${to ?? '*'}:${source}`

function flatten(perms: IpPermission[] | undefined): FlatRule[] {
  const out: FlatRule[] = []
  for (const p of perms ?? []) {
    const protocol = p.IpProtocol ?? '-1'
    for (const r of p.IpRanges ?? [])
      out.push({
        key: ruleKey(protocol, p.FromPort, p.ToPort, r.CidrIp!),
        protocol,
        fromPort: p.FromPort,
        toPort: p.ToPort,
        port: p.FromPort ?? -1,
        cidr: r.CidrIp,
        description: r.Description ?? '',
      })
    for (const g of p.UserIdGroupPairs ?? [])
      out.push({
        key: ruleKey(protocol, p.FromPort, p.ToPort, g.GroupId!),
        protocol,
        fromPort: p.FromPort,
        toPort: p.ToPort,
        port: p.FromPort ?? -1,
        sourceGroupId: g.GroupId,
        description: g.Description ?? '',
      })
  }
  return out
}

const wantedKey = (r: IngressRule) => ruleKey('tcp', r.port, r.port, r.cidr ?? r.sourceGroupId!)

function toPermission(r: {
  protocol?: string
  fromPort?: number
  toPort?: number
  port: number
  cidr?: string
  sourceGroupId?: string
  description: string
}): IpPermission {
  const p: IpPermission = { IpProtocol: r.protocol ?? 'tcp', FromPort: r.fromPort ?? r.port, ToPort: r.toPort ?? r.port }
  // The description is part of the rule as AWS (and moto) stores it: keep it on revoke too.
  const description = r.description || undefined
  if (r.cidr) p.IpRanges = [{ CidrIp: r.cidr, Description: description }]
  else p.UserIdGroupPairs = [{ GroupId: r.sourceGroupId, Description: description }]
  return p
}

export async function findSecurityGroup(
  ec2: EC2Client,
  cluster: string,
  vpcId: string,
  role: SecurityGroupSpec['role'],
): Promise<SecurityGroup | undefined> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [...roleFilters(cluster, role), { Name: 'vpc-id', Values: [vpcId] }] }),
  )
  return single(out.SecurityGroups ?? [], `${role} security groups`, (g) => g.GroupId)
}

export function securityGroupDrift(
  sg: SecurityGroup | undefined,
  spec: SecurityGroupSpec,
): { add: IngressRule[]; remove: FlatRule[]; words: string[] } {
  const current = flatten(sg?.IpPermissions)
  const wanted = new Set(spec.ingress.map(wantedKey))
  const have = new Set(current.map((r) => r.key))
  const add = spec.ingress.filter((r) => !have.has(wantedKey(r)))
  const remove = current.filter((r) => !wanted.has(r.key))
  const words = [
    ...(sg ? [] : [`create ${spec.name}`]),
    ...add.map((r) => `allow tcp/${r.port} from ${r.cidr ?? r.sourceGroupId ?? 'the new group'}`),
    ...remove.map((r) => `revoke ${r.protocol}/${r.fromPort ?? 'all'} from ${r.cidr ?? r.sourceGroupId}`),
  ]
  return { add, remove, words }
}

export async function ensureSecurityGroup(
  ec2: EC2Client,
  o: { cluster: string; vpcId: string; existing?: SecurityGroup; spec: SecurityGroupSpec },
): Promise<string> {
  let groupId = o.existing?.GroupId
  if (!groupId) {
    const out = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: o.spec.name,
        Description: o.spec.description,
        VpcId: o.vpcId,
        TagSpecifications: tagSpec('security-group', { cluster: o.cluster, role: o.spec.role, name: o.spec.name }),
      }),
    )
    groupId = out.GroupId!
  }
  const { add, remove } = securityGroupDrift(o.existing, o.spec)
  if (remove.length) await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: remove.map(toPermission) }))
  if (add.length)
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: add.map((r) => toPermission(r)) }))
  return groupId
}
