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
} as const

/** The daemon's arguments for the options given in `values`. */
export function daemonArgs(values: Record<string, string | boolean | string[] | undefined>): string[] {
  return Object.entries(DAEMON_OPTIONS).flatMap(([name, o]) => {
    const v = values[name]
    if (v === undefined || v === false) return []
    return o.type === 'boolean' ? [`--${name}`] : [`--${name}`, String(v)]
  })
}
