// The DynamoDB gateway endpoint: database traffic from private subnets stays off the NAT gateway.
import {
  CreateVpcEndpointCommand,
  DescribeVpcEndpointsCommand,
  ModifyVpcEndpointCommand,
  type EC2Client,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2'
import { requestToken, single } from './discover.ts'
import { roleFilters, tagSpec } from './tags.ts'

function dynamodbServiceName(region: string): string {
  return `com.amazonaws.${region}.dynamodb`
}

const LIVE = ['pendingAcceptance', 'pending', 'available']

export async function findDynamodbEndpoints(ec2: EC2Client, vpcId: string, region: string): Promise<VpcEndpoint[]> {
  const out = await ec2.send(
    new DescribeVpcEndpointsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'service-name', Values: [dynamodbServiceName(region)] },
        { Name: 'vpc-endpoint-state', Values: LIVE },
      ],
    }),
  )
  return out.VpcEndpoints ?? []
}

export async function findOwnDynamodbEndpoint(ec2: EC2Client, cluster: string, vpcId: string): Promise<VpcEndpoint | undefined> {
  const out = await ec2.send(
    new DescribeVpcEndpointsCommand({
      Filters: [
        ...roleFilters(cluster, 'dynamodb-endpoint'),
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'vpc-endpoint-state', Values: LIVE },
      ],
    }),
  )
  return single(out.VpcEndpoints ?? [], 'DynamoDB endpoints', (e) => e.VpcEndpointId)
}

export async function createDynamodbEndpoint(
  ec2: EC2Client,
  o: { cluster: string; region: string; vpcId: string; routeTableIds: string[] },
): Promise<VpcEndpoint> {
  const input = {
    VpcId: o.vpcId,
    ServiceName: dynamodbServiceName(o.region),
    VpcEndpointType: 'Gateway' as const,
    RouteTableIds: o.routeTableIds,
    TagSpecifications: tagSpec('vpc-endpoint', { cluster: o.cluster, role: 'dynamodb-endpoint', name: `${o.cluster}-dynamodb` }),
  }
  const out = await ec2.send(new CreateVpcEndpointCommand({ ...input, ClientToken: requestToken(input) }))
  return out.VpcEndpoint!
}

export async function addEndpointRouteTables(ec2: EC2Client, endpointId: string, routeTableIds: string[]): Promise<void> {
  await ec2.send(new ModifyVpcEndpointCommand({ VpcEndpointId: endpointId, AddRouteTableIds: routeTableIds }))
}
