// SSM Run Command on the bastion, which moto only records (its SendCommand and
// GetCommandInvocation answer Success and run nothing): here an AWS-RunShellScript sent to an
// instance the runbook tagged as a bastion runs, in a folder that stands for that instance: its own
// HOME and /usr/local (BOOTSTRAP_PREFIX), the simulator's tools on PATH, the instance's role
// through the simulated instance metadata service, and, while it runs, the simulator's caller set
// to that instance (so its EKS endpoints answer as they would on it). The status, exit code and
// output come back through GetCommandInvocation as SSM reports them
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html:
// Pending, InProgress, Success, Failed). The output is empty until the command has ended, then
// the first 24,000 characters of stdout and the first 8,000 of stderr (boto/botocore@0e6e2404
// botocore/data/ssm/2014-11-06/service-2.json:8386, 8394).
// As the agent runs them (aws/amazon-ssm-agent@1c217c89, 3.3.1142.0): the commands are written to
// _script.sh in the command's orchestration folder and run with `sh -c <script>`
// (agent/plugins/runscript/runshellscript.go:32-34, runscript.go:178-195; Amazon Linux's sh is
// bash in POSIX mode); up to five documents at once per instance, the rest waiting
// (appconfig/constants.go:31 DefaultCommandWorkersLimit = 5); a command still running at its
// executionTimeout (default 3600, 5 to 172800: pluginutil/pluginutil.go:37-39, 154-156) has its
// process group killed and ends TimedOut (executers/executers.go:325-335, pluginutil_unix.go:40-47).
// One deviation, for the sandbox: the agent sets no HOME (its systemd unit has no User=), so
// `${HOME:-/root}` is /root there; here HOME is set to the folder that stands for /root, so that no
// command writes to this machine's own /root.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { BootstrapDownloads } from './bootstrap-downloads.ts'
import type { AwsHooks } from './faults.ts'

const STDOUT_LIMIT = 24_000
/** appconfig/constants.go:31 (DefaultCommandWorkersLimit). */
const WORKERS = 5
const STDERR_LIMIT = 8_000

interface Invocation {
  commandId: string
  instanceId: string
  status: 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut'
  responseCode: number
  stdout: string
  stderr: string
  requestedAt: number
}

interface HostOptions {
  /** The simulator's state directory: hosts live in DIR/hosts/<instance id>. */
  stateDir: string
  /** moto, where SendCommand is recorded. */
  motoUrl: string
  /** The AWS layer's own URL, which commands on the host use (known once it listens). */
  layerUrl: () => string
  /**
   * The instance's own simulated instance metadata service: an address of its own (the SDKs keep
   * only the host and port of AWS_EC2_METADATA_SERVICE_ENDPOINT), which answers for that instance
   * whatever else runs meanwhile.
   */
  imdsUrl: (instanceId: string) => Promise<string>
  region: string
  /** sim/bin and the host shims, then the machine's PATH. */
  path: string
  /** The simulator's checkout (its node_modules stand for what `npm ci` would download on the host). */
  root: string
  /** Whether an instance is one the simulator runs commands on (the runbook's bastions). */
  isHost: (instanceId: string) => Promise<boolean>
  /** Where the simulator's caller stands while a command runs on a host; restored afterwards. */
  callerDuring: <T>(instanceId: string, run: () => Promise<T>) => Promise<T>
  /** The bootstrap's downloads, served locally (sim/bootstrap-downloads.ts): bootstrap scripts are pointed at them. */
  downloads?: BootstrapDownloads
  /** From launch to cloud-init running the user data (knob userDataDelayMs). */
  userDataDelayMs?: () => number
}

export class SimulatedHosts {
  private readonly invocations = new Map<string, Invocation>()
  /** Per host: how many commands run, and those waiting for a worker, in the order sent. */
  private readonly workers = new Map<string, { running: number; waiting: (() => void)[] }>()

  constructor(private readonly o: HostOptions) {}

  hostDir(instanceId: string): string {
    return path.join(this.o.stateDir, 'hosts', instanceId)
  }

  hooks(): AwsHooks {
    return {
      serve: async (service, _method, action, body, authorization) => {
        if (service !== 'ssm') return undefined
        if (action === 'SendCommand') return this.send(body, authorization)
        if (action === 'GetCommandInvocation') {
          const b = JSON.parse(body || '{}') as { CommandId?: string; InstanceId?: string }
          const inv = this.invocations.get(`${b.CommandId}/${b.InstanceId}`)
          return inv ? { status: 200, body: this.describe(inv) } : undefined
        }
        return undefined
      },
    }
  }

