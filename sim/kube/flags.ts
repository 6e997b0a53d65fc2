// The simulator daemon's options: `sim/cli.ts up` accepts them and passes on those given, and the
// daemon (sim/kube/daemon.ts) parses them. One list, so an option cannot be added to one side only.
export const DAEMON_OPTIONS = {
  'server-minor': { type: 'string' },
  'watch-max-seconds': { type: 'string' },
  'pod-start-ms': { type: 'string' },
  'job-duration-ms': { type: 'string' },
  'lb-delay-ms': { type: 'string' },
  'fail-jobs': { type: 'string' },
  'cloudwatch-interval-ms': { type: 'string' },
  faults: { type: 'string' },
  'api-faults': { type: 'string' },
  'pending-ms': { type: 'string' },
  'aws-delays': { type: 'boolean' },
  'delay-scale': { type: 'string' },
  'fault-seed': { type: 'string' },
  caller: { type: 'string' },
  /** VERSION=STATUS, for example 1.35=EXTENDED_SUPPORT: what DescribeClusterVersions says of it (sim/eks-versions.ts). */
  'eks-version-status': { type: 'string', multiple: true },
  /** SERVICE/CODE=VALUE, for example ec2/L-0263D0A3=2: the quota applied to the account (sim/service-quotas.ts). */
  quota: { type: 'string', multiple: true },
  /** How long a new EKS access entry takes to be effective (default 2000: EKS says "several seconds"; sim/eks-access.ts). */
  'access-entry-delay-ms': { type: 'string' },
  /** From a bastion's launch (once running) to cloud-init running its user data, in ms (default 1000; sim/ssm-hosts.ts). */
  'user-data-delay-ms': { type: 'string' },
  /** 404:TOOL or checksum:TOOL: that download of the bastion's bootstrap fails; '' repairs it (sim/bootstrap-downloads.ts). */
  'bootstrap-fault': { type: 'string' },
} as const

/** KEY=VALUE pairs of a repeated option, as a record. */
export function pairs(list: string[] | undefined, what: string): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((p) => {
      const i = p.indexOf('=')
      if (i < 1) throw new Error(`${what} must look like KEY=VALUE: ${p}`)
      return [p.slice(0, i), p.slice(i + 1)]
    }),
  )
}

/** The daemon's arguments for the options given in `values`. */
export function daemonArgs(values: Record<string, string | boolean | string[] | undefined>): string[] {
  return Object.entries(DAEMON_OPTIONS).flatMap(([name, o]) => {
    const v = values[name]
    if (v === undefined || v === false) return []
    if (Array.isArray(v)) return v.flatMap((x) => [`--${name}`, x])
    return o.type === 'boolean' ? [`--${name}`] : [`--${name}`, String(v)]
  })
}
