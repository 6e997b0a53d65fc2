// Who may use the cluster: 03-eks gives cluster-admin access entries to the bastion's role and
// CLUSTER_ADMIN_ARNS (besides the creator, whose entry EKS makes), keeps them converged, reports
// entries it did not make and leaves them; a principal without an entry is stopped before 04
// changes anything, with the fix. The access-entry API is the simulator's, in front of moto, and
// answers the AWS SDK and the AWS CLI alike.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  AssociateAccessPolicyCommand,
  CreateAccessEntryCommand,
  DescribeClusterCommand,
  DisassociateAccessPolicyCommand,
  EKSClient,
  ListAccessEntriesCommand,
  ListAssociatedAccessPoliciesCommand,
} from '@aws-sdk/client-eks'
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam'
import { operatorPolicy } from '../../lib/iam/operator-policy.ts'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import YAML from 'yaml'
import { runStep, tempDir } from '../helpers/run-step.ts'
import { eventually, startSim, stopSim, type Sim } from '../helpers/sim.ts'
import { awsConfig } from '../helpers/aws.ts'

const CLUSTER = 'acc'
const ADMIN = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'
let sim: Sim
let env: NodeJS.ProcessEnv
let eks: EKSClient
let account: string
let withTeammate: NodeJS.ProcessEnv

/** The real kubectl with the kubeconfig eksctl wrote, its exec plugin (`aws eks get-token`) run as `who`. */
const kubectlAs = (who: NodeJS.ProcessEnv, args: string[]) =>
  spawnSync('kubectl', ['--kubeconfig', path.join(env.RUNBOOK_STATE_DIR!, CLUSTER, 'kubeconfig'), ...args], {
    env: { ...who, AWS_DEFAULT_REGION: 'ap-northeast-1' },
    encoding: 'utf8',
  })

const entries = async () => (await eks.send(new ListAccessEntriesCommand({ clusterName: CLUSTER }))).accessEntries!.sort()
const as = (creds: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string }) => ({
  ...env,
  AWS_ACCESS_KEY_ID: creds.AccessKeyId,
  AWS_SECRET_ACCESS_KEY: creds.SecretAccessKey,
  ...(creds.SessionToken ? { AWS_SESSION_TOKEN: creds.SessionToken } : {}),
})

/**
 * What each principal holds in IAM, as an operator's account gives it (IAM is enforced by the
 * simulator): the runbook's operator policy (`npm run iam-policy`), as a managed policy.
 */
async function grantOperatorPolicy(to: { user?: string; role?: string }): Promise<void> {
  const iam = new IAMClient(awsConfig(sim.env, 'ap-northeast-1'))
  const name = `operator-${to.user ?? to.role}`
  const doc = JSON.stringify(operatorPolicy({ account, clusters: [CLUSTER, 'acc-sso'], tablePrefix: '' }))
  const arn = (await iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: doc }))).Policy!.Arn!
  if (to.user) await iam.send(new AttachUserPolicyCommand({ UserName: to.user, PolicyArn: arn }))
  if (to.role) await iam.send(new AttachRolePolicyCommand({ RoleName: to.role, PolicyArn: arn }))
  iam.destroy()
}

before(async () => {
  sim = startSim(['--pod-start-ms', '30', '--job-duration-ms', '50', '--lb-delay-ms', '50', '--cloudwatch-interval-ms', '0'])
  const state = tempDir('rb-acc-')
  env = {
    ...sim.env,
    NODE_NO_WARNINGS: '1',
    CI: 'true',
    CLUSTER_NAME: CLUSTER,
    RUNBOOK_STATE_DIR: state,
    GITHUB_USERNAME: 'octo',
    GITHUB_TOKEN: ['ghp', 'accessTestToken00000000000000000000'].join('_'),
    SCALARDL_DB_USERNAME: 'AKIAACCESS0000000000',
    SCALARDL_DB_PASSWORD: 'access-secret',
    LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
  }
  eks = new EKSClient(awsConfig(sim.env, 'ap-northeast-1'))
  for (const s of ['01-vpc', '03-eks']) {
    const r = await runStep(`runbooks/${s}.ts`, [], env)
    assert.equal(r.code, 0, `${s}: ${r.stderr}`)
  }
  account = '123456789012'
})
after(() => {
  stopSim(sim)
  eks.destroy()
})

