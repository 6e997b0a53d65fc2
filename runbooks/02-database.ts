// Step 2 of "Scalar DL on AWS": the database. Scalar DL on DynamoDB: reachability, a gateway
// endpoint so database traffic skips the NAT gateway, existing tables reported (never touched),
// the database key checked against them, and the settings the schema loader needs.
import {
  databaseKeyTask,
  existingTablesTask,
  gatewayEndpointTask,
  reachableTask,
  schemaLoaderSettingsTask,
  type DatabaseState,
} from '../lib/database/dynamodb.ts'
import { isMain } from '../lib/engine/main.ts'
import { runStep } from '../lib/engine/runner.ts'
import { defineStep } from '../lib/engine/task.ts'

export const step = defineStep<DatabaseState>({
  name: '02-database',
  description: 'Step 2: database (DynamoDB) ready for Scalar DL',
  state: () => ({ privateRouteTableIds: [] }),
  tasks: [reachableTask(), gatewayEndpointTask(), existingTablesTask(), databaseKeyTask(), schemaLoaderSettingsTask()],
})

if (isMain(import.meta.url, '02-database')) await runStep(step)
