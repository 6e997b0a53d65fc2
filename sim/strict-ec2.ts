// EC2's refusals that moto does not make, for the calls the runbook makes: a security-group rule
// that names a group of another VPC is accepted only while a VPC peering connection between the
// two VPCs is active ("To reference a security group in a peer VPC, the VPC peering connection
// must be in the active state": https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html);
// moto accepts any group id it knows. EC2's answer for a group of a VPC it is not peered with:
// InvalidGroup.NotFound, "You have specified two resources that belong to different networks."
// (as quoted in ansible/ansible#28876 and hashicorp/terraform#2857; AWS documents no other code).
import { DescribeSecurityGroupsCommand, DescribeVpcPeeringConnectionsCommand, EC2Client } from '@aws-sdk/client-ec2'
import type { AwsHooks } from './faults.ts'
import { ownAws } from './own-aws.ts'

/** The group ids an AuthorizeSecurityGroupIngress/Egress request references as sources (IpPermissions.N.Groups.M.GroupId). */
function referencedGroups(params: URLSearchParams): string[] {
  const out: string[] = []
  for (const [k, v] of params) if (/^IpPermissions\.\d+\.Groups\.\d+\.GroupId$/.test(k)) out.push(v)
  return [...new Set(out)]
}

export function strictEc2Hooks(motoEndpoint: string): AwsHooks {
  const clients = new Map<string, EC2Client>()
  const ec2 = (region: string) => {
    let c = clients.get(region)
    if (!c) clients.set(region, (c = new EC2Client(ownAws(region, motoEndpoint))))
    return c
  }
  return {
    async refuse(service, action, params, region) {
      if (service !== 'ec2' || !/^AuthorizeSecurityGroup(Ingress|Egress)$/.test(action)) return undefined
      const target = params.get('GroupId')
      const refs = referencedGroups(params).filter((g) => g !== target)
      if (!target || !refs.length) return undefined
      const groups =
        (
          await ec2(region)
            .send(new DescribeSecurityGroupsCommand({ GroupIds: [target, ...refs] }))
            .catch(() => undefined)
        )?.SecurityGroups ?? []
      const vpcOf = new Map(groups.map((g) => [g.GroupId!, g.VpcId]))
      const home = vpcOf.get(target)
      const foreign = refs.filter((g) => vpcOf.has(g) && vpcOf.get(g) !== home)
      if (!home || !foreign.length) return undefined
      const active =
        (
          await ec2(region).send(new DescribeVpcPeeringConnectionsCommand({ Filters: [{ Name: 'status-code', Values: ['active'] }] }))
        ).VpcPeeringConnections?.filter((p) => p.Status?.Code === 'active') ?? []
      const peered = (vpc: string | undefined) =>
        active.some(
          (p) =>
            (p.RequesterVpcInfo?.VpcId === home && p.AccepterVpcInfo?.VpcId === vpc) ||
            (p.AccepterVpcInfo?.VpcId === home && p.RequesterVpcInfo?.VpcId === vpc),
        )
      const unpeered = foreign.find((g) => !peered(vpcOf.get(g)))
      return unpeered
        ? { code: 'InvalidGroup.NotFound', message: 'You have specified two resources that belong to different networks.' }
        : undefined
    },
  }
}