  private async send(body: string, authorization: string) {
    // moto records the command (ListCommands shows it) and gives its id.
    const res = await fetch(this.o.motoUrl, {
      method: 'POST',
      headers: { authorization, 'x-amz-target': 'AmazonSSM.SendCommand', 'content-type': 'application/x-amz-json-1.1' },
      body,
    })
    const text = await res.text()
    const answer = { status: res.status, body: JSON.parse(text || '{}') as { Command?: { CommandId?: string } } }
    const b = JSON.parse(body || '{}') as {
      DocumentName?: string
      InstanceIds?: string[]
      Parameters?: { commands?: string[]; executionTimeout?: string[] }
    }
    const asked = Number(b.Parameters?.executionTimeout?.[0] ?? 3600)
    const timeoutS = Number.isFinite(asked) && asked >= 5 && asked <= 172_800 ? asked : 3600
    const commandId = answer.body.Command?.CommandId
    if (!res.ok || !commandId || b.DocumentName !== 'AWS-RunShellScript') return answer
    for (const id of b.InstanceIds ?? []) {
      if (!(await this.o.isHost(id))) continue
      const inv: Invocation = {
        commandId,
        instanceId: id,
        status: 'Pending',
        responseCode: -1,
        stdout: '',
        stderr: '',
        requestedAt: Date.now(),
      }
      this.invocations.set(`${commandId}/${id}`, inv)
      const script = this.localize((b.Parameters?.commands ?? []).join('\n'))
      void this.worker(id).then((done) =>
        this.o
          .callerDuring(id, () => this.run(inv, script, timeoutS * 1000))
          .catch((e: Error) => {
            // The host could not run it at all (its folder, say): SSM reports the command failed.
            inv.stderr += `${e.message}\n`
            inv.status = 'Failed'
            inv.responseCode = 1
          })
          .finally(done),
      )
    }
    return answer
  }

  /** Waits for one of the host's five workers; resolves with the function that frees it. */
  private worker(instanceId: string): Promise<() => void> {
    let w = this.workers.get(instanceId)
    if (!w) this.workers.set(instanceId, (w = { running: 0, waiting: [] }))
    const pool = w
    const release = () => {
      pool.running--
      pool.waiting.shift()?.()
    }
    if (pool.running < WORKERS) {
      pool.running++
      return Promise.resolve(release)
    }
    return new Promise((resolve) =>
      pool.waiting.push(() => {
        pool.running++
        resolve(release)
      }),
    )
  }

  /** A bootstrap script's downloads pointed at the local fixture (no traffic leaves the machine). */
  private localize(script: string): string {
    return this.o.downloads ? this.o.downloads.localize(script) : script
  }

  /** The environment of a process on the host: root's, with the folder standing for / (SIM_HOST_DIR). */
  private env(dir: string, imds: string): NodeJS.ProcessEnv {
    return {
      HOME: path.join(dir, 'root'),
      USER: 'root',
      PATH: `${path.join(dir, 'usr', 'local', 'bin')}:${this.o.path}`,
      LANG: 'C.UTF-8',
      AWS_REGION: this.o.region,
      AWS_DEFAULT_REGION: this.o.region,
      AWS_ENDPOINT_URL: this.o.layerUrl(),
      // The instance's role, as the SDKs and the AWS CLI find it on EC2.
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds,
      SIM_STATE_DIR: this.o.stateDir,
      SIM_ROOT: this.o.root,
      SIM_HOST_DIR: dir,
      // The simulator's name resolution for load balancers' hostnames (sim/dns.mjs), as on the simulator's own env.
      NODE_OPTIONS: `--import=${path.join(this.o.root, 'sim', 'dns.mjs')}`,
      BOOTSTRAP_PREFIX: path.join(dir, 'usr', 'local'),
      BOOTSTRAP_LOG: path.join(dir, 'var', 'log', 'scalardl-runbook-bootstrap.log'),
      NODE_NO_WARNINGS: '1',
      CI: 'true',
    }
  }

