// Working from the bastion through AWS APIs only: from a laptop outside AWS (where the private
// EKS endpoint does not answer), 00 and 01, the secrets into Parameter Store, `npm run bastion --
// push`, then the deployment run on the bastion through SSM Run Command with the bastion role's own
// credentials (BASTION_OPERATOR_POLICY, true by default). The simulator runs the commands in a folder that
// stands for the bastion (sim/ssm-hosts.ts). No secret in the pushed .env, the staged bundle or
// the commands.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { after, before, describe, test } from 'node:test'
import { EKSClient, ListAccessEntriesCommand } from '@aws-sdk/client-eks'
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3'
import { GetParameterCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm'
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
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { boundaryArn } from '../../lib/iam/boundary.ts'
import { RUN_OUTPUT_TAIL, runScript } from '../../lib/bastion/remote.ts'
import { awsConfig } from '../helpers/aws.ts'
import { runStep, tempDir } from '../helpers/run-step.ts'
import { startSim, stopSim, type Sim } from '../helpers/sim.ts'

let sim: Sim
const state = tempDir('rb-bastion-')
const CLUSTER = 'bst'
const TOKEN = ['ghp', 'bastionTestToken000000000000000000'].join('_')
// Made of parts, as the token is: the test's own source is in the pushed tarball, which must not hold the value.
const DB_SECRET = ['bastion', 'test', 'db', 'secret'].join('-')
const envFile = path.join(state, '.env')
// The operator's .env on the laptop: configuration and secrets.
const config: Record<string, string> = {
  CLUSTER_NAME: CLUSTER,
  AWS_REGION: 'ap-northeast-1',
  VPC_CIDR: '10.95.0.0/16',
  GITHUB_USERNAME: 'octo',
  GITHUB_TOKEN: TOKEN,
  SCALARDL_DB_USERNAME: 'AKIABASTIONTEST00000',
  SCALARDL_DB_PASSWORD: DB_SECRET,
  LEDGER_PRIVATE_KEY_FILE: path.join(state, 'ledger-key.pem'),
  DYNAMODB_NAMESPACE_PREFIX: 'bst_',
}
const laptop = (): NodeJS.ProcessEnv => ({
  ...sim.env,
  NODE_NO_WARNINGS: '1',
  CI: 'true',
  RUNBOOK_STATE_DIR: path.join(state, 'runbook'),
  AWS_EC2_METADATA_DISABLED: 'false',
  AWS_EC2_METADATA_SERVICE_ENDPOINT: JSON.parse(fs.readFileSync(path.join(sim.dir, 'sim.json'), 'utf8')).imdsUrl,
})
const bastionTool = (args: string[]) => runStep('runbooks/bastion.ts', args, laptop(), state)

before(() => {
  sim = startSim(['--pod-start-ms', '50', '--job-duration-ms', '100', '--lb-delay-ms', '100', '--cloudwatch-interval-ms', '2000'])
  fs.writeFileSync(
    envFile,
    `${Object.entries(config)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  )
  assert.equal(sim.cli('knobs', '--caller', 'outside').code, 0)
})
after(() => stopSim(sim))

describe('working from the bastion through SSM', () => {
  test('push ships the runbook with a .env that refers to Parameter Store; run deploys from the bastion with its own role', async () => {
    for (const step of ['runbooks/00-preflight.ts', 'runbooks/01-vpc.ts']) {
      const r = await runStep(step, ['--env-file', envFile], laptop(), state)
      assert.equal(r.code, 0, `${step}: ${r.stderr}`)
    }
    // Before the secrets are in Parameter Store, push refuses: it never sends a secret.
    const refused = await bastionTool(['push', '--env-file', envFile])
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(
      refused.stderr,
      /GITHUB_TOKEN: has a value here but no parameter \/scalardl-runbook\/bst\/github-token: push never sends a secret/,
      refused.stderr,
    )
    // The Ledger's key does not exist yet: store makes it here, on the laptop (mode 600), and stores it.
    assert.ok(!fs.existsSync(config.LEDGER_PRIVATE_KEY_FILE!))
    const stored = await runStep('runbooks/secrets.ts', ['store', '--env-file', envFile], laptop(), state)
    assert.equal(stored.code, 0, stored.stderr)
    assert.match(stored.stderr, /made LEDGER_PRIVATE_KEY_FILE/)
    assert.equal(fs.statSync(config.LEDGER_PRIVATE_KEY_FILE!).mode & 0o777, 0o600)

    const push = await bastionTool(['push', '--env-file', envFile])
    assert.equal(push.code, 0, push.stderr)
    assert.match(push.stdout, /runbook [0-9a-f]{16} in .*scalardl-eks-runbook/)
    assert.match(push.stderr, /made the staging bucket scalardl-runbook-staging-123456789012-ap-northeast-1/)
    const hostDirs = fs.readdirSync(path.join(sim.dir, 'hosts'))
    assert.equal(hostDirs.length, 1, 'one bastion')
    const remote = path.join(sim.dir, 'hosts', hostDirs[0]!, 'root', 'scalardl-eks-runbook')
    const pushedEnv = fs.readFileSync(path.join(remote, '.env'), 'utf8')
    assert.match(pushedEnv, /^GITHUB_TOKEN=ssm:\/scalardl-runbook\/bst\/github-token$/m)
    assert.match(pushedEnv, /^LEDGER_PRIVATE_KEY_FILE=ssm:\/scalardl-runbook\/bst\/ledger-private-key$/m)
    assert.equal(fs.statSync(path.join(remote, '.env')).mode & 0o777, 0o600)
    assert.ok(fs.existsSync(path.join(remote, 'runbooks', '04-scalardl.ts')) && fs.existsSync(path.join(remote, 'config')))

    // The staging bucket: encrypted, objects expire; what it holds has no secret.
    const s3 = new S3Client({ ...awsConfig(sim.env), forcePathStyle: true })
    const bucket = 'scalardl-runbook-staging-123456789012-ap-northeast-1'
    assert.equal(
      (await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0]
        ?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
      'AES256',
    )
    assert.equal((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules?.[0]?.Expiration?.Days, 1)
    const [object] = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []
    const staged = gunzipSync(
      Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object!.Key! }))).Body!.transformToByteArray()),
    )
    s3.destroy()

    // The deployment, run on the bastion: the laptop's caller stays outside, where the endpoint does not answer.
    const deploy = await bastionTool(['run', '--env-file', envFile, 'deploy'])
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout)
    // SSM returns a command's output only at its end, and only the first 24,000 characters of
    // stdout: run reads the step's log on the bastion while it runs, and prints its lines as they
    // come; the whole of it, exactly, and where it is kept.
    assert.match(deploy.stderr, /its lines as they come \(read from its log there every few seconds\); SSM stops it after \d+ s/)
    const logs = fs.readdirSync(path.join(remote, '.runbook', 'remote'))
    assert.equal(logs.length, 1, logs.join(', '))
    const log = path.join(remote, '.runbook', 'remote', logs[0]!)
    const whole = fs.readFileSync(log, 'utf8')
    assert.match(whole, /▶ 00-preflight/, 'the log has the beginning')
    assert.equal(deploy.stdout, whole, 'the whole log came back, once')
    const kept = /\[the whole output is also in ~\/scalardl-eks-runbook\/(\S+) on the bastion\]/.exec(deploy.stderr)
    assert.equal(kept && fs.realpathSync(path.join(remote, kept[1]!)), fs.realpathSync(log))
    // Read while it ran: more than one read of the log went to the bastion.
    const ssmReads = new SSMClient(awsConfig(sim.env))
    const reads = ((await ssmReads.send(new ListCommandsCommand({}))).Commands ?? []).filter(
      (c) => c.Comment === 'scalardl-runbook read: follow',
    )
    ssmReads.destroy()
    assert.ok(reads.length > 1, `${reads.length} reads of the log`)
    assert.match(deploy.stdout, /deploy: \d+ steps done/)
    assert.equal(fs.statSync(log).mode & 0o777, 0o600)
    const eks = new EKSClient(awsConfig(sim.env))
    const entries = (await eks.send(new ListAccessEntriesCommand({ clusterName: CLUSTER }))).accessEntries ?? []
    eks.destroy()
    assert.ok(entries.includes('arn:aws:iam::123456789012:role/bst-bastion'), `the bastion role made the cluster: ${entries.join(', ')}`)
    // A step that fails there fails here, with its exit code.
    const bad = await bastionTool(['run', '--env-file', envFile, '04-scalardl', '--no-such-flag', '--json'])
    assert.equal(bad.code, 2)
    // With --json, the JSON alone on stdout, the human output on stderr.
    assert.equal(JSON.parse(bad.stdout).status, 'failed', bad.stdout)
    assert.match(bad.stderr, /unknown argument: --no-such-flag/)

    // IAM is enforced on the bastion's role (sim/iam-enforce.ts): without the operator policy the
    // role may not run the steps, and push and run say so before they send anything (IAM's
    // SimulatePrincipalPolicy), naming the key and the fix; with it back, they go on.
    const iam = new IAMClient(awsConfig(sim.env))
    const operatorPolicy = (await iam.send(new GetRolePolicyCommand({ RoleName: 'bst-bastion', PolicyName: 'scalardl-runbook-operator' })))
      .PolicyDocument!
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'bst-bastion', PolicyName: 'scalardl-runbook-operator' }))
    const ssmAdmin = new SSMClient(awsConfig(sim.env))
    const sent = async () => ((await ssmAdmin.send(new ListCommandsCommand({}))).Commands ?? []).length
    try {
      const before = await sent()
      for (const args of [
        ['run', '--env-file', envFile, '07-verify'],
        ['push', '--env-file', envFile],
      ]) {
        const refused = await bastionTool(args)
        assert.equal(refused.code, 2, refused.stderr)
        assert.match(refused.stderr, new RegExp(`✗ bastion ${args[0]}: \\d+ problems?`))
        assert.match(
          refused.stderr,
          /BASTION_OPERATOR_POLICY: the bastion's role bst-bastion may not \S+ on \S+ \(IAM: implicitDeny; operator policy statement \w+\)/,
        )
        assert.match(refused.stderr, /fix: rerun 01-vpc: it puts the operator policy/)
      }
      assert.equal(await sent(), before, 'nothing was sent to the bastion')
    } finally {
      ssmAdmin.destroy()
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: 'bst-bastion',
          PolicyName: 'scalardl-runbook-operator',
          PolicyDocument: decodeURIComponent(operatorPolicy),
        }),
      )
      iam.destroy()
    }

    // A shell on the bastion holds the bastion role's session, with the operator policy and the
    // permissions boundary (lib/iam/boundary.ts), and cannot become more than that.
    const admin = awsConfig(sim.env)
    const iam2 = new IAMClient(admin)
    const roleArn = 'arn:aws:iam::123456789012:role/bst-bastion'
    const c = (await new STSClient(admin).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'shell' }))).Credentials!
    const shell = {
      ...admin,
      credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken },
    }
    assert.equal(
      (await iam2.send(new GetRoleCommand({ RoleName: 'bst-bastion' }))).Role?.PermissionsBoundary?.PermissionsBoundaryArn,
      boundaryArn('123456789012'),
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
    const admin_ = 'arn:aws:iam::aws:policy/AdministratorAccess'
    const refusals = {
      'its own policy': await outcome(
        asShell.send(
          new PutRolePolicyCommand({
            RoleName: 'bst-bastion',
            PolicyName: 'more',
            PolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
          }),
        ),
      ),
      'a role without the boundary': await outcome(
        asShell.send(new CreateRoleCommand({ RoleName: 'eksctl-bst-escalate', AssumeRolePolicyDocument: trust })),
      ),
      'a new version of the boundary': await outcome(
        asShell.send(new CreatePolicyVersionCommand({ PolicyArn: boundaryArn('123456789012'), PolicyDocument: '{}', SetAsDefault: true })),
      ),
      "a parameter that is not the runbook's": await outcome(
        new SSMClient(shell).send(new GetParameterCommand({ Name: '/prod/elsewhere' })),
      ),
    }
    for (const [what, result] of Object.entries(refusals))
      assert.match(result, /^AccessDenied(Exception)?: .*assumed-role\/bst-bastion\/shell is not authorized/, what)
    // With the boundary, the role it makes is allowed, and is no more than the boundary, whatever is attached.
    assert.equal(
      await outcome(
        asShell.send(
          new CreateRoleCommand({
            RoleName: 'eksctl-bst-bounded',
            AssumeRolePolicyDocument: trust,
            PermissionsBoundary: boundaryArn('123456789012'),
          }),
        ),
      ),
      'allowed',
    )
    assert.equal(await outcome(asShell.send(new AttachRolePolicyCommand({ RoleName: 'eksctl-bst-bounded', PolicyArn: admin_ }))), 'allowed')
    await asShell.send(new DetachRolePolicyCommand({ RoleName: 'eksctl-bst-bounded', PolicyArn: admin_ }))
    await asShell.send(new DeleteRoleCommand({ RoleName: 'eksctl-bst-bounded' }))
    asShell.destroy()
    iam2.destroy()

    // No secret in what went through AWS.
    const ssm = new SSMClient(awsConfig(sim.env))
    const commands = JSON.stringify((await ssm.send(new ListCommandsCommand({}))).Commands ?? [])
    ssm.destroy()
    const key = fs.readFileSync(config.LEDGER_PRIVATE_KEY_FILE!, 'utf8').split('\n')[1]!
    for (const [what, secret] of [
      ['GITHUB_TOKEN', TOKEN],
      ['SCALARDL_DB_PASSWORD', DB_SECRET],
      ['the ledger key', key],
    ] as const) {
      assert.ok(!pushedEnv.includes(secret), `${what} in the pushed .env`)
      assert.ok(!commands.includes(secret), `${what} in an SSM command`)
      assert.ok(!staged.includes(secret), `${what} in the staged tarball`)
    }
  })

  test('run keeps the whole output on the bastion and brings back its end, within what SSM returns', () => {
    // The script run sends, run by bash in a home of its own, with a deployment that says 60,000 bytes.
    const home = tempDir('rb-run-script-')
    const dir = path.join(home, 'scalardl-eks-runbook', 'scripts')
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(
      path.join(dir, 'deploy.mjs'),
      "for (let i = 0; i < 1000; i++) console.error(`line ${String(i).padStart(4, '0')} ✓ ${'x'.repeat(45)}`); console.log('deploy: 9 steps done'); process.exit(3)\n",
    )
    const r = spawnSync('bash', ['-c', runScript('deploy', [])], { env: { ...process.env, HOME: home }, encoding: 'utf8' })
    assert.equal(r.status, 3, 'the exit code of the deployment')
    const [log] = fs.readdirSync(path.join(home, 'scalardl-eks-runbook', '.runbook', 'remote'))
    const file = path.join(home, 'scalardl-eks-runbook', '.runbook', 'remote', log!)
    const size = fs.statSync(file).size
    const head = new RegExp(
      `^\\[the first ${size - RUN_OUTPUT_TAIL.stdout} of ${size} bytes are left out here: the whole output is in ${file} on the bastion`,
    )
    assert.match(r.stdout, head)
    const lines = r.stdout.trimEnd().split('\n').slice(1)
    assert.match(lines[0]!, /^line \d{4} ✓ x{45}$/, 'from the next full line on')
    assert.equal(lines.at(-1), 'deploy: 9 steps done', 'the end')
    assert.ok(r.stdout.length < 24_000, 'within the 24,000 characters SSM returns')
  })
})
