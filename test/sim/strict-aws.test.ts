// The AWS layer refuses what AWS refuses where moto says yes: each test names the source of the
// refusal it proves, and fails without the layer's rule (the same call answered by moto alone).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  AcceptVpcPeeringConnectionCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  CreateVpcPeeringConnectionCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import { anonymousAnswer } from '../../sim/eks-auth.ts'
import { EksAccess, principalKey } from '../../sim/eks-access.ts'
import { eksVersionHooks } from '../../sim/eks-versions.ts'
import { FaultProxy } from '../../sim/faults.ts'
import { prng } from '../../sim/random.ts'
import { startMoto, type Moto } from '../../sim/moto.ts'
import { strictEc2Hooks } from '../../sim/strict-ec2.ts'
import { SimulatedHosts } from '../../sim/ssm-hosts.ts'
import { ClusterUpdates } from '../../sim/eks-updates.ts'
import { ROOT, tempDir } from '../helpers/run-step.ts'
import { TEST_CREDENTIALS } from '../helpers/aws.ts'

let moto: Moto
let proxy: FaultProxy
const region = 'ap-northeast-1'
const client = <T>(C: new (c: object) => T, endpoint: string) => new C({ region, endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1 })

before(async () => {
  moto = await startMoto()
  proxy = new FaultProxy({ target: moto.url, rate: 0, pendingMs: 0, latencyMs: 0 })
  proxy.hooks.push(strictEc2Hooks(moto.url))
  await proxy.listen()
})
after(async () => {
  await proxy.close()
  await moto.stop()
})

const refusal = async (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: Error) => e.name,
  )

describe('the strict AWS layer: EC2', () => {
  test('a rule naming a peer VPC’s group is refused until the peering is active (VPC Peering Guide, vpc-peering-security-groups); moto alone accepts it', async () => {
    const ec2 = client(EC2Client, proxy.url)
    const vpc = async (cidr: string) => (await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc!.VpcId!
    const [a, b] = [await vpc('10.10.0.0/16'), await vpc('10.11.0.0/16')]
    const sg = async (v: string, name: string) =>
      (await ec2.send(new CreateSecurityGroupCommand({ VpcId: v, GroupName: name, Description: name }))).GroupId!
    const [ga, gb] = [await sg(a, 'cp'), await sg(b, 'bastion')]
    const allow = (via: EC2Client) =>
      via.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: ga,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: gb }] }],
        }),
      )
    assert.equal(await refusal(allow(ec2)), 'InvalidGroup.NotFound', 'no peering')
    const pcx = (await ec2.send(new CreateVpcPeeringConnectionCommand({ VpcId: a, PeerVpcId: b }))).VpcPeeringConnection!
    assert.equal(await refusal(allow(ec2)), 'InvalidGroup.NotFound', 'peering pending acceptance')
    const alone = client(EC2Client, moto.url)
    assert.equal(await refusal(allow(alone)), 'accepted', 'moto alone accepts it: the refusal is the layer’s')
    await ec2.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: pcx.VpcPeeringConnectionId! }))
    const other = await sg(b, 'bastion-2')
    assert.equal(
      await refusal(
        ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: ga,
            IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: other }] }],
          }),
        ),
      ),
      'accepted',
      'active peering',
    )
    ec2.destroy()
    alone.destroy()
  })

  test('a ClientToken used again with other parameters: IdempotentParameterMismatch; with the same ones, the first answer (EC2 API, "Ensuring idempotency")', async () => {
    const ec2 = client(EC2Client, proxy.url)
    const run = (image: string) =>
      ec2.send(new RunInstancesCommand({ ImageId: image, MinCount: 1, MaxCount: 1, ClientToken: 'strict-token-1' }))
    const first = (await run('ami-12c6146b')).Instances![0]!.InstanceId
    assert.equal((await run('ami-12c6146b')).Instances![0]!.InstanceId, first)
    assert.equal(await refusal(run('ami-1812c61d')), 'IdempotentParameterMismatch')
    ec2.destroy()
  })

  test("a lost answer (the fault proxy applies a call and drops its answer) still meets the refusals and the answer's rewrites", async (t) => {
    // A seed whose first fault is a lost answer: rate 1, and the kind's draw in [0.6, 0.75).
    const seed = Array.from({ length: 1000 }, (_, i) => i).find((i) => {
      const r = prng(i)
      r()
      const kind = r()
      return kind >= 0.6 && kind < 0.75
    })!
    const lossy = new FaultProxy({ target: moto.url, rate: 1, pendingMs: 0, latencyMs: 0, seed })
    const seen: (string | null)[] = []
    lossy.hooks.push({
      refuse: async (_s, action, params) =>
        action === 'RunInstances' && params.get('ImageId') === 'ami-refused' ? { code: 'UnauthorizedOperation', message: 'no' } : undefined,
      rewrite: (_s, action, params, text) => {
        if (action === 'RunInstances') seen.push(params.get('UserData'))
        return text
      },
    })
    await lossy.listen()
    t.after(() => lossy.close())
    const ec2 = new EC2Client({ region, endpoint: lossy.url, credentials: TEST_CREDENTIALS, maxAttempts: 2 })
    const userData = Buffer.from('#!/bin/bash\necho boot\n').toString('base64')
    // Applied, its answer lost; the retry (same token) gets the first answer, rewritten with the request's parameters.
    const out = await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, ClientToken: 'lost-1', UserData: userData }),
    )
    assert.ok(out.Instances?.[0]?.InstanceId)
    assert.deepEqual(seen, [userData], 'the rewrite saw the request of the lost answer once, with its UserData')
    // A refused call is refused, not applied, even when its answer was to be lost.
    const again = new FaultProxy({ target: moto.url, rate: 1, pendingMs: 0, latencyMs: 0, seed })
    again.hooks.push(lossy.hooks[0]!)
    await again.listen()
    t.after(() => again.close())
    const refusedVia = new EC2Client({ region, endpoint: again.url, credentials: TEST_CREDENTIALS, maxAttempts: 1 })
    const before = (await client(EC2Client, moto.url).send(new DescribeInstancesCommand({}))).Reservations?.length ?? 0
    assert.equal(
      await refusal(refusedVia.send(new RunInstancesCommand({ ImageId: 'ami-refused', MinCount: 1, MaxCount: 1, ClientToken: 'lost-2' }))),
      'UnauthorizedOperation',
    )
    assert.equal((await client(EC2Client, moto.url).send(new DescribeInstancesCommand({}))).Reservations?.length ?? 0, before)
    ec2.destroy()
    refusedVia.destroy()
  })
})

