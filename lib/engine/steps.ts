// The numbered steps and their own flags (beyond the common ones of lib/engine/args.ts), in one table:
// each step parses and documents its flags from here, and `npm run deploy` routes a flag to the
// steps that take it without loading them.
export interface StepFlags {
  /** Boolean flags: name -> description. */
  flags?: Record<string, string>
  /** Flags with a value: name -> "VALUE  description". */
  stringFlags?: Record<string, string>
}

export const STEP_FLAGS = {
  '00-preflight': {},
  '01-vpc': {},
  '02-database': {},
  '03-eks': {
    flags: { 'allow-no-system-nodes': 'accept SYSTEM_NODE_COUNT=0 (only tainted nodes: CoreDNS and the schema Job cannot run)' },
  },
  '04-scalardl': {
    flags: { 'generate-ledger-key': 'create LEDGER_PRIVATE_KEY_FILE (EC P-256, mode 600) when it does not exist' },
  },
  '05-auditor': {
    flags: {
      'generate-keys':
        'create the missing AUDITOR_PRIVATE_KEY_FILE, and self-signed AUDITOR_CERTIFICATE_FILE and LEDGER_CERTIFICATE_FILE (EC P-256, mode 600)',
      'allow-no-system-nodes': 'accept SYSTEM_NODE_COUNT=0 in the Auditor cluster too',
      prepare:
        "only the Auditor's part that needs nothing of the Ledger's release: its VPC, the peering with the Ledger's VPC (made by 01-vpc), EKS cluster, nodes, monitoring, secrets and schema (locks only the Auditor's cluster)",
      prepared:
        'the rest of 05 after a successful --prepare, without checking again what it made (npm run deploy runs 05 so, right after 05 --prepare in the same run)',
    },
  },
  '06-monitoring': {},
  '07-verify': {
    stringFlags: {
      only: 'NAME,NAME  run only these checks',
      report: 'FILE.md  also write a Markdown report to paste into an incident',
      settle:
        'SECONDS  rerun the checks of data still arriving (logs, metrics) while they fail, for up to SECONDS, saying what it waits for (npm run deploy and the rehearsal end so: CloudWatch data of a new deployment takes minutes)',
      watch:
        'SECONDS  after the checklist, run it again every SECONDS and print what changed (watching a recovery); Ctrl-C ends it with the last exit code',
    },
  },
  '99-teardown': {
    flags: {
      'delete-data':
        'also delete the Scalar DL DynamoDB tables (after an on-demand backup of each), with their auto scaling (scalable targets, policies, alarms)',
      'skip-backup': 'with --delete-data: do not back the tables up first',
      'delete-logs': 'also delete the CloudWatch log groups of the cluster',
      'keep-bastion': 'leave the bastion and the VPC it is in, for a final run from another host (needed when run on the bastion itself)',
      'delete-lock-table':
        'at the end of a full teardown, also delete the run-lock table scalardl-runbook-locks, unless another deployment has a lock in it (named)',
    },
    stringFlags: { confirm: 'NAME  with --yes: the cluster name, to confirm without a terminal' },
  },
} as const satisfies Record<string, StepFlags>

export type StepName = keyof typeof STEP_FLAGS

/** A step's own flags, as the shape every entry has. */
export const flagsOf = (step: StepName): StepFlags => STEP_FLAGS[step]
