// Step 5 of "Scalar DL on AWS" (optional): Scalar DL Auditor, in its own VPC and EKS cluster,
// peered with the Ledger. The Auditor's network, database endpoint, cluster and releases are made
// by the same tasks as steps 1 to 4, on the Auditor's view of the configuration; the peering,
// the envoy security groups, the Ledger's switch to Auditor mode and the mutual certificate
// registration are this step's own.
import { boundaryTask } from '../lib/iam/boundary-task.ts'
import { certificatesTask, keyFilesTask, ledgerPrerequisiteTask, type AuditorState } from '../lib/auditor/tasks.ts'
import { clientVpcProblems, peeringRoutesTask, peeringTask } from '../lib/auditor/peering.ts'
import { auditorView, ledgerView, scoped } from '../lib/auditor/view.ts'
import { gatewayEndpointTask } from '../lib/database/dynamodb.ts'
import {
  clusterConfigTask,
  clusterTask,
  kubeconfigTask,
  networkTask,
  poolNodegroupTask,
  poolNodesReadyTask,
  systemNodegroupTask,
  taintTask,
} from '../lib/eks/tasks.ts'
import { STEP_FLAGS } from '../lib/engine/steps.ts'
import { isMain } from '../lib/engine/main.ts'
import { clusterMonitoringTasks } from '../lib/monitoring/cluster.ts'
import { controlPlaneSecurityGroupTask } from '../lib/network/access.ts'
import { availabilityZonesTask, internetGatewayTask, subnetsTask, vpcTask } from '../lib/network/core.ts'
import { natGatewaysAvailableTask, natGatewaysTask } from '../lib/network/nat.ts'
import { privateRoutesTask, publicRoutesTask } from '../lib/network/routes.ts'
import { emptyNetworkState, networkOf } from '../lib/network/target.ts'
import { runStep } from '../lib/engine/runner.ts'
import {
  auditorReleaseTask,
  auditorValuesTask,
  dbSecretTask,
  keysSecretTask,
  ledgerReleaseTask,
  ledgerValuesTask,
  namespaceTask,
  pullSecretTask,
  repoTask,
  schemaReleaseTask,
  schemaValuesTask,
} from '../lib/scalardl/tasks.ts'
import { certificateProblems, credentialProblems, keyProblems, licenceProblems } from '../lib/scalardl/validate.ts'
import { valuesProblems } from '../lib/scalardl/values.ts'
import { accessEntriesTask, clusterAccessProblems } from '../lib/eks/access.ts'
import { deletionProtectionTask } from '../lib/database/protection.ts'
import { defineStep, sideBySide } from '../lib/engine/task.ts'

const network = (ctx: { config: Parameters<typeof networkOf>[0] }) => networkOf(ctx.config)
const auditor = <T>(state: (s: AuditorState) => T) => ({ label: 'Auditor: ', config: auditorView, state })
const ledger = <T>(state: (s: AuditorState) => T) => ({ label: 'Ledger: ', config: ledgerView, state })
const net = auditor((s) => s.network)
const eks = auditor((s) => s.eks)
const app = auditor((s) => s.scalar)

const peers = { label: '', config: ledgerView, state: (s: AuditorState) => s.peering }
/** Guide Step 5.2: peering and routes (who may reach each envoy is its Service's source ranges, in its values). */
const peering = [scoped(peers, peeringTask()), scoped(peers, peeringRoutesTask())]
/**
 * Guide Step 5.1: the Auditor's environment, as steps 1 to 3 made the Ledger's, and Step 5.2's
 * peering. The Auditor's API endpoint is private: the Ledger's bastion reaches it only through the
 * peering, its routes and the control-plane rule for the Ledger VPC, and eksctl waits for the
 * control plane through that API. So the peering and routes are made while the control plane is
 * being made (minutes on AWS; eksctl waits up to 25 for it to answer), after the NAT gateway and
 * the private route tables the routes go in.
 */
const environment = [
  scoped(net, availabilityZonesTask(network)),
  scoped(net, vpcTask(network)),
  scoped(net, subnetsTask(network, 'public')),
  scoped(net, subnetsTask(network, 'private')),
  scoped(net, internetGatewayTask(network)),
  scoped(net, natGatewaysTask(network, { wait: false })),
  scoped(net, publicRoutesTask(network)),
  scoped(net, controlPlaneSecurityGroupTask(network)),
  scoped(eks, networkTask()),
  scoped(eks, boundaryTask()),
  scoped(eks, clusterConfigTask()),
  sideBySide(
    [scoped(eks, clusterTask()), scoped(eks, accessEntriesTask())],
    [
      scoped(net, natGatewaysAvailableTask(network)),
      scoped(net, privateRoutesTask(network)),
      scoped(
        auditor((s) => s.database),
        gatewayEndpointTask(),
      ),
      ...peering,
    ],
  ),
  scoped(net, controlPlaneSecurityGroupTask(network, { narrowed: true })),
]
const nodes = [
  scoped(eks, poolNodegroupTask()),
  scoped(eks, systemNodegroupTask()),
  scoped(eks, kubeconfigTask()),
  scoped(eks, poolNodesReadyTask()),
  scoped(eks, taintTask()),
]
/** The Ledger in Auditor mode: ledger-keys with its certificate, ledgerAuditorEnabled, the envoy's source ranges. */
const ledgerAuditorMode = [
  scoped(
    ledger((s) => s.ledger),
    keysSecretTask('Secret ledger-keys (private key and certificate)'),
  ),
  scoped(
    ledger((s) => s.ledger),
    ledgerValuesTask(),
  ),
  scoped(
    ledger((s) => s.ledger),
    ledgerReleaseTask(),
  ),
]
/** 06's tasks on the Auditor's view. */
const monitoring = clusterMonitoringTasks().map((t) =>
  scoped(
    auditor(() => ({})),
    t,
  ),
)
/** The Auditor's secrets and schema: they need its cluster and the database, nothing of the Ledger. */
const auditorSetup = [
  scoped(app, namespaceTask()),
  sideBySide(
    scoped(app, pullSecretTask()),
    scoped(app, keysSecretTask('Secret auditor-keys (private key and certificate)')),
    scoped(app, dbSecretTask()),
  ),
  scoped(app, schemaValuesTask()),
  scoped(app, schemaReleaseTask()),
  scoped(app, deletionProtectionTask()),
]
const auditorRelease = [scoped(app, auditorValuesTask()), scoped(app, auditorReleaseTask())]

