// Step 2 with DynamoDB: nothing to provision by hand (the schema loader creates the tables in
// 04-scalardl), but the account must reach DynamoDB, private subnets should reach it through a
// gateway endpoint instead of the NAT gateway, and the schema loader needs its settings.
import fs from 'node:fs'
import path from 'node:path'
import { DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import type { Vpc } from '@aws-sdk/client-ec2'
import { AUDITOR_TABLES, LEDGER_TABLES, scalarTables } from './tables.ts'
import { findRouteTables, matchRouteTables } from '../aws/route-tables.ts'
import { addEndpointRouteTables, createDynamodbEndpoint, findDynamodbEndpoints, findOwnDynamodbEndpoint } from '../aws/vpc-endpoint.ts'
import { findVpc } from '../aws/vpc.ts'
import type { Config } from '../config/load.ts'
import type { Task } from '../engine/task.ts'
import { writePrivateFile } from '../engine/files.ts'
import { databaseProperties } from './properties.ts'

export interface DatabaseState {
  vpc?: Vpc
  privateRouteTableIds: string[]
}

export function reachableTask(): Task<DatabaseState> {
  return {
    title: 'DynamoDB reachable in the region',
    async check(ctx) {
      await ctx.aws.dynamodb.send(new ListTablesCommand({ Limit: 1 }))
      return { holds: true, detail: `dynamodb.${ctx.config.region} answers` }
    },
    hint: 'check network access to DynamoDB from this host and the dynamodb:ListTables permission',
  }
}

export function gatewayEndpointTask(): Task<DatabaseState> {
  return {
    title: 'Gateway VPC endpoint for DynamoDB on the private route tables',
    async check(ctx, s) {
      const { clusterName: cluster, region } = ctx.config
      const ec2 = ctx.aws.ec2
      s.vpc = await findVpc(ec2, cluster)
      if (!s.vpc) {
        if (ctx.dryRun) return { holds: false, detail: 'create it once 01-vpc has made the VPC (no VPC tagged for this cluster yet)' }
        return { holds: false, conflict: `no VPC tagged scalardl-runbook/cluster=${cluster}`, hint: 'run 01-vpc first' }
      }
      s.privateRouteTableIds = matchRouteTables(await findRouteTables(ec2, cluster), { role: 'private-route-table' }).map(
        (r) => r.RouteTableId!,
      )
      const own = await findOwnDynamodbEndpoint(ec2, cluster, s.vpc.VpcId!)
      if (!own) {
        const foreign = await findDynamodbEndpoints(ec2, s.vpc.VpcId!, region)
        if (foreign.length) {
          return {
            holds: false,
            conflict: `the VPC already has a DynamoDB endpoint the runbook did not create (${foreign.map((e) => e.VpcEndpointId).join(', ')})`,
            hint: `attach it to the private route tables (${s.privateRouteTableIds.join(', ')}) yourself and tag it ${'scalardl-runbook/cluster'}=${cluster}, scalardl-runbook/role=dynamodb-endpoint, or delete it`,
          }
        }
        return { holds: false, detail: `create a gateway endpoint on ${s.privateRouteTableIds.join(', ') || 'the private route tables'}` }
      }
      const missing = s.privateRouteTableIds.filter((id) => !(own.RouteTableIds ?? []).includes(id))
      if (missing.length) return { holds: false, detail: `add ${missing.join(', ')} to ${own.VpcEndpointId}` }
      return { holds: true, detail: `${own.VpcEndpointId} on ${(own.RouteTableIds ?? []).join(', ')}` }
    },
    async apply(ctx, s) {
      const { clusterName: cluster, region } = ctx.config
      const ec2 = ctx.aws.ec2
      const vpcId = s.vpc!.VpcId!
      const own = await findOwnDynamodbEndpoint(ec2, cluster, vpcId)
      if (!own) {
        const e = await createDynamodbEndpoint(ec2, { cluster, region, vpcId, routeTableIds: s.privateRouteTableIds })
        return `created ${e.VpcEndpointId} on ${s.privateRouteTableIds.join(', ')}`
      }
      const missing = s.privateRouteTableIds.filter((id) => !(own.RouteTableIds ?? []).includes(id))
      await addEndpointRouteTables(ec2, own.VpcEndpointId!, missing)
      return `added ${missing.join(', ')} to ${own.VpcEndpointId}`
    },
  }
}

export function existingTablesTask(): Task<DatabaseState> {
  return {
    title: 'Scalar DL tables (reported, never touched)',
    async check(ctx) {
      const prefix = ctx.config.dynamodbNamespacePrefix
      const r = await scalarTables(ctx.aws.dynamodb, prefix)
      const label = prefix ? ` with prefix "${prefix}"` : ''
      if (!r.found.length) return { holds: true, detail: `none yet${label}: 04-scalardl's schema loader creates them` }
      if (!r.missing.length) return { holds: true, detail: `all ${r.found.length} present${label}: the schema loader will keep them` }
      return {
        holds: true,
        detail: `${r.found.length} present${label}, missing ${r.missing.join(', ')}: 04-scalardl's schema loader creates them`,
      }
    },
  }
}

/**
 * Whether the key Scalar DL will use (SCALARDL_DB_USERNAME/PASSWORD) may describe its tables: a
 * key DynamoDB does not know, or one without the database policy (npm run iam-policy --
 * --database), otherwise surfaces only in 04 as a failed schema Job and crash-looping Pods.
 * A table not made yet (ResourceNotFoundException) still shows that the key was accepted and allowed.
 */
export function databaseKeyTask(): Task<DatabaseState> {
  return {
    title: 'The Scalar DL database key may describe its tables',
    async check(ctx) {
      const { username, password } = ctx.config.scalardl.db
      if (!username || !password)
        return {
          holds: true,
          detail: 'not checked: SCALARDL_DB_USERNAME and SCALARDL_DB_PASSWORD are not set here (04-scalardl needs them)',
        }
      const db = ctx.aws.dynamodbAs({ accessKeyId: username, secretAccessKey: password })
      const tables = [...LEDGER_TABLES, ...(ctx.config.auditor.enabled ? AUDITOR_TABLES : [])].map(
        (t) => ctx.config.dynamodbNamespacePrefix + t,
      )
      const answers = await Promise.all(
        tables.map((TableName) =>
          db.send(new DescribeTableCommand({ TableName })).then(
            () => 'ok',
            (e: Error) => (e.name === 'ResourceNotFoundException' ? 'ok' : `${e.name}: ${e.message}`),
          ),
        ),
      )
      const refused = tables.map((t, i) => [t, answers[i]!] as const).filter(([, a]) => a !== 'ok')
      if (!refused.length)
        return { holds: true, detail: `the database key (SCALARDL_DB_USERNAME) may describe all ${tables.length} tables (made or not yet)` }
      const unknownKey = refused.some(([, a]) => /UnrecognizedClientException|InvalidSignatureException/.test(a))
      return {
        holds: false,
        conflict: `DynamoDB refused the database key (SCALARDL_DB_USERNAME) on ${refused.length} of ${tables.length} tables (${refused[0]![0]}: ${refused[0]![1]})`,
        hint: unknownKey
          ? 'SCALARDL_DB_USERNAME/SCALARDL_DB_PASSWORD are not an access key DynamoDB knows: set them to the key of the IAM user Scalar DL uses'
          : 'give the IAM user of SCALARDL_DB_USERNAME the database policy (npm run iam-policy -- --database prints it)',
      }
    },
  }
}

function schemaLoaderSettingsFile(config: Config): string {
  return path.join(config.stateDir, config.clusterName, 'database.properties')
}

/** What the schema loader and the Ledger need to reach DynamoDB. Credentials are not here. */
function schemaLoaderSettings(config: Config, env: NodeJS.ProcessEnv = process.env): string {
  return [
    '# Written by 02-database: the settings 04-scalardl gives the schema loader and the Ledger. No credentials here.',
    ...databaseProperties(config, 'scalardl', env),
    '',
  ].join('\n')
}

export function schemaLoaderSettingsTask(): Task<DatabaseState> {
  return {
    title: 'Schema loader settings recorded for 04-scalardl',
    async check(ctx) {
      const file = schemaLoaderSettingsFile(ctx.config)
      const want = schemaLoaderSettings(ctx.config)
      if (!fs.existsSync(file)) return { holds: false, detail: `write ${file}` }
      const differs = fs.readFileSync(file, 'utf8') !== want
      const mode = fs.statSync(file).mode & 0o777
      if (differs || mode !== 0o600)
        return { holds: false, detail: `update ${file}${mode !== 0o600 ? ` (mode ${mode.toString(8)} -> 600)` : ''}` }
      return { holds: true, detail: file }
    },
    async apply(ctx) {
      const file = schemaLoaderSettingsFile(ctx.config)
      writePrivateFile(file, schemaLoaderSettings(ctx.config))
      return `wrote ${file} (mode 600)`
    },
  }
}