  /**
   * cloud-init on the instance's first boot: a user data script (one that starts with `#!`) runs
   * once per instance ("By default, user data scripts and cloud-init directives run only during the
   * boot cycle when you first launch an instance",
   * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html; cloud-init's `scripts-user`
   * module runs at frequency once-per-instance, its semaphore in
   * /var/lib/cloud/instances/<id>/sem/, cloud-init-per(1) "instance: run only once for a given
   * instance-id"), as root, late in boot: after the instance is `running`, so a command may reach
   * the host before the script has ended. Its output goes to /var/log/cloud-init-output.log;
   * status.json while it boots and result.json once done are what `cloud-init status` reads
   * (sim/hosts-bin/cloud-init). A script that exits non-zero is an error of the stage, and is not
   * run again: nothing retries it but a command sent to the instance.
   */
  boot(instanceId: string, userData: string): void {
    const dir = this.hostDir(instanceId)
    const instance = path.join(dir, 'var', 'lib', 'cloud', 'instances', instanceId)
    const sem = path.join(instance, 'sem', 'config_scripts_user')
    // A second answer for the same instance (a replayed ClientToken) boots nothing again.
    if (fs.existsSync(sem)) return
    for (const d of [path.dirname(sem), path.join(instance, 'scripts'), path.join(dir, 'run', 'cloud-init'), path.join(dir, 'var', 'log')])
      fs.mkdirSync(d, { recursive: true })
    fs.mkdirSync(path.join(dir, 'root'), { recursive: true })
    fs.mkdirSync(path.join(dir, 'usr', 'local', 'bin'), { recursive: true })
    fs.writeFileSync(sem, `${new Date().toISOString()}\n`)
    const status = path.join(dir, 'run', 'cloud-init', 'status.json')
    const result = path.join(dir, 'var', 'lib', 'cloud', 'data', 'result.json')
    fs.writeFileSync(status, JSON.stringify({ v1: { stage: 'modules-final', errors: [] } }))
    const finish = (errors: string[]) => {
      fs.mkdirSync(path.dirname(result), { recursive: true })
      fs.writeFileSync(result, JSON.stringify({ v1: { datasource: 'DataSourceEc2', errors } }, null, 1))
      fs.rmSync(status, { force: true })
    }
    const script = userData.startsWith('#!') ? this.localize(userData) : undefined
    const timer = setTimeout(async () => {
      if (!script) return finish([])
      const file = path.join(instance, 'scripts', 'part-001')
      fs.writeFileSync(file, script, { mode: 0o700 })
      let imds: string
      try {
        imds = await this.o.imdsUrl(instanceId)
      } catch (e) {
        return finish([`('scripts_user', RuntimeError('${(e as Error).message}'))`])
      }
      const out = fs.openSync(path.join(dir, 'var', 'log', 'cloud-init-output.log'), 'a')
      const child = spawn(file, [], { cwd: '/', env: this.env(dir, imds), stdio: ['ignore', out, out], detached: true })
      this.booting.add(child.pid!)
      const done = (errors: string[]) => {
        this.booting.delete(child.pid!)
        fs.closeSync(out)
        finish(errors)
      }
      child.on('error', (e) => done([`('scripts_user', RuntimeError('${e.message}'))`]))
      child.on('close', (code) =>
        done(code === 0 ? [] : [`('scripts_user', RuntimeError('Runparts: 1 failures (part-001) in 1 attempted commands'))`]),
      )
    }, this.o.userDataDelayMs?.() ?? 0)
    timer.unref()
  }

  /** User data scripts still running (their process groups), stopped with the simulator. */
  private readonly booting = new Set<number>()

  /** Stops the user data scripts still running (the simulator is going down). */
  stop(): void {
    for (const pid of this.booting) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // ended meanwhile
      }
    }
    this.booting.clear()
  }

  private async run(inv: Invocation, script: string, timeoutMs: number): Promise<void> {
    const dir = this.hostDir(inv.instanceId)
    const home = path.join(dir, 'root')
    const work = path.join(dir, 'var', 'lib', 'amazon', 'ssm', inv.commandId)
    for (const d of [home, work, path.join(dir, 'usr', 'local', 'bin'), path.join(dir, 'var', 'log')]) fs.mkdirSync(d, { recursive: true })
    const file = path.join(work, '_script.sh')
    fs.writeFileSync(file, script, { mode: 0o700 })
    const env = this.env(dir, await this.o.imdsUrl(inv.instanceId))
    inv.status = 'InProgress'
    return new Promise((resolve) => {
      // `sh -c <script>` as root in the command's folder; Amazon Linux's sh is bash, in POSIX mode when named sh.
      const child = spawn('bash', ['-c', file], {
        argv0: 'sh',
        detached: true,
        cwd: work,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      child.stdout.on('data', (d) => (inv.stdout += d))
      child.stderr.on('data', (d) => (inv.stderr += d))
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          // ended meanwhile
        }
      }, timeoutMs)
      child.on('error', (e) => {
        inv.stderr += `failed to run the command: ${e.message}\n`
        inv.responseCode = 1
        inv.status = 'Failed'
        resolve()
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        // Killed at the timeout: exit code 137 (CommandStoppedPreemptivelyExitCode), status TimedOut.
        inv.responseCode = timedOut ? 137 : (code ?? 1)
        inv.status = timedOut ? 'TimedOut' : code === 0 ? 'Success' : 'Failed'
        resolve()
      })
    })
  }

  private describe(inv: Invocation) {
    const ended = inv.status === 'Success' || inv.status === 'Failed' || inv.status === 'TimedOut'
    return {
      CommandId: inv.commandId,
      InstanceId: inv.instanceId,
      DocumentName: 'AWS-RunShellScript',
      PluginName: 'aws:runShellScript',
      ResponseCode: inv.responseCode,
      Status: inv.status,
      StatusDetails: inv.status,
      ExecutionStartDateTime: new Date(inv.requestedAt).toISOString(),
      StandardOutputContent: ended ? inv.stdout.slice(0, STDOUT_LIMIT) : '',
      StandardErrorContent: ended ? inv.stderr.slice(0, STDERR_LIMIT) : '',
    }
  }
}
