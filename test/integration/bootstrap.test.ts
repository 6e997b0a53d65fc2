// The bastion's bootstrap (bastion/bootstrap.sh rendered from bastion/tools.json): valid bash that
// shellcheck passes, installing every pinned tool from a local fixture server only when its
// SHA-256 matches, leaving what is installed alone on a second run, and stopping on a wrong
// checksum without installing the download.
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { kubectlFor, loadManifest, renderBootstrap, type Bootstrap, type ToolsManifest } from '../../lib/bastion/bootstrap.ts'
import { tempDir } from '../helpers/run-step.ts'

const dir = tempDir('bootstrap-')
const files = path.join(dir, 'files')
const requests: string[] = []
let server: http.Server
let base: string
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex')

function program(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, `#!/bin/sh\necho ${text}\n`, { mode: 0o755 })
}

/** The real manifest with every download served here, and checksums of these fixtures. */
function fixtureManifest(overrides: Partial<Record<'kubectl' | 'helm' | 'eksctl' | 'node', string>> = {}): ToolsManifest {
  const m = loadManifest()
  const at = (tool: 'kubectl' | 'helm' | 'eksctl' | 'node', file: string, pin: ToolsManifest['helm']) => ({
    ...pin,
    url: `${base}/${file}`,
    sha256: overrides[tool] ?? sha(path.join(files, file)),
  })
  return {
    ...m,
    node: at('node', 'node.tar.xz', m.node),
    helm: at('helm', 'helm.tar.gz', m.helm),
    eksctl: at('eksctl', 'eksctl.tar.gz', m.eksctl),
    kubectl: Object.fromEntries(Object.entries(m.kubectl).map(([v, p]) => [v, at('kubectl', 'kubectl', p)])),
  }
}

function render(m: ToolsManifest): Bootstrap {
  const b = renderBootstrap('1.35', m)
  assert.equal(typeof b, 'object', String(b))
  return b as Bootstrap
}