export const step = defineStep<AuditorState>({
  name: '05-auditor',
  description: 'Step 5: Scalar DL Auditor in its own VPC and EKS cluster, peered with the Ledger',
  state: () => ({
    network: emptyNetworkState(),
    database: { privateRouteTableIds: [] },
    peering: { connections: [] },
    eks: { nodegroups: [] },
    ledger: { poolNodes: 0 },
    scalar: { poolNodes: 0 },
  }),
  ...STEP_FLAGS['05-auditor'],
  validate(config, flags) {
    const c = config
    const gen = Boolean(flags['generate-keys'])
    if (!c.auditor.enabled)
      return [
        {
          key: 'AUDITOR_ENABLED',
          message: 'is false: 05-auditor deploys the Auditor only when it is enabled',
          fix: 'set AUDITOR_ENABLED=true (and AUDITOR_* as .env.example shows), or skip this optional step',
        },
      ]
    const why = 'with AUDITOR_ENABLED=true'
    const systemNodes =
      c.systemNodeCount === 0 && !flags['allow-no-system-nodes']
        ? [
            {
              key: 'SYSTEM_NODE_COUNT',
              message: "is 0: the Auditor's schema-loading Job and CoreDNS need untainted nodes",
              fix: 'set SYSTEM_NODE_COUNT=2, or pass --allow-no-system-nodes',
            },
          ]
        : []
    const auditorFiles = [
      ...keyProblems('AUDITOR_PRIVATE_KEY_FILE', c.auditor.privateKeyFile, '--generate-keys', gen, why),
      ...certificateProblems('AUDITOR_CERTIFICATE_FILE', c.auditor.certificateFile, c.auditor.privateKeyFile, gen, why),
    ]
    if (flags.prepare && flags.prepared)
      return [
        {
          key: '--prepare',
          message: 'and --prepared exclude each other: the first does the part that needs nothing of the Ledger, the second the rest',
          fix: 'run 05-auditor --prepare, then 05-auditor --prepared; or 05-auditor alone for all of it',
        },
      ]
    const auditorOnly = [
      ...credentialProblems(c),
      ...licenceProblems(c),
      ...valuesProblems(auditorView(c)),
      ...auditorFiles,
      ...systemNodes,
    ]
    if (flags.prepare) return auditorOnly // the Ledger's key is 04's, made later
    return [
      ...auditorOnly,
      // LEDGER_PROOF_ENABLED=true is the configuration's own rule with AUDITOR_ENABLED (lib/config/load.ts).
      ...keyProblems('LEDGER_PRIVATE_KEY_FILE', c.scalardl.privateKeyFile, '--generate-ledger-key of 04-scalardl', false, why),
      ...certificateProblems('LEDGER_CERTIFICATE_FILE', c.auditor.ledgerCertificateFile, c.scalardl.privateKeyFile, gen, why),
    ]
  },
  // The client VPCs, and whether this principal may use the Ledger's cluster (and the Auditor's, once it exists).
  preflight: async (ctx) => [
    ...(await clientVpcProblems(ctx)),
    ...(await clusterAccessProblems(ctx)),
    ...(await clusterAccessProblems({ ...ctx, config: auditorView(ctx.config) })),
  ],
  // --prepare: the Auditor's part that needs nothing of the Ledger, locking only the Auditor's
  // cluster: `npm run deploy` runs it while steps 1 to 4 build the Ledger's (both clusters take
  // minutes on AWS). 06 then finds the Auditor's monitoring done, and 05 its secrets and schema.
  variants: {
    prepare: [scoped(app, repoTask()), keyFilesTask(true), ...environment, ...nodes, sideBySide(monitoring, auditorSetup)],
    // (The chart repository, the peering and its routes were made by --prepare.)
    prepared: [sideBySide(keyFilesTask(), ledgerPrerequisiteTask()), sideBySide(ledgerAuditorMode, auditorRelease), certificatesTask()],
  },
  locks: (c, flags) => (flags.prepare ? [c.auditor.clusterName] : [c.clusterName, c.auditor.clusterName]),
  tasks: [
    sideBySide(keyFilesTask(), ledgerPrerequisiteTask()),
    ...environment,
    // The Auditor's nodes (eksctl, kubectl) beside the chart repository (before helm works in both clusters at once, below).
    sideBySide(nodes, scoped(app, repoTask())),
    // Guide Step 5.3: the Ledger in Auditor mode beside the Auditor's install (it needs only the
    // Ledger's endpoint); then each registers its certificate with the other.
    sideBySide(ledgerAuditorMode, [...auditorSetup, ...auditorRelease]),
    certificatesTask(),
  ],
  report: (result, _ctx, s) =>
    s.scalar.envoyHostname && result.status !== 'failed'
      ? `\n  Scalar DL Auditor endpoint (envoy EXTERNAL-IP): ${s.scalar.envoyHostname}  ports 40051, 40052`
      : undefined,
})

if (isMain(import.meta.url, '05-auditor')) await runStep(step)
