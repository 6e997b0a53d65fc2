// What the README's operator path (test/e2e/operator-path.test.ts) shows of working through the
// bastion, checked on the deployment that path makes (one deployment for all of them): push
// refuses while the secrets are not in Parameter Store; what it ships refers to Parameter Store and
// what went through AWS holds no secret; `run` follows the step's log and keeps it there; a step
// that fails there fails here; the bastion's role runs the steps, with the operator policy and the
// permissions boundary, and IAM holds it to them.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { EKSClient, ListAccessEntriesCommand } from '@aws-sdk/client-eks'
import {
  AttachRolePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam'
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { GetParameterCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { boundaryArn } from '../../lib/iam/boundary.ts'
import { awsConfig } from '../helpers/aws.ts'
import type { Sim } from '../helpers/sim.ts'

/** moto's account. */
const ACCOUNT = '123456789012'
const BUCKET = `scalardl-runbook-staging-${ACCOUNT}-ap-northeast-1`

/** A line's outcome: its exit code, stdout, and stdout and stderr as they came. */
export interface Ran {
  code: number | null
  stdout: string
  out: string
}

/** The journey these checks look at: the clone, the simulator, .env's values, and how a command runs there. */
export interface Journey {
  dir: string
  sim: Sim
  env: () => Record<string, string>
  attempt: (line: string) => Promise<Ran>
}

/** `npm run bastion -- push` before `npm run secrets -- store`: exit 2, naming the secret it will not send. */
export async function pushRefusedBeforeSecrets(j: Journey, push: string): Promise<void> {
  const cluster = j.env().CLUSTER_NAME!
  const r = await j.attempt(push)
  assert.equal(r.code, 2, r.out)
  assert.match(
    r.out,
    new RegExp(`GITHUB_TOKEN: has a value here but no parameter /scalardl-runbook/${cluster}/github-token: push never sends a secret`),
  )
}

/** The folder that stands for the bastion's /root/scalardl-eks-runbook (sim/ssm-hosts.ts). */
async function remote(j: Journey): Promise<{ dir: string; instanceId: string }> {
  const ec2 = new EC2Client(awsConfig(j.sim.env))
  const r = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:scalardl-runbook/cluster', Values: [j.env().CLUSTER_NAME!] },
        { Name: 'tag:scalardl-runbook/role', Values: ['bastion'] },
        { Name: 'instance-state-name', Values: ['running'] },
      ],
    }),
  )
  ec2.destroy()
  const ids = (r.Reservations ?? []).flatMap((x) => x.Instances ?? []).map((i) => i.InstanceId!)
  assert.equal(ids.length, 1, `one bastion running: ${ids.join(', ')}`)
  return { dir: path.join(j.sim.dir, 'hosts', ids[0]!, 'root', 'scalardl-eks-runbook'), instanceId: ids[0]! }
}

/**
 * After push: the bastion's .env refers to Parameter Store and is private; the runbook is there;
 * the staging bucket is encrypted and its objects expire. Returns what was shipped, for the scan.
 */
export async function afterPush(j: Journey): Promise<{ pushedEnv: string; staged: Buffer }> {
  const cluster = j.env().CLUSTER_NAME!
  const { dir } = await remote(j)
  const pushedEnv = fs.readFileSync(path.join(dir, '.env'), 'utf8')
  assert.match(pushedEnv, new RegExp(`^GITHUB_TOKEN=ssm:/scalardl-runbook/${cluster}/github-token$`, 'm'))
  assert.match(pushedEnv, new RegExp(`^LEDGER_PRIVATE_KEY_FILE=ssm:/scalardl-runbook/${cluster}/ledger-private-key$`, 'm'))
  assert.equal(fs.statSync(path.join(dir, '.env')).mode & 0o777, 0o600)
  assert.ok(fs.existsSync(path.join(dir, 'runbooks', '04-scalardl.ts')) && fs.existsSync(path.join(dir, 'config')))

  const s3 = new S3Client({ ...awsConfig(j.sim.env), forcePathStyle: true })
  const encryption = (await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }))).ServerSideEncryptionConfiguration
  assert.equal(encryption?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256')
  assert.equal((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }))).Rules?.[0]?.Expiration?.Days, 1)
  const [object] = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []
  const body = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object!.Key! }))).Body!.transformToByteArray()
  s3.destroy()
  return { pushedEnv, staged: gunzipSync(Buffer.from(body)) }
}

