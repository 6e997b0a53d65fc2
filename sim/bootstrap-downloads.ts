// The bastion bootstrap's downloads on a simulated host (sim/ssm-hosts.ts): no traffic leaves the
// machine, so Node.js, kubectl, helm and eksctl come from a local fixture, served by the simulator
// at /downloads/ with its own manifest of the fixtures' checksums. A bootstrap script that reaches
// a simulated host (the instance's user data, or an SSM command) has each `install_tool NAME VERSION
// KIND URL SHA256 [MEMBER]` line (bastion/bootstrap.sh) pointed at its fixture: the same archive
// layout (a bare program, a .tar.gz with MEMBER, Node.js's .tar.xz with its top folder), so that
// the real script downloads, checks and installs it as it would the real one. The fixtures are
// tiny programs that run this machine's own tool (kubectl, node, npm, npx) or the simulator's
// stand-in (helm, eksctl), so a host is usable once, and only once, its bootstrap has installed them.
// Knob `bootstrapFault` (`--bootstrap-fault 404:TOOL|checksum:TOOL`) breaks one download: a 404
// (curl -f fails) or bytes that do not match the checksum; '' repairs it.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

type ToolKind = 'bin' | 'tar.gz' | 'node'

interface Download {
  /** The file's name under the downloads folder (and the URL's last part). */
  file: string
  sha256: string
}

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex')

function program(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text, { mode: 0o755 })
}

/**
 * One download in the layout bootstrap.sh expects for KIND: `bin` the program itself, `tar.gz` an
 * archive holding it at MEMBER, `node` Node.js's .tar.xz with bin/node, bin/npm and bin/npx under
 * the folder MEMBER. `body(p)` is the text of the program p.
 */
function buildDownload(dir: string, name: string, kind: ToolKind, member: string | undefined, body: (p: string) => string): Download {
  const key = createHash('sha256')
    .update([name, kind, member ?? '', body(name)].join('\0'))
    .digest('hex')
    .slice(0, 12)
  const file = `${name}-${key}${kind === 'bin' ? '' : kind === 'node' ? '.tar.xz' : '.tar.gz'}`
  const out = path.join(dir, file)
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true })
    const stage = fs.mkdtempSync(path.join(dir, '.stage-'))
    if (kind === 'bin') program(`${out}.tmp`, body(name))
    else if (kind === 'tar.gz') {
      program(path.join(stage, member ?? name), body(name))
      execFileSync('tar', ['-czf', `${out}.tmp`, '-C', stage, member ?? name])
    } else {
      for (const p of ['node', 'npm', 'npx']) program(path.join(stage, member!, 'bin', p), body(p))
      execFileSync('tar', ['-cJf', `${out}.tmp`, '-C', stage, member!])
    }
    fs.rmSync(stage, { recursive: true, force: true })
    fs.renameSync(`${out}.tmp`, out)
  }
  return { file, sha256: sha(out) }
}

/** The words of a line of shell, as shellQuote wrote them ('...' with '\'' for a quote). */
function words(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'\\'')*)'/g)].map((m) => m[1]!.replace(/'\\''/g, "'"))
}
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export class BootstrapDownloads {
  /** Tool name -> the file served for it (for faults). */
  private readonly tools = new Map<string, string>()

  constructor(
    private readonly o: {
      /** Where the fixtures are built. */
      dir: string
      /** The URL the downloads are served at (known once the simulator listens). */
      baseUrl: () => string
      /** `404:TOOL`, `checksum:TOOL`, or '' (knob bootstrapFault). */
      fault: () => string
      /** The text of the fixture program for a tool (node, npm, npx, kubectl, helm, eksctl). */
      body: (tool: string) => string
    },
  ) {}

  /** The script with each install_tool line pointed at its local fixture and the fixture's checksum. */
  localize(script: string): string {
    return script.replace(/^install_tool (.*)$/gm, (line, rest: string) => {
      const [name, version, kind, , , member] = words(rest)
      if (!name || !version || !['bin', 'tar.gz', 'node'].includes(kind ?? '')) return line
      const d = buildDownload(this.o.dir, name, kind as ToolKind, member, this.o.body)
      this.tools.set(name, d.file)
      const url = `${this.o.baseUrl()}/${d.file}`
      return `install_tool ${[name, version, kind!, url, d.sha256, ...(member ? [member] : [])].map(quote).join(' ')}`
    })
  }

  /** GET /downloads/FILE: the fixture, unless a fault breaks it. */
  serve(file: string): { status: number; body?: Buffer } {
    const p = path.join(this.o.dir, path.basename(file))
    if (!fs.existsSync(p) || file.startsWith('.')) return { status: 404 }
    const [kind, tool] = this.o.fault().split(':')
    const broken = tool && this.tools.get(tool) === path.basename(file)
    if (broken && kind === '404') return { status: 404 }
    const body = fs.readFileSync(p)
    // Bytes that are not the ones the checksum was made of (a truncated or tampered download).
    if (broken && kind === 'checksum') return { status: 200, body: Buffer.concat([body, Buffer.from('\n# not the pinned bytes\n')]) }
    return { status: 200, body }
  }
}
