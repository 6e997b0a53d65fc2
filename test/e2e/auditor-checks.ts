// What the README's operator path with the Auditor (test/e2e/operator-path.test.ts) shows beyond
// the checklist, checked on the deployment that path makes: how `npm run deploy` built it, that a
// rerun changes nothing, and how the Auditor's private endpoint is reached from the Ledger's bastion.
import assert from 'node:assert/strict'
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { GetRoleCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam'
import { boundaryArn } from '../../lib/iam/boundary.ts'
import { awsConfig } from '../helpers/aws.ts'
import type { Journey, Ran } from './bastion-checks.ts'

/**
 * `npm run deploy` (lib/deploy/deploy.ts, run on the bastion) with the Auditor: the Auditor's
 * environment (05-auditor --prepare) is built while 03-eks runs, then 05 itself changes what is
 * left; every role eksctl made carries the permissions boundary 01 made (the bastion's own:
 * bastion-checks.ts); and the same line run again, as an operator reruns it, changes nothing and
 * passes the checklist.
 */
export async function deployWithAuditor(j: Journey, line: string, first: Ran): Promise<void> {
  assert.match(first.out, /deploy: 9 steps done, independent ones side by side/)
  const lines = first.out.split('\n')
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l))
  const [prepare, prepared] = [at(/^05-auditor --prepare │ /), at(/^05-auditor --prepare │ RECAP 05-auditor:/)]
  const [eks, eksDone] = [at(/^03-eks │ /), at(/^03-eks │ RECAP 03-eks:/)]
  assert.ok(prepare >= 0 && prepared > prepare && eks >= 0 && eksDone > eks, 'both steps ran to their recap')
  assert.ok(prepare < eksDone && eks < prepared, `05 --prepare (lines ${prepare}-${prepared}) and 03-eks (${eks}-${eksDone}) overlap`)
  assert.match(first.out, /^05-auditor │ RECAP 05-auditor: ok=\d+ changed=[1-9]/m)

  const iam = new IAMClient(awsConfig(j.sim.env))
  const names = ((await iam.send(new ListRolesCommand({}))).Roles ?? []).map((x) => x.RoleName!).filter((n) => n.startsWith('eksctl-'))
  for (const k of ['cluster-ServiceRole', 'NodeInstanceRole', 'addon-vpc-cni', 'addon-amazon-cloudwatch'])
    assert.ok(
      names.some((n) => n.includes(k)),
      `a ${k} role among ${names.join(', ')}`,
    )
  // moto's account.
  for (const n of names)
    assert.equal(
      (await iam.send(new GetRoleCommand({ RoleName: n }))).Role?.PermissionsBoundary?.PermissionsBoundaryArn,
      boundaryArn('123456789012'),
      n,
    )
  iam.destroy()

  const again = await j.attempt(line)
  assert.equal(again.code, 0, again.out.slice(-3000))
  const recaps = [...again.out.matchAll(/RECAP (\S+): ok=\d+ changed=(\d+)/g)].map((m) => [m[1], Number(m[2])])
  assert.equal(recaps.length, 8, again.out.slice(-3000))
  assert.deepEqual(
    recaps.filter(([, changed]) => changed !== 0),
    [],
  )
  assert.match(again.out, /VERIFY 07-verify: 10 of 10 checks passed/)
}

/**
 * The Auditor's private endpoint answers on the Ledger's bastion (05 ran there and verified both
 * clusters) because the Auditor's control plane admits 443 from the bastion's security group
 * through the peering: that group alone, not the Ledger's VPC or any address range.
 */
export async function auditorPlaneAdmitsTheBastion(j: Journey): Promise<void> {
  const cluster = j.env().CLUSTER_NAME!
  const ec2 = new EC2Client(awsConfig(j.sim.env))
  const group = async (c: string, role: string) =>
    (
      await ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            { Name: 'tag:scalardl-runbook/cluster', Values: [c] },
            { Name: 'tag:scalardl-runbook/role', Values: [role] },
          ],
        }),
      )
    ).SecurityGroups![0]!
  const [plane, bastion] = await Promise.all([group(`${cluster}-auditor`, 'control-plane-sg'), group(cluster, 'bastion-sg')])
  ec2.destroy()
  const https = plane.IpPermissions!.filter((p) => p.FromPort === 443)
  assert.deepEqual(
    https.flatMap((p) => [...(p.UserIdGroupPairs ?? []).map((g) => g.GroupId), ...(p.IpRanges ?? []).map((r) => r.CidrIp)]),
    [bastion.GroupId],
  )
}