/** Runs a rendered script as the bastion would, in a sandbox: its own prefix and log, a PATH without git (dnf stands in). Asynchronously: the fixture server answers in this process. */
async function run(b: Bootstrap, prefix: string) {
  const script = path.join(dir, `bootstrap-${Math.random().toString(36).slice(2)}.sh`)
  fs.writeFileSync(script, b.script)
  const bin = path.join(prefix, 'fake-bin')
  fs.mkdirSync(bin, { recursive: true })
  // dnf installs a package by making its command; aws is present (Amazon Linux ships it).
  fs.writeFileSync(
    path.join(bin, 'dnf'),
    `#!/bin/sh\necho "dnf $*" >> "${prefix}/dnf.log"\nprintf '#!/bin/sh\\n' > "${bin}/$3" && chmod +x "${bin}/$3"\n`,
    {
      mode: 0o755,
    },
  )
  program(path.join(bin, 'aws'), 'aws-cli/2.23.11')
  const tools = [
    'bash',
    'curl',
    'sha256sum',
    'tar',
    'xz',
    'gzip',
    'install',
    'mktemp',
    'rm',
    'mkdir',
    'cut',
    'cat',
    'ln',
    'date',
    'dirname',
    'chmod',
    'sh',
    'printf',
  ]
  const system = path.join(prefix, 'system-bin')
  fs.mkdirSync(system, { recursive: true })
  for (const t of tools) {
    const real = execFileSync('bash', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim()
    if (real.startsWith('/') && !fs.existsSync(path.join(system, t))) fs.symlinkSync(real, path.join(system, t))
  }
  const log = path.join(prefix, 'bootstrap.log')
  const child = spawn('bash', [script], {
    env: { PATH: `${prefix}/bin:${bin}:${system}`, BOOTSTRAP_PREFIX: prefix, BOOTSTRAP_LOG: log, HOME: prefix },
    stdio: 'ignore',
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, log: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' }
}

before(async () => {
  program(path.join(files, 'kubectl'), 'kubectl-fixture')
  program(path.join(files, 'stage/linux-amd64/helm'), 'helm-fixture')
  execFileSync('tar', ['-czf', path.join(files, 'helm.tar.gz'), '-C', path.join(files, 'stage'), 'linux-amd64/helm'])
  program(path.join(files, 'stage/eksctl'), 'eksctl-fixture')
  execFileSync('tar', ['-czf', path.join(files, 'eksctl.tar.gz'), '-C', path.join(files, 'stage'), 'eksctl'])
  const node = loadManifest().node.member!
  for (const p of ['node', 'npm', 'npx']) program(path.join(files, 'stage', node, 'bin', p), `${p}-fixture`)
  execFileSync('tar', ['-cJf', path.join(files, 'node.tar.xz'), '-C', path.join(files, 'stage'), node])
  server = http.createServer((req, res) => {
    requests.push(req.url!)
    const file = path.join(files, path.basename(req.url!))
    if (!fs.existsSync(file)) return void res.writeHead(404).end()
    res.writeHead(200).end(fs.readFileSync(file))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => {
  server?.close()
})

describe('the bastion bootstrap', () => {
  test('the manifest pins every tool with a SHA-256 and a source; kubectl within one minor of the cluster', () => {
    const m = loadManifest()
    for (const p of [m.node, m.helm, m.eksctl, ...Object.values(m.kubectl)]) {
      assert.match(p.sha256, /^[0-9a-f]{64}$/)
      assert.match(p.url, /^https:\/\//)
      assert.ok(p.source.length > 10, `${p.url} names where its checksum was read`)
    }
    assert.equal(kubectlFor(m, '1.35')?.version.split('.').slice(0, 2).join('.'), '1.35')
    assert.equal(kubectlFor(m, '1.36')?.version.split('.').slice(0, 2).join('.'), '1.35', 'one minor behind is within the skew')
    assert.match(String(renderBootstrap('1.29', m)), /pins no kubectl within one minor of KUBERNETES_VERSION 1\.29/)
  })

  test('bash -n and shellcheck pass on the rendered script', () => {
    const b = render(loadManifest())
    const file = path.join(dir, 'rendered.sh')
    fs.writeFileSync(file, b.script)
    assert.equal(spawnSync('bash', ['-n', file]).status, 0)
    const sc = spawnSync('shellcheck', ['-s', 'bash', file], { encoding: 'utf8' })
    assert.ok(!sc.error, 'shellcheck is required for this test (apt-get install shellcheck; .ci/run installs it)')
    assert.equal(sc.status, 0, sc.stdout)
  })

  test('installs every tool once its checksum matches; a second run downloads nothing and changes nothing', async () => {
    const prefix = tempDir('bastion-')
    const b = render(fixtureManifest())
    requests.length = 0
    const first = await run(b, prefix)
    assert.equal(first.code, 0, first.log)
    assert.deepEqual([...requests].sort(), ['/eksctl.tar.gz', '/helm.tar.gz', '/kubectl', '/node.tar.xz'])
    for (const tool of ['kubectl', 'helm', 'eksctl', 'node', 'npx'])
      assert.equal(execFileSync(path.join(prefix, 'bin', tool), { encoding: 'utf8' }).trim(), `${tool}-fixture`)
    assert.equal(
      fs.readFileSync(path.join(prefix, 'dnf.log'), 'utf8'),
      'dnf install -y git\n',
      'git from the package, the AWS CLI left as shipped',
    )
    assert.equal(fs.readFileSync(path.join(prefix, 'lib/scalardl-runbook/bootstrap-version'), 'utf8').trim(), b.version)
    assert.match(first.log, /kubectl 1\.35\.8: installed \(sha256 [0-9a-f]{64}\)/)

    requests.length = 0
    const second = await run(b, prefix)
    assert.equal(second.code, 0, second.log)
    assert.deepEqual(requests, [], 'nothing downloaded again')
    assert.match(
      second.log,
      /== bootstrap \S+\n(.*already installed\n){4}git: present .*\naws: present .*\n== bootstrap [0-9a-f]+ complete\n$/,
    )
    assert.equal(fs.readFileSync(path.join(prefix, 'dnf.log'), 'utf8'), 'dnf install -y git\n')
  })

  test('a wrong checksum stops the bootstrap: that download is not installed, nor anything after it', async () => {
    const prefix = tempDir('bastion-')
    const r = await run(render(fixtureManifest({ helm: '0'.repeat(64) })), prefix)
    assert.notEqual(r.code, 0)
    assert.match(
      r.log,
      new RegExp(`checksum mismatch for ${base}/helm\\.tar\\.gz: expected 0{64}, got [0-9a-f]{64}; nothing of it was installed`),
    )
    assert.ok(fs.existsSync(path.join(prefix, 'bin', 'kubectl')), 'kubectl came before helm')
    assert.ok(!fs.existsSync(path.join(prefix, 'bin', 'helm')))
    assert.ok(!fs.existsSync(path.join(prefix, 'bin', 'eksctl')))
    assert.ok(!fs.existsSync(path.join(prefix, 'lib/scalardl-runbook/bootstrap-version')), 'not marked done')
  })
})
