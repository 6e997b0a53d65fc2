// ScalarDB's DynamoDB settings for the schema loader and the Ledger: one source for 02-database's
// record and 04-scalardl's values. Credentials are never here: they come from a Secret through
// the environment (${env:...}).
import type { Config } from '../config.ts'

export function databaseProperties(c: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL
  return [
    'scalar.db.storage=dynamo',
    `scalar.db.contact_points=${c.region}`,
    'scalar.db.username=${env:SCALAR_DB_USERNAME}',
    'scalar.db.password=${env:SCALAR_DB_PASSWORD}',
    ...(c.dynamodbNamespacePrefix ? [`scalar.db.dynamo.namespace.prefix=${c.dynamodbNamespacePrefix}`] : []),
    // Set only for rehearsals against a local endpoint.
    ...(endpoint ? [`scalar.db.dynamo.endpoint_override=${endpoint}`] : []),
  ]
}
