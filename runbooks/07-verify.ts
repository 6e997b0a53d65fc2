// Step 7 of "Scalar DL on AWS": the guide's confirmation checklist, the on-call script. Every
// check in checks/ runs at once, each with its own timeout; changes nothing.
import { auditorCheck } from '../checks/auditor.ts'
import { envoyCheck } from '../checks/envoy.ts'
import { frontDoorCheck } from '../checks/health.ts'
import { logsCheck } from '../checks/logs.ts'
import { metricsCheck } from '../checks/metrics.ts'
import { nodesCheck } from '../checks/nodes.ts'
import { peeringCheck } from '../checks/peering.ts'
import { podsCheck } from '../checks/pods.ts'
import { releasesCheck } from '../checks/releases.ts'
import { tablesCheck } from '../checks/tables.ts'
import { isMain } from '../lib/engine/main.ts'
import { verify } from '../lib/verify/runner.ts'

// auditor and peering apply with AUDITOR_ENABLED=true (05-auditor).
export const CHECKS = [
  tablesCheck,
  podsCheck,
  nodesCheck,
  envoyCheck,
  frontDoorCheck,
  logsCheck,
  metricsCheck,
  releasesCheck,
  auditorCheck,
  peeringCheck,
]

if (isMain(import.meta.url, '07-verify')) await verify(CHECKS)
