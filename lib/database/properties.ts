// ScalarDB's DynamoDB settings for the schema loader and the Scalar DL servers: one source for
// 02-database's record and the values of 04/05. Credentials are never written here: the
// properties name environment variables that the credentials Secret fills (its keys
// SCALAR_DB_USERNAME and SCALAR_DB_PASSWORD, given to each container with the chart's
// `secretName`, i.e. envFrom). Each image resolves them its own way:
// - 'dockerize': the images' entrypoints render the mounted file as a Go template first
//   (`{{ default .Env.X "" }}`), the form Scalar's docs give for the schema loader
//   (helm-charts docs/use-secret-for-credentials.md:96-104);
// - 'scalardl': ScalarDL itself resolves `${env:X}` when it reads its properties
//   (scalardl v3.13.0 common/.../config/ConfigUtils.java:30-39).
import type { Config } from '../config/load.ts'

type EnvSyntax = 'dockerize' | 'scalardl'

/** The environment variables the credentials Secret provides (its keys). */
export const DB_ENV = { username: 'SCALAR_DB_USERNAME', password: 'SCALAR_DB_PASSWORD' } as const

/** A reference to an environment variable in the syntax the reading image resolves. */
export const envRef = (name: string, syntax: EnvSyntax) => (syntax === 'dockerize' ? `{{ default .Env.${name} "" }}` : `\${env:${name}}`)

export function databaseProperties(c: Config, syntax: EnvSyntax = 'scalardl', env: NodeJS.ProcessEnv = process.env): string[] {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL
  return [
    'scalar.db.storage=dynamo',
    `scalar.db.contact_points=${c.region}`,
    `scalar.db.username=${envRef(DB_ENV.username, syntax)}`,
    `scalar.db.password=${envRef(DB_ENV.password, syntax)}`,
    ...(c.dynamodbNamespacePrefix ? [`scalar.db.dynamo.namespace.prefix=${c.dynamodbNamespacePrefix}`] : []),
    // Set only for rehearsals against a local endpoint.
    ...(endpoint ? [`scalar.db.dynamo.endpoint_override=${endpoint}`] : []),
  ]
}