describe('cluster access (EKS access entries)', () => {
  test('an operator signed in through IAM Identity Center (a role with a path), in CLUSTER_ADMIN_ARNS by its full ARN, runs 03 to 06', async () => {
    // EKS keeps the role's path in the creator's entry and refuses a second entry for it
    // (ResourceInUseException), or one for the path-less ARN (invalid principal).
    const iam = new IAMClient(awsConfig(sim.env, 'ap-northeast-1'))
    const role = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: 'AWSReservedSSO_Admin_0123456789abcdef',
          Path: '/aws-reserved/sso.amazonaws.com/',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Federated: `arn:aws:iam::${account}:saml-provider/AWSSSO` },
                Action: 'sts:AssumeRoleWithSAML',
              },
            ],
          }),
        }),
      )
    ).Role!
    iam.destroy()
    await grantOperatorPolicy({ role: role.RoleName! })
    const sts = new STSClient(awsConfig(sim.env, 'ap-northeast-1'))
    const creds = (await sts.send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: 'alice@example.com' }))).Credentials!
    sts.destroy()
    const state = tempDir('rb-acc-sso-')
    const sso = {
      ...as(creds),
      CLUSTER_NAME: 'acc-sso',
      VPC_CIDR: '10.81.0.0/16',
      // Its own tables: the default prefix's are the other deployment's of this test (04 refuses to share them).
      DYNAMODB_NAMESPACE_PREFIX: 'acc_sso_',
      BASTION_ENABLED: 'false',
      RUNBOOK_STATE_DIR: state,
      LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
      CLUSTER_ADMIN_ARNS: role.Arn!,
    }
    for (const [step, args] of [
      ['01-vpc', []],
      ['03-eks', []],
      ['04-scalardl', ['--generate-ledger-key']],
      ['06-monitoring', []],
    ] as const) {
      const r = await runStep(`runbooks/${step}.ts`, [...args], sso)
      assert.equal(r.code, 0, `${step}: ${r.stderr}`)
    }
    const list = (await eks.send(new ListAccessEntriesCommand({ clusterName: 'acc-sso' }))).accessEntries!
    assert.deepEqual(list, [role.Arn], 'one entry, under the role ARN with its path')
    const again = await runStep('runbooks/03-eks.ts', ['--json'], sso)
    assert.equal(again.json?.status, 'ok', again.stderr)
  })

  test("03 makes the cluster with the API authentication mode, the creator's entry and the bastion role's, each cluster-admin", async () => {
    const c = (await eks.send(new DescribeClusterCommand({ name: CLUSTER }))).cluster!
    assert.deepEqual(c.accessConfig, { bootstrapClusterCreatorAdminPermissions: true, authenticationMode: 'API_AND_CONFIG_MAP' })
    const bastion = `arn:aws:iam::${account}:role/${CLUSTER}-bastion`
    // The creator is whoever ran 03: here moto's default identity for the simulator's key.
    const creator = (
      await new STSClient({
        region: 'ap-northeast-1',
        endpoint: sim.env.AWS_ENDPOINT_URL,
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
      }).send(new GetCallerIdentityCommand({}))
    ).Arn!
    assert.deepEqual(await entries(), [bastion, creator].sort())
    for (const principalArn of await entries()) {
      const p = (await eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName: CLUSTER, principalArn }))).associatedAccessPolicies!
      assert.deepEqual(
        p.map((x) => [x.policyArn, x.accessScope?.type]),
        [[ADMIN, 'cluster']],
      )
    }
    // The AWS CLI sees the same entries (the simulator serves the API moto lacks).
    const cli = spawnSync('aws', ['eks', 'list-access-entries', '--cluster-name', CLUSTER, '--output', 'json'], {
      env: { ...sim.env, AWS_DEFAULT_REGION: 'ap-northeast-1' },
      encoding: 'utf8',
    })
    assert.equal(cli.status, 0, cli.stderr)
    assert.deepEqual(JSON.parse(cli.stdout).accessEntries.sort(), await entries())
  })

  test('the bastion role (the laptop, then the bastion) passes the access check of 04', async () => {
    await grantOperatorPolicy({ role: `${CLUSTER}-bastion` })
    const sts = new STSClient(awsConfig(sim.env, 'ap-northeast-1'))
    const creds = (
      await sts.send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/${CLUSTER}-bastion`, RoleSessionName: 'i-0123456789abcdef0' }),
      )
    ).Credentials!
    sts.destroy()
    const r = await runStep('runbooks/04-scalardl.ts', ['--dry-run', '--json', '--generate-ledger-key'], as(creds))
    assert.equal(r.code, 0, r.stderr)
    // On the bastion, the kubeconfig's `aws eks get-token` makes the role's token: the API server admits it.
    const nodes = kubectlAs(as(creds), ['get', 'nodes', '-o', 'name'])
    assert.equal(nodes.status, 0, nodes.stderr)
    assert.match(nodes.stdout, /^node\/ip-/m)
    // Holding the operator policy, the bastion's role cannot make itself more: no policy put on or
    // attached to itself (RunbookBastionNoSelfEdit, IAM enforced by the simulator).
    const self = new IAMClient({
      ...awsConfig(sim.env, 'ap-northeast-1'),
      credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken },
    })
    const escalate = await self
      .send(
        new PutRolePolicyCommand({
          RoleName: `${CLUSTER}-bastion`,
          PolicyName: 'admin',
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
        }),
      )
      .catch((e: Error) => e)
    assert.equal((escalate as Error).name, 'AccessDenied')
    assert.match(
      (escalate as Error).message,
      /iam:PutRolePolicy on resource: arn:aws:iam::123456789012:role\/acc-bastion with an explicit deny/,
    )
    const attach = await self
      .send(new AttachRolePolicyCommand({ RoleName: `${CLUSTER}-bastion`, PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }))
      .catch((e: Error) => e)
    assert.equal((attach as Error).name, 'AccessDenied')
    self.destroy()
  })

  test('the API server authenticates as EKS does: HTTPS with the cluster CA, the token of `aws eks get-token`, anonymous only for the health checks', async () => {
    const kc = YAML.parse(fs.readFileSync(path.join(env.RUNBOOK_STATE_DIR!, CLUSTER, 'kubeconfig'), 'utf8'))
    const cluster = kc.clusters[0].cluster
    assert.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(cluster['certificate-authority-data'], 'eksctl writes the CA from DescribeCluster')
    assert.deepEqual(kc.users[0].user.exec.args, [
      'eks',
      'get-token',
      '--output',
      'json',
      '--cluster-name',
      CLUSTER,
      '--region',
      'ap-northeast-1',
    ])
    // eksctl v0.228.0 pkg/utils/kubeconfig/kubeconfig.go:171-180.
    assert.deepEqual(kc.users[0].user.exec.env, [{ name: 'AWS_STS_REGIONAL_ENDPOINTS', value: 'regional' }])
    // DescribeCluster names the same endpoint and CA.
    const c = (await eks.send(new DescribeClusterCommand({ name: CLUSTER }))).cluster!
    assert.equal(c.endpoint, cluster.server)
    assert.equal(c.certificateAuthority?.data, cluster['certificate-authority-data'])
    const ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString()
    const get = (p: string, token?: string) =>
      new Promise<{ status: number; body: any }>((resolve, reject) =>
        https
          .get(`${cluster.server}${p}`, { ca, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
            let text = ''
            res.on('data', (d) => (text += d))
            res.on('end', () => resolve({ status: res.statusCode!, body: /^\s*[[{]/.test(text) ? JSON.parse(text) : text }))
          })
          .on('error', reject),
      )
    // EKS 1.32 and later: anonymous requests reach only the health checks, 401 elsewhere
    // (EKS user guide, kubernetes-versions-standard, "Anonymous authentication changes").
    assert.equal((await get('/livez')).status, 200)
    assert.equal((await get('/version')).status, 401)
    const anonymous = await get('/api/v1/nodes')
    assert.deepEqual([anonymous.status, anonymous.body.message], [401, 'Unauthorized'])
    const forged = await get('/api/v1/nodes', 'k8s-aws-v1.bm90LWEtdXJs')
    assert.deepEqual([forged.status, forged.body.message], [401, 'Unauthorized'])
    const tokenOut = spawnSync('aws', ['eks', 'get-token', '--output', 'json', '--cluster-name', CLUSTER, '--region', 'ap-northeast-1'], {
      env: env,
      encoding: 'utf8',
    })
    assert.equal(tokenOut.status, 0, tokenOut.stderr)
    const ok = await get('/api/v1/nodes', JSON.parse(tokenOut.stdout).status.token)
    assert.equal(ok.status, 200)
    assert.ok(ok.body.items.length > 0)
    // `aws eks update-kubeconfig` writes a kubeconfig from DescribeCluster that the real kubectl uses as it is.
    const file = path.join(env.RUNBOOK_STATE_DIR!, 'aws-cli-kubeconfig')
    const upd = spawnSync('aws', ['eks', 'update-kubeconfig', '--name', CLUSTER, '--region', 'ap-northeast-1', '--kubeconfig', file], {
      env,
      encoding: 'utf8',
    })
    assert.equal(upd.status, 0, upd.stderr)
    const viaCli = spawnSync('kubectl', ['--kubeconfig', file, 'get', 'nodes', '-o', 'name'], { env, encoding: 'utf8' })
    assert.equal(viaCli.status, 0, viaCli.stderr)
    assert.match(viaCli.stdout, /^node\//m)
  })

  test('a teammate without an entry: 04 stops before any change, naming the principal and the fix; CLUSTER_ADMIN_ARNS and a rerun of 03 let them in', async () => {
    const iam = new IAMClient(awsConfig(sim.env, 'ap-northeast-1'))
    await iam.send(new CreateUserCommand({ UserName: 'teammate' }))
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'teammate' }))).AccessKey!
    iam.destroy()
    await grantOperatorPolicy({ user: 'teammate' })
    const teammate = `arn:aws:iam::${account}:user/teammate`
    // The real kubectl, as the teammate, through the kubeconfig's exec plugin: EKS cannot map them, 401.
    const denied = kubectlAs(as(key), ['get', 'nodes'])
    assert.equal(denied.status, 1)
    assert.match(denied.stderr, /error: You must be logged in to the server \(Unauthorized\)/)
    const refused = await runStep('runbooks/04-scalardl.ts', ['--json', '--generate-ledger-key'], as(key))
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr, new RegExp(`your AWS principal ${teammate} has no access entry on the EKS cluster ${CLUSTER}`))
    assert.match(refused.stderr, new RegExp(`add ${teammate} to CLUSTER_ADMIN_ARNS and rerun 03-eks`))
    assert.match(refused.stderr, /aws eks create-access-entry --cluster-name acc --principal-arn arn:aws:iam::123456789012:user\/teammate/)
    assert.ok(
      !(await runStep('runbooks/00-preflight.ts', ['--json'], as(key))).json.tasks.find(
        (t: any) => /Access to the EKS cluster/.test(t.title) && t.status === 'ok',
      ),
      '00-preflight says so too',
    )

    withTeammate = { ...env, CLUSTER_ADMIN_ARNS: teammate }
    const r = await runStep('runbooks/03-eks.ts', ['--json'], withTeammate)
    assert.equal(r.code, 0, r.stderr)
    const task = r.json.tasks.find((t: any) => /Cluster access/.test(t.title))
    assert.equal(task.status, 'changed')
    assert.match(task.detail, new RegExp(`added ${teammate}`))
    assert.ok((await entries()).includes(teammate))
    const again = await runStep('runbooks/03-eks.ts', ['--json'], withTeammate)
    assert.equal(again.json.status, 'ok', 'a rerun changes nothing')
    const ok = await runStep('runbooks/04-scalardl.ts', ['--dry-run', '--json', '--generate-ledger-key'], {
      ...as(key),
      CLUSTER_ADMIN_ARNS: teammate,
    })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(kubectlAs(as(key), ['get', 'nodes']).status, 0, 'and kubectl lets them in')
  })

  test('an entry the runbook did not make is reported and left alone; one that lost its policy gets it back', async () => {
    const other = `arn:aws:iam::${account}:role/someone-else`
    // EKS makes entries only for principals IAM has.
    const roles = new IAMClient(awsConfig(sim.env, 'ap-northeast-1'))
    await roles.send(new CreateRoleCommand({ RoleName: 'someone-else', AssumeRolePolicyDocument: '{}' }))
    roles.destroy()
    await eks.send(new CreateAccessEntryCommand({ clusterName: CLUSTER, principalArn: other }))
    await eks.send(
      new AssociateAccessPolicyCommand({
        clusterName: CLUSTER,
        principalArn: other,
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
        accessScope: { type: 'cluster' },
      }),
    )
    const r = await runStep('runbooks/03-eks.ts', ['--json'], withTeammate)
    assert.equal(r.json.status, 'ok', r.stderr)
    assert.match(
      r.json.tasks.find((t: any) => /Cluster access/.test(t.title)).detail,
      new RegExp(`also has access, left alone: .*${other}`),
    )
    assert.ok((await entries()).includes(other))
    // A view-only principal reads the cluster but not its Secrets, and changes nothing: 403 in RBAC's words.
    const iam = new IAMClient(awsConfig(sim.env, 'ap-northeast-1'))
    await iam.send(new CreateUserCommand({ UserName: 'viewer' }))
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'viewer' }))).AccessKey!
    iam.destroy()
    const viewer = `arn:aws:iam::${account}:user/viewer`
    await eks.send(new CreateAccessEntryCommand({ clusterName: CLUSTER, principalArn: viewer }))
    await eks.send(
      new AssociateAccessPolicyCommand({
        clusterName: CLUSTER,
        principalArn: viewer,
        policyArn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy',
        accessScope: { type: 'cluster' },
      }),
    )
    // The entry takes effect after a few seconds (EKS: eventually consistent).
    await eventually(async () => kubectlAs(as(key), ['get', 'pods', '-A']).status === 0, "the viewer's entry to take effect")
    const secrets = kubectlAs(as(key), ['get', 'secrets', '-n', 'default'])
    assert.match(
      secrets.stderr,
      new RegExp(`secrets is forbidden: User "${viewer}" cannot list resource "secrets" in API group "" in the namespace "default"`),
    )
    const write = kubectlAs(as(key), ['create', 'namespace', 'nope'])
    assert.match(write.stderr, /namespaces is forbidden: .* cannot create resource "namespaces"/)
    // Someone took the teammate's policy away: the rerun gives it back and says so.
    const teammate = withTeammate.CLUSTER_ADMIN_ARNS!
    await eks.send(new DisassociateAccessPolicyCommand({ clusterName: CLUSTER, principalArn: teammate, policyArn: ADMIN }))
    const fixed = await runStep('runbooks/03-eks.ts', ['--json'], withTeammate)
    const task = fixed.json.tasks.find((t: any) => /Cluster access/.test(t.title))
    assert.equal(task.status, 'changed')
    assert.match(task.detail, new RegExp(`cluster-admin for ${teammate}`))
    assert.deepEqual(
      (
        await eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName: CLUSTER, principalArn: teammate }))
      ).associatedAccessPolicies!.map((p) => p.policyArn),
      [ADMIN],
    )
  })
})
