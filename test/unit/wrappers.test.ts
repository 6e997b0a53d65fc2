// kubectl, helm and eksctl wrappers over an injected runner: JSON from stdout only, one typed
// error, secrets on stdin; and the real zx runner on real commands.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Eksctl } from '../../lib/tools/eksctl.ts'
import { transientReason } from '../../lib/tools/tool.ts'
import { CommandError } from '../../lib/engine/errors.ts'
import { assertNoSecretsInArgs, zxRunner, type CommandRunner, type RunOptions } from '../../lib/tools/exec.ts'
import { Helm } from '../../lib/tools/helm.ts'
import { Kubectl } from '../../lib/tools/kubectl.ts'
import { registerSecret } from '../../lib/engine/redact.ts'
import { atLeast, parseVersion } from '../../lib/tools/version.ts'

interface Call {
  command: string
  args: string[]
  opts?: RunOptions
}

/** A runner that answers from a table keyed by the joined arguments. */
function fake(answers: Record<string, { stdout?: string; stderr?: string; exitCode?: number }>): { runner: CommandRunner; calls: Call[] } {
  const calls: Call[] = []
  const runner: CommandRunner = async (command, args, opts) => {
    calls.push({ command, args, opts })
    const a = answers[args.join(' ')]
    if (!a) return { stdout: '', stderr: `unexpected: ${args.join(' ')}`, exitCode: 99 }
    return { stdout: a.stdout ?? '', stderr: a.stderr ?? '', exitCode: a.exitCode ?? 0 }
  }
  return { runner, calls }
}