/**
 * After `run deploy`: SSM returns a command's output only at its end, and only the first 24,000
 * characters of stdout, so run read the step's log on the bastion while it ran (more than one
 * read), printed the whole of it once, and says where it is kept (mode 600). The bastion's role
 * made the cluster: it has the cluster's access entry.
 */
export async function afterDeploy(j: Journey, deploy: Ran): Promise<void> {
  const cluster = j.env().CLUSTER_NAME!
  const { dir } = await remote(j)
  assert.match(deploy.out, /its lines as they come \(read from its log there every few seconds\); SSM stops it after \d+ s/)
  // One log per run, named for what it ran (the README runs 07-verify there next).
  const logs = fs.readdirSync(path.join(dir, '.runbook', 'remote')).filter((f) => /-deploy-\w+\.log$/.test(f))
  assert.equal(logs.length, 1, logs.join(', '))
  const log = path.join(dir, '.runbook', 'remote', logs[0]!)
  const whole = fs.readFileSync(log, 'utf8')
  assert.match(whole, /▶ 00-preflight/, 'the log has the beginning')
  assert.equal(deploy.stdout.split(whole).length, 2, 'the whole log came back, once')
  const kept = /\[the whole output is also in ~\/scalardl-eks-runbook\/(\S+) on the bastion\]/.exec(deploy.out)
  assert.equal(kept && fs.realpathSync(path.join(dir, kept[1]!)), fs.realpathSync(log))
  assert.equal(fs.statSync(log).mode & 0o777, 0o600)
  const ssm = new SSMClient(awsConfig(j.sim.env))
  const reads = ((await ssm.send(new ListCommandsCommand({}))).Commands ?? []).filter((c) => c.Comment === 'scalardl-runbook read: follow')
  ssm.destroy()
  assert.ok(reads.length > 1, `${reads.length} reads of the log`)
  const eks = new EKSClient(awsConfig(j.sim.env))
  const entries = (await eks.send(new ListAccessEntriesCommand({ clusterName: cluster }))).accessEntries ?? []
  eks.destroy()
  assert.ok(entries.includes(`arn:aws:iam::${ACCOUNT}:role/${cluster}-bastion`), `the bastion role made the cluster: ${entries.join(', ')}`)
}

/** A step that fails on the bastion fails here with its exit code; with --json, the JSON alone on stdout (after npm's banner). */
export async function failureComesBack(j: Journey): Promise<void> {
  const bad = await j.attempt('npm run bastion -- run 04-scalardl --no-such-flag --json')
  assert.equal(bad.code, 2, bad.out)
  const json = bad.stdout
    .split('\n')
    .filter((l) => !l.startsWith('> '))
    .join('\n')
  assert.equal(JSON.parse(json).status, 'failed', bad.stdout)
  assert.match(bad.out, /unknown argument: --no-such-flag/)
}

/**
 * IAM holds the bastion's role to what the runbook gave it (sim/iam-enforce.ts). Without the
 * operator policy, push and run say so before they send anything (SimulatePrincipalPolicy), naming
 * the key and the fix. A shell there holds the role's session, with the permissions boundary
 * (lib/iam/boundary.ts), and cannot become more: not its own policy, not a role without the
 * boundary, not a new boundary, not another application's parameter; a role it makes with the
 * boundary is no more than the boundary, whatever is attached.
 */