describe('the strict AWS layer: EKS', () => {
  const ACCOUNT = '123456789012'
  const SSO = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef`
  const post = (access: EksAccess, path: string, body: object) =>
    access.hooks().serve!('eks', 'POST', path, JSON.stringify(body), 'auth', region) as Promise<any>
  const makeAccess = async (caller: string, settleMs = 0) => {
    const iam = client(IAMClient, moto.url)
    await iam
      .send(
        new CreateRoleCommand({
          RoleName: 'AWSReservedSSO_Admin_0123456789abcdef',
          Path: '/aws-reserved/sso.amazonaws.com/',
          AssumeRolePolicyDocument: '{}',
        }),
      )
      .catch(() => undefined)
    await iam.send(new CreateRoleCommand({ RoleName: 'ops', AssumeRolePolicyDocument: '{}' })).catch(() => undefined)
    const iamArnOf = async (arn: string) => {
      const name = principalKey(arn).split(':')[2]
      return name === 'AWSReservedSSO_Admin_0123456789abcdef' ? SSO : name === 'ops' ? `arn:aws:iam::${ACCOUNT}:role/ops` : undefined
    }
    iam.destroy()
    const access = new EksAccess(
      async () => caller,
      iamArnOf,
      () => settleMs,
    )
    await post(access, '/clusters', { name: 'c1', accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' } })
    access.hooks().rewrite!('eks', 'POST /clusters', new URLSearchParams(), JSON.stringify({ cluster: { name: 'c1' } }))
    return access
  }

  test('the creator signed in through IAM Identity Center gets its entry under the role’s ARN with its path; its session is that role (EKS user guide, creating-access-entries)', async () => {
    const access = await makeAccess(`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice`)
    const list = (await access.hooks().serve!('eks', 'GET', '/clusters/c1/access-entries', '', 'auth', region)) as any
    assert.deepEqual(list.body.accessEntries, [SSO])
    assert.ok(access.hasEntry('c1', `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/bob`))
    // The same role named again, path or not: already in use.
    assert.equal((await post(access, '/clusters/c1/access-entries', { principalArn: SSO })).errorType, 'ResourceInUseException')
  })

  test('CreateAccessEntry refuses a session ARN, a role named without its path and a principal IAM does not have (botocore eks model; terraform-aws-eks#2969)', async () => {
    const access = await makeAccess(`arn:aws:iam::${ACCOUNT}:role/ops`)
    const create = async (principalArn: string) => await post(access, '/clusters/c1/access-entries', { principalArn })
    const sessionArn = await create(`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice`)
    assert.equal(sessionArn.errorType, 'InvalidParameterException')
    assert.match(sessionArn.body.message, /principalArn parameter format is not valid/)
    const pathless = await create(`arn:aws:iam::${ACCOUNT}:role/AWSReservedSSO_Admin_0123456789abcdef`)
    assert.equal(pathless.errorType, 'InvalidParameterException')
    assert.match(pathless.body.message, /invalid principal/)
    assert.equal((await create(`arn:aws:iam::${ACCOUNT}:role/nobody`)).errorType, 'InvalidParameterException')
    assert.equal((await create(SSO)).status, 200)
  })

  test('a new entry takes effect after a delay ("eventually consistent ... several seconds": EKS user guide)', async () => {
    const access = await makeAccess(`arn:aws:iam::${ACCOUNT}:role/ops`, 300)
    assert.equal((await post(access, '/clusters/c1/access-entries', { principalArn: SSO })).status, 200)
    assert.equal(access.hasEntry('c1', SSO), false, 'not yet')
    assert.ok(access.hasEntry('c1', `arn:aws:iam::${ACCOUNT}:role/ops`), 'the creator’s entry came with the cluster')
    await new Promise((r) => setTimeout(r, 350))
    assert.equal(access.hasEntry('c1', SSO), true)
  })

  test('anonymous requests: from 1.32 only /healthz, /livez and /readyz, 401 elsewhere (EKS kubernetes-versions-standard, "Anonymous authentication changes"; KEP-4633)', () => {
    assert.equal(anonymousAnswer(32, 'GET', '/version'), 401)
    assert.equal(anonymousAnswer(35, 'GET', '/api/v1/namespaces'), 401)
    assert.equal(anonymousAnswer(32, 'GET', '/livez'), 'allow')
    assert.equal(anonymousAnswer(31, 'GET', '/version'), 'allow', 'system:public-info-viewer before 1.32')
    assert.equal(anonymousAnswer(31, 'GET', '/api/v1/namespaces'), 403)
  })

  test('UpdateClusterConfig: the cluster UPDATING until the update ends, a second update refused meanwhile, the update read with DescribeUpdate (EKS API model; aws-cdk#33452)', async () => {
    const updates = new ClusterUpdates(() => 300)
    const h = updates.hooks()
    const update = (body: object) =>
      h.refuse!('eks', 'POST /clusters/c1/update-config', new URLSearchParams(), region, 'auth', {
        body: JSON.stringify(body),
        url: '/clusters/c1/update-config',
        method: 'POST',
      })
    assert.equal(await update({ logging: { clusterLogging: [{ types: ['api'], enabled: true }] } }), undefined)
    // moto answers the cluster; the layer answers the update, as EKS does.
    const answer = JSON.parse(
      h.rewrite!('eks', 'POST /clusters/c1/update-config', new URLSearchParams(), JSON.stringify({ cluster: { name: 'c1' } })),
    )
    assert.equal(answer.update.status, 'InProgress')
    assert.equal(answer.update.type, 'LoggingUpdate')
    const described = h.rewrite!(
      'eks',
      'GET /clusters/c1',
      new URLSearchParams(),
      JSON.stringify({ cluster: { name: 'c1', status: 'ACTIVE' } }),
    )
    assert.equal(JSON.parse(described).cluster.status, 'UPDATING')
    const second = await update({ accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' } })
    assert.equal(second?.code, 'ResourceInUseException')
    assert.equal(second?.message, `Cannot AccessConfigUpdate because cluster c1 currently has update ${answer.update.id} in progress`)
    await new Promise((r) => setTimeout(r, 350))
    const read = (await h.serve!('eks', 'GET', `/clusters/c1/updates/${answer.update.id}`, '', 'auth', region)) as any
    assert.equal(read.body.update.status, 'Successful')
    assert.equal(
      JSON.parse(h.rewrite!('eks', 'GET /clusters/c1', new URLSearchParams(), JSON.stringify({ cluster: { status: 'ACTIVE' } }))).cluster
        .status,
      'ACTIVE',
    )
    assert.equal(await update({ accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' } }), undefined, 'then the next one may begin')
  })

  test('DescribeClusterVersions pages with maxResults and nextToken (botocore eks model and paginators-1.json)', async () => {
    const hooks = eksVersionHooks(() => ({}))
    const versions: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const q = new URLSearchParams({ includeAll: 'true', maxResults: '2', ...(token ? { nextToken: token } : {}) })
      const body = ((await hooks.serve!('eks', 'GET', `/cluster-versions?${q}`, '', '', region)) as any).body
      versions.push(...body.clusterVersions.map((v: any) => v.clusterVersion))
      token = body.nextToken
      pages++
    } while (token)
    const all = ((await hooks.serve!('eks', 'GET', '/cluster-versions?includeAll=true', '', '', region)) as any).body.clusterVersions
    assert.deepEqual(
      versions,
      all.map((v: any) => v.clusterVersion),
    )
    assert.ok(pages > 2)
    assert.equal(
      ((await hooks.serve!('eks', 'GET', '/cluster-versions?maxResults=0', '', '', region)) as any).errorType,
      'InvalidParameterException',
    )
  })
})

describe('SSM Run Command as the agent runs it (aws/amazon-ssm-agent 3.3.1142.0)', () => {
  const auth = 'AWS4-HMAC-SHA256 Credential=testing/20261207/ap-northeast-1/ssm/aws4_request, SignedHeaders=host, Signature=0'
  const hosts = () =>
    new SimulatedHosts({
      stateDir: tempDir('rb-ssm-'),
      motoUrl: moto.url,
      layerUrl: () => moto.url,
      imdsUrl: async () => 'http://127.0.0.1:9',
      region,
      path: process.env.PATH ?? '/usr/bin:/bin',
      root: ROOT,
      isHost: async () => true,
      callerDuring: (_id, run) => run(),
    })
  const send = async (h: SimulatedHosts, commands: string[], timeout?: number) =>
    (
      (await h.hooks().serve!(
        'ssm',
        'POST',
        'SendCommand',
        JSON.stringify({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ['i-0123456789abcdef0'],
          Parameters: { commands, ...(timeout ? { executionTimeout: [String(timeout)] } : {}) },
        }),
        auth,
        region,
      )) as any
    ).body.Command.CommandId as string
  const invocation = async (h: SimulatedHosts, id: string) =>
    (
      (await h.hooks().serve!(
        'ssm',
        'POST',
        'GetCommandInvocation',
        JSON.stringify({ CommandId: id, InstanceId: 'i-0123456789abcdef0' }),
        auth,
        region,
      )) as any
    ).body
  const until = async (h: SimulatedHosts, id: string, done: (s: string) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const inv = await invocation(h, id)
      if (done(inv.Status)) return inv
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`command ${id} never ended`)
  }

  test('sh -c (bash in POSIX mode on Amazon Linux); five commands at once per instance, the sixth waits (runshellscript.go:32-34; constants.go:31)', async () => {
    const h = hosts()
    const gate = tempDir('rb-ssm-gate-')
    const ids: string[] = []
    for (let i = 0; i < 6; i++)
      ids.push(await send(h, [`while [ ! -e ${gate}/go ]; do sleep 0.05; done`, 'case :$SHELLOPTS: in *:posix:*) echo posix;; esac']))
    await new Promise((r) => setTimeout(r, 500))
    const states = await Promise.all(ids.map(async (id) => (await invocation(h, id)).Status))
    assert.deepEqual(states, ['InProgress', 'InProgress', 'InProgress', 'InProgress', 'InProgress', 'Pending'])
    fs.writeFileSync(path.join(gate, 'go'), '')
    for (const id of ids) {
      const inv = await until(h, id, (s) => s === 'Success' || s === 'Failed')
      assert.equal(inv.Status, 'Success')
      assert.equal(inv.StandardOutputContent, 'posix\n')
    }
  })

  test('a command still running at its executionTimeout is killed and ends TimedOut (executers.go:325-335; pluginutil_unix.go:40-47)', async () => {
    const h = hosts()
    const id = await send(h, ['echo started', 'sleep 30', 'echo never'], 5)
    const inv = await until(h, id, (s) => !['Pending', 'InProgress'].includes(s))
    assert.equal(inv.Status, 'TimedOut')
    assert.equal(inv.ResponseCode, 137)
    assert.equal(inv.StandardOutputContent, 'started\n')
  })
})
