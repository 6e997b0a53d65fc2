// The bastion's tools (the guide's Step 1): bastion/bootstrap.sh with one line per pinned tool of
// bastion/tools.json, rendered for a Kubernetes version. Its version (a hash of what it installs)
// is written by the script itself, last, in its marker on the bastion (`bootstrap-version`), which
// 01-vpc reads through SSM Run Command (bootstrap-state.ts); the instance's `scalardl-runbook/bootstrap`
// tag records the version it was launched or last bootstrapped with.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT } from '../engine/root.ts'

interface ToolPin {
  version: string
  url: string
  sha256: string
  kind: 'bin' | 'tar.gz' | 'node'
  member?: string
  source: string
}

export interface ToolsManifest {
  node: ToolPin
  kubectl: Record<string, ToolPin>
  helm: ToolPin
  eksctl: ToolPin
  packages: Record<string, string>
}

const MANIFEST_FILE = path.join(ROOT, 'bastion', 'tools.json')
const SCRIPT_FILE = path.join(ROOT, 'bastion', 'bootstrap.sh')
export const BOOTSTRAP_TAG = 'scalardl-runbook/bootstrap'

export function loadManifest(file = MANIFEST_FILE): ToolsManifest {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ToolsManifest
}

const minor = (v: string) => Number(v.split('.')[1])

/** The pinned kubectl for a cluster version: the same minor, else the nearest within one (kubectl's supported skew). */
export function kubectlFor(m: ToolsManifest, kubernetesVersion: string): ToolPin | undefined {
  const want = minor(kubernetesVersion)
  const pins = Object.entries(m.kubectl)
    .filter(([v]) => Math.abs(minor(v) - want) <= 1)
    .sort(([a], [b]) => Math.abs(minor(a) - want) - Math.abs(minor(b) - want) || minor(b) - minor(a))
  return pins[0]?.[1]
}

export interface Bootstrap {
  /** The whole script, as user data or an SSM command. */
  script: string
  /** What the bastion is tagged with once it ran. */
  version: string
  tools: Record<string, string>
}

/** A word for the shell, in single quotes (the scripts sent to the bastion are built with it). */
export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const q = shellQuote
const line = (name: string, p: ToolPin) =>
  `install_tool ${[name, p.version, p.kind, p.url, p.sha256, ...(p.member ? [p.member] : [])].map(q).join(' ')}`

/** The bootstrap for a cluster version, or why there is none (no kubectl pinned within one minor). */
export function renderBootstrap(
  kubernetesVersion: string,
  m = loadManifest(),
  template = fs.readFileSync(SCRIPT_FILE, 'utf8'),
): Bootstrap | string {
  const kubectl = kubectlFor(m, kubernetesVersion)
  if (!kubectl)
    return `bastion/tools.json pins no kubectl within one minor of KUBERNETES_VERSION ${kubernetesVersion} (it has ${Object.keys(m.kubectl).join(', ')})`
  const tools = { node: m.node, kubectl, helm: m.helm, eksctl: m.eksctl }
  const lines = [
    ...Object.entries(tools).map(([name, p]) => line(name, p)),
    ...Object.entries(m.packages).map(([command, pkg]) => `ensure_package ${q(command)} ${q(pkg)}`),
  ]
  const version = createHash('sha256')
    .update([template, ...lines].join('\n'))
    .digest('hex')
    .slice(0, 16)
  // The version after the first line (#!/bin/bash), so that the script can say which one failed.
  const head = template.replace(/^(#![^\n]*\n)?/, (first) => `${first}BOOTSTRAP_VERSION=${q(version)}\n`)
  return {
    script: `${head}${lines.join('\n')}\ndone_version ${q(version)}\n`,
    version,
    tools: Object.fromEntries(Object.entries(tools).map(([n, p]) => [n, p.version])),
  }
}