export async function bastionRoleHeld(j: Journey): Promise<void> {
  const role = `${j.env().CLUSTER_NAME!}-bastion`
  const admin = awsConfig(j.sim.env)
  const iam = new IAMClient(admin)
  const ssm = new SSMClient(admin)
  const policy = (await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: 'scalardl-runbook-operator' }))).PolicyDocument!
  await iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: 'scalardl-runbook-operator' }))
  const sent = async () => ((await ssm.send(new ListCommandsCommand({}))).Commands ?? []).length
  try {
    const before = await sent()
    for (const [verb, line] of [
      ['run', 'npm run bastion -- run 07-verify'],
      ['push', 'npm run bastion -- push'],
    ] as const) {
      const refused = await j.attempt(line)
      assert.equal(refused.code, 2, refused.out)
      assert.match(refused.out, new RegExp(`✗ bastion ${verb}: \\d+ problems?`))
      assert.match(
        refused.out,
        new RegExp(
          `BASTION_OPERATOR_POLICY: the bastion's role ${role} may not \\S+ on \\S+ \\(IAM: implicitDeny; operator policy statement \\w+\\)`,
        ),
      )
      assert.match(refused.out, /fix: rerun 01-vpc: it puts the operator policy/)
    }
    assert.equal(await sent(), before, 'nothing was sent to the bastion')
  } finally {
    await iam.send(
      new PutRolePolicyCommand({ RoleName: role, PolicyName: 'scalardl-runbook-operator', PolicyDocument: decodeURIComponent(policy) }),
    )
  }

  const roleArn = `arn:aws:iam::${ACCOUNT}:role/${role}`
  const c = (await new STSClient(admin).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'shell' }))).Credentials!
  const shell = {
    ...admin,
    credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken },
  }
  assert.equal(
    (await iam.send(new GetRoleCommand({ RoleName: role }))).Role?.PermissionsBoundary?.PermissionsBoundaryArn,
    boundaryArn(ACCOUNT),
    "the bastion's role carries the boundary",
  )
  const asShell = new IAMClient(shell)
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'allowed',
      (e: Error) => `${e.name}: ${e.message}`,
    )
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  })
  const refusals = {
    'its own policy': await outcome(
      asShell.send(
        new PutRolePolicyCommand({ RoleName: role, PolicyName: 'more', PolicyDocument: '{"Version":"2012-10-17","Statement":[]}' }),
      ),
    ),
    'a role without the boundary': await outcome(
      asShell.send(new CreateRoleCommand({ RoleName: `eksctl-${role}-escalate`, AssumeRolePolicyDocument: trust })),
    ),
    'a new version of the boundary': await outcome(
      asShell.send(new CreatePolicyVersionCommand({ PolicyArn: boundaryArn(ACCOUNT), PolicyDocument: '{}', SetAsDefault: true })),
    ),
    "a parameter that is not the runbook's": await outcome(new SSMClient(shell).send(new GetParameterCommand({ Name: '/prod/elsewhere' }))),
  }
  for (const [what, result] of Object.entries(refusals))
    assert.match(result, new RegExp(`^AccessDenied(Exception)?: .*assumed-role/${role}/shell is not authorized`), what)
  const bounded = `eksctl-${role}-bounded`
  const adminPolicy = 'arn:aws:iam::aws:policy/AdministratorAccess'
  assert.equal(
    await outcome(
      asShell.send(
        new CreateRoleCommand({ RoleName: bounded, AssumeRolePolicyDocument: trust, PermissionsBoundary: boundaryArn(ACCOUNT) }),
      ),
    ),
    'allowed',
  )
  assert.equal(await outcome(asShell.send(new AttachRolePolicyCommand({ RoleName: bounded, PolicyArn: adminPolicy }))), 'allowed')
  await asShell.send(new DetachRolePolicyCommand({ RoleName: bounded, PolicyArn: adminPolicy }))
  await asShell.send(new DeleteRoleCommand({ RoleName: bounded }))
  for (const client of [asShell, iam, ssm]) client.destroy()
}

/** No secret in the pushed .env, the staged bundle, or any SSM command. */
export async function noSecretThroughAws(
  j: Journey,
  shipped: { pushedEnv: string; staged: Buffer },
  secrets: Record<string, string>,
): Promise<void> {
  const ssm = new SSMClient(awsConfig(j.sim.env))
  const commands = JSON.stringify((await ssm.send(new ListCommandsCommand({}))).Commands ?? [])
  ssm.destroy()
  for (const [what, secret] of Object.entries(secrets)) {
    assert.ok(!shipped.pushedEnv.includes(secret), `${what} in the pushed .env`)
    assert.ok(!commands.includes(secret), `${what} in an SSM command`)
    assert.ok(!shipped.staged.includes(secret), `${what} in the staged tarball`)
  }
}

/** From the laptop, a step on the clusters made stops at once: their private endpoint does not answer there (lib/eks/reach.ts). */
export async function privateFromTheLaptop(j: Journey): Promise<void> {
  const cluster = j.env().CLUSTER_NAME!
  const r = await j.attempt('npx tsx runbooks/04-scalardl.ts --dry-run')
  assert.equal(r.code, 2, r.out)
  assert.match(
    r.out,
    new RegExp(`the Kubernetes API of ${cluster} \\(https://127\\.0\\.0\\.1:\\d+, private only\\) does not answer from this host`),
  )
}