describe('CLI wrappers', () => {
  test('kubectl: client version from gitVersion, with warnings on stderr ignored', async () => {
    const { runner } = fake({
      'version --client -o json': {
        stdout: '{"clientVersion":{"major":"1","minor":"30+","gitVersion":"v1.30.4-eks-a737599"}}',
        stderr: 'WARNING: version difference',
      },
    })
    const v = await new Kubectl({ runner }).clientVersion()
    assert.deepEqual(v.version, { major: 1, minor: 30, patch: 4 })
  })

  test('kubectl: list, get (missing -> undefined), context flags first, typed error with hint', async () => {
    const { runner, calls } = fake({
      '--context ledger get pods -o json -n default -l app.kubernetes.io/app=ledger': {
        stdout: '{"items":[{"metadata":{"name":"p1"}}]}',
        stderr: 'Warning: something',
      },
      '--context ledger get secret ledger-keys -o json -n default': {
        stderr: 'Error from server (NotFound): secrets "ledger-keys" not found',
        exitCode: 1,
      },
      '--context ledger get nodes -o json': {
        stderr: 'The connection to the server 10.0.0.1:443 was refused - did you specify the right host or port?',
        exitCode: 1,
      },
    })
    const k = new Kubectl({ runner, context: 'ledger' })
    assert.deepEqual(
      (await k.list('pods', { namespace: 'default', selector: 'app.kubernetes.io/app=ledger' })).map((p) => p.metadata.name),
      ['p1'],
    )
    assert.equal(await k.get('secret', 'ledger-keys', { namespace: 'default' }), undefined)
    await assert.rejects(
      k.list('nodes'),
      (e: unknown) => e instanceof CommandError && e.exitCode === 1 && /connection/.test(e.stderr) && /not reachable/.test(e.hint ?? ''),
    )
    assert.equal(calls[0]!.args[0], '--context')
  })

  test('kubectl apply sends the manifest on stdin, never in argv', async () => {
    const manifest = 'apiVersion: v1\nkind: Secret\nmetadata: {name: ledger-keys}\nstringData: {private-key: TOPSECRET}\n'
    const { runner, calls } = fake({ 'apply -f - -n default': { stdout: 'secret/ledger-keys created\n' } })
    assert.equal(await new Kubectl({ runner }).apply(manifest, { namespace: 'default' }), 'secret/ledger-keys created')
    assert.equal(calls[0]!.opts?.input, manifest)
    assert.ok(!calls[0]!.args.join(' ').includes('TOPSECRET'))
  })

  test('helm: version, list (revision is a string), and "already in progress" hint', async () => {
    const { runner } = fake({
      'version --short': { stdout: 'v3.16.4+g7877b45\n' },
      'list --all -o json -n default': {
        stdout:
          '[{"name":"my-release-scalardl","namespace":"default","revision":"2","updated":"2026-11-25 10:00:00.1 +0000 UTC","status":"deployed","chart":"scalardl-4.12.0","app_version":"3.13.0"}]',
      },
      'upgrade --install r c -n default -o json': {
        stderr: 'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress',
        exitCode: 1,
      },
    })
    const h = new Helm({ runner, retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 2, busyWaitMs: 20 }, onRetry: () => undefined })
    assert.ok(atLeast((await h.version()).version, '3.5'))
    const rel = await h.release('my-release-scalardl', 'default')
    assert.equal(rel?.revision, '2')
    assert.equal(await h.release('absent', 'default'), undefined)
    await assert.rejects(
      h.upgradeInstall('r', 'c', { namespace: 'default' }),
      (e: unknown) => e instanceof CommandError && /interrupted/.test(e.hint ?? ''),
    )
  })

  test('transient failures are retried with backoff, a bounded number of times; permanent ones never', async () => {
    const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 4, busyWaitMs: 30 }
    const retries: string[] = []
    // Fails twice as an overloaded API server does, then answers.
    let n = 0
    const flaky: CommandRunner = async () =>
      ++n <= 2
        ? {
            stdout: '',
            stderr: 'Error from server (ServiceUnavailable): the server is currently unable to handle the request',
            exitCode: 1,
          }
        : { stdout: '{"items":[]}', stderr: '', exitCode: 0 }
    const k = new Kubectl({ runner: flaky, retry: fast, onRetry: (w) => retries.push(w) })
    assert.deepEqual(await k.list('nodes'), [])
    assert.equal(n, 3)
    assert.equal(retries.length, 2)
    assert.match(retries[0]!, /the server is currently unable to handle the request/)
    // Never more than the policy allows: the last failure surfaces with its own message.
    let m = 0
    const down: CommandRunner = async () => (
      m++,
      {
        stdout: '',
        stderr: 'The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\nconnection refused',
        exitCode: 1,
      }
    )
    await assert.rejects(
      new Kubectl({ runner: down, retry: fast, onRetry: () => undefined }).list('nodes'),
      (e: unknown) => e instanceof CommandError && /refused/.test(e.message),
    )
    assert.equal(m, 4)
    // Permanent failures are not retried.
    let p = 0
    const forbidden: CommandRunner = async () => (
      p++, { stdout: '', stderr: 'Error from server (Forbidden): nodes is forbidden: User "x" cannot list resource "nodes"', exitCode: 1 }
    )
    await assert.rejects(new Kubectl({ runner: forbidden, retry: fast }).list('nodes'), CommandError)
    assert.equal(p, 1)
    // helm's release lock is waited out up to busyWaitMs, then reported.
    let b = 0
    const busy: CommandRunner = async () => (
      b++, { stdout: '', stderr: 'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress', exitCode: 1 }
    )
    const t0 = Date.now()
    await assert.rejects(
      new Helm({ runner: busy, retry: fast, onRetry: () => undefined }).upgradeInstall('r', 'c', { namespace: 'default' }),
      CommandError,
    )
    assert.ok(b >= 2 && Date.now() - t0 < 1000, `${b} tries in ${Date.now() - t0} ms`)
    for (const [out, transient] of [
      ['Unable to connect to the server: net/http: TLS handshake timeout', true],
      ['An error occurred (ThrottlingException) when calling the DescribeCluster operation: Rate exceeded', true],
      [
        'error when creating "STDIN": Post "http://127.0.0.1:40739/apis/batch/v1/namespaces/default/jobs": readfrom tcp 127.0.0.1:34844->127.0.0.1:40739: write tcp 127.0.0.1:34844->127.0.0.1:40739: use of closed network connection',
        true,
      ],
      ['Error from server (NotFound): secrets "ledger-keys" not found', false],
      ['Error: INSTALLATION FAILED: cannot re-use a name that is still in use', false],
    ] as const)
      assert.equal(Boolean(transientReason(out)), transient, out)
  })

  test("eksctl: version; a failed command is a typed error with eksctl's message", async () => {
    const { runner } = fake({
      version: { stdout: '0.230.0\n' },
      'scale nodegroup --cluster demo --name scalardlpool --nodes 9 --nodes-min 3 --nodes-max 6 --region ap-northeast-1': {
        stderr: 'Error: the desired nodes 9 is greater than current nodes-max/maxSize 6',
        exitCode: 1,
      },
    })
    const e = new Eksctl({ runner, region: 'ap-northeast-1' })
    assert.equal((await e.version()).raw, '0.230.0')
    await assert.rejects(
      e.scaleNodegroup('demo', 'scalardlpool', 9, 3, 6),
      (err: unknown) => err instanceof CommandError && /greater than current nodes-max/.test(err.stderr),
    )
  })

  test('eksctl: the cause of a failure comes from its [✖] lines on stdout; a create that timed out is not run again', async () => {
    const ts = '2026-12-01 03:00:00'
    const { runner, calls } = fake({
      'create cluster -f c.yaml': {
        stdout: `${ts} [ℹ]  eksctl version 0.230.0\n${ts} [!]  1 error(s) occurred and cluster hasn't been created properly, you may wish to check CloudFormation console\n${ts} [✖]  waiting for CloudFormation stack "eksctl-demo-cluster": context deadline exceeded\n`,
        stderr: 'Error: failed to create cluster "demo"\n',
        exitCode: 1,
      },
    })
    const e = new Eksctl({ runner, region: 'ap-northeast-1', onRetry: () => assert.fail('a create is never retried') })
    await assert.rejects(
      e.createCluster('c.yaml'),
      (err: unknown) =>
        err instanceof CommandError &&
        /context deadline exceeded/.test(err.stderr) &&
        /failed to create cluster "demo"/.test(err.stderr) &&
        !/eksctl version/.test(err.stderr),
    )
    assert.equal(calls.length, 1)
  })

  test("eksctl: an AWS exception behind the failure is in the error's message (not only in its stderr)", async () => {
    const ts = '2026-12-01 03:00:00'
    const { runner } = fake({
      'create cluster -f c.yaml': {
        stdout: `${ts} [!]  1 error(s) occurred and cluster hasn't been created properly, you may wish to check CloudFormation console\n${ts} [✖]  ResourceInUseException: The specified access entry resource is already in use on this cluster.\n`,
        stderr: 'Error: failed to create cluster "demo"\n',
        exitCode: 1,
      },
    })
    const e = new Eksctl({ runner, region: 'ap-northeast-1' })
    await assert.rejects(e.createCluster('c.yaml'), /ResourceInUseException: The specified access entry resource is already in use/)
  })

  test("eksctl get addon: a degraded add-on's Issue lines after the JSON are read apart from it", async () => {
    const json = JSON.stringify(
      [{ Name: 'amazon-cloudwatch-observability', Version: 'v6.4.0-eksbuild.1', Status: 'DEGRADED', ConfigurationValues: '{}' }],
      null,
      '    ',
    )
    const { runner } = fake({
      'get addon --cluster demo --name amazon-cloudwatch-observability --region ap-northeast-1 -o json': {
        stdout: `${json}Issue: {Code:InsufficientNumberOfReplicas Message:not enough replicas ResourceIDs:[amazon-cloudwatch/fluent-bit]}\n`,
      },
      'get addon --cluster demo --name other --region ap-northeast-1 -o json': { stdout: json },
    })
    const e = new Eksctl({ runner, region: 'ap-northeast-1' })
    const a = await e.getAddon('demo', 'amazon-cloudwatch-observability')
    assert.equal(a?.Status, 'DEGRADED')
    assert.deepEqual(a?.issues, [
      '{Code:InsufficientNumberOfReplicas Message:not enough replicas ResourceIDs:[amazon-cloudwatch/fluent-bit]}',
    ])
    assert.deepEqual((await e.getAddon('demo', 'other'))?.issues, [])
  })

  test("eksctl get addon without --name: every add-on in one call, each one's health issues from the JSON", async () => {
    const all = [
      {
        Name: 'amazon-cloudwatch-observability',
        Version: 'v6.4.0-eksbuild.1',
        Status: 'DEGRADED',
        ConfigurationValues: '{}',
        Issues: [{ Code: 'InsufficientNumberOfReplicas', Message: 'not enough replicas', ResourceIDs: ['amazon-cloudwatch/fluent-bit'] }],
      },
      { Name: 'eks-pod-identity-agent', Version: 'v1.3.10-eksbuild.2', Status: 'ACTIVE', ConfigurationValues: '', Issues: null },
    ]
    const { runner, calls } = fake({
      'get addon --cluster demo --region ap-northeast-1 -o json': { stdout: JSON.stringify(all, null, '    ') },
      'get addon --cluster empty --region ap-northeast-1 -o json': { stdout: '[]' },
    })
    const e = new Eksctl({ runner, region: 'ap-northeast-1' })
    const addons = await e.getAddons('demo')
    assert.deepEqual(
      addons.map((a) => [a.Name, a.Status, a.issues]),
      [
        [
          'amazon-cloudwatch-observability',
          'DEGRADED',
          ['{Code:InsufficientNumberOfReplicas Message:not enough replicas ResourceIDs:[amazon-cloudwatch/fluent-bit]}'],
        ],
        ['eks-pod-identity-agent', 'ACTIVE', []],
      ],
    )
    assert.deepEqual(await e.getAddons('empty'), [])
    assert.equal(calls.length, 2, 'one eksctl call per cluster')
  })

  test('the zx runner runs real commands, keeps arguments literal, and passes stdin', async () => {
    const r = await zxRunner('printf', ['%s|', 'a b', '$(echo injected)', "it's"])
    assert.equal(r.stdout, "a b|$(echo injected)|it's|")
    assert.equal(r.exitCode, 0)
    assert.equal((await zxRunner('cat', [], { input: 'from stdin' })).stdout, 'from stdin')
    const failed = await zxRunner('bash', ['-c', 'echo oops >&2; exit 3'])
    assert.equal(failed.exitCode, 3)
    assert.equal(failed.stderr.trim(), 'oops')
    const missing = await zxRunner('/nonexistent/tool', ['version'])
    assert.equal(missing.exitCode, 127)
  })

  test('a wrapper refuses to run a command whose arguments hold a registered secret', async () => {
    const secret = ['ghp', 'wrapperSecret0123456789'].join('_')
    registerSecret(secret)
    const { runner, calls } = fake({})
    await assert.rejects(
      new Kubectl({ runner }).run(['create', 'secret', 'generic', 'x', `--from-literal=token=${secret}`]),
      /refusing to pass a secret/,
    )
    assert.equal(calls.length, 0, 'nothing was run')
  })

  test('secrets are refused on a command line', () => {
    assert.throws(
      () => assertNoSecretsInArgs('kubectl', ['create', 'secret', '--docker-password=ghp_abc123456'], ['ghp_abc123456']),
      /refusing to pass a secret/,
    )
    assert.doesNotThrow(() => assertNoSecretsInArgs('kubectl', ['apply', '-f', '-'], ['ghp_abc123456']))
  })

  test('versions', () => {
    assert.deepEqual(parseVersion('v3.21.4+g1234567'), { major: 3, minor: 21, patch: 4 })
    assert.deepEqual(parseVersion('0.231.0-dev+abc.2026'), { major: 0, minor: 231, patch: 0 })
    assert.equal(parseVersion('no version'), undefined)
    assert.ok(atLeast(parseVersion('v1.19.0')!, '1.19'))
    assert.ok(!atLeast(parseVersion('v1.18.20')!, '1.19'))
  })
})
