// What a network is built for: the Ledger's (01-vpc) and the Auditor's (05-auditor), with the
// same tasks.
import type { Instance, InternetGateway, NatGateway, RouteTable, Subnet, Vpc } from '@aws-sdk/client-ec2'
import type { Config } from '../config/load.ts'
import type { TaskContext } from '../engine/task.ts'

export interface NetworkTarget {
  /** The tag value scalardl-runbook/cluster, and the prefix of every Name. */
  cluster: string
  vpcCidr: string
  natGateways: 'single' | 'per-az'
  bastion: Config['bastion']
  apiAccessFrom?: Config['apiAccessFrom']
  /** The cluster whose bastion operates this one through a peering (the Auditor's: the Ledger's). */
  peerBastionOf?: string
}

export interface NetworkState {
  azs: string[]
  vpc?: Vpc
  subnets: Subnet[]
  igw?: InternetGateway
  nats: NatGateway[]
  routeTables: RouteTable[]
  bastionSgId?: string
  controlPlaneSgId?: string
  /** The security group of the peer cluster's bastion (peerBastionOf), admitted by the control plane. */
  peerBastionSgId?: string
  bastion?: Instance
}

export function emptyNetworkState(): NetworkState {
  return { azs: [], subnets: [], nats: [], routeTables: [] }
}

export type TargetOf = (ctx: TaskContext) => NetworkTarget

/** The network of a configuration's view: the Ledger's (01-vpc), or the Auditor's in its view (05-auditor). */
export function networkOf(config: Config): NetworkTarget {
  return {
    cluster: config.clusterName,
    vpcCidr: config.vpcCidr,
    natGateways: config.natGateways,
    bastion: config.bastion,
    apiAccessFrom: config.apiAccessFrom,
    peerBastionOf: config.bastionOf,
  }
}

/** The AZs that get a NAT gateway: the first one, or all. */
export function natZones(t: NetworkTarget, azs: string[]): string[] {
  return t.natGateways === 'per-az' ? azs : azs.slice(0, 1)
}
