// `npm run iam-policy [-- --env-file PATH] [-- --account ID] [-- --database | --boundary] [-- --explain]`: prints
// the "runbook operator" IAM policy (lib/iam/operator-policy.ts) for this configuration's clusters
// and table prefix, as JSON on stdout; with --database, the policy for the database credentials
// instead; with --boundary, the permissions boundary 01 makes (lib/iam/boundary.ts), for an
// administrator to put in place. Without a valid configuration it prints the policy for any
// cluster name. Changes nothing and calls nothing.
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../lib/config/load.ts'
import { boundaryPolicy } from '../lib/iam/boundary.ts'
import { databasePolicy, explainPolicy, operatorPolicy, policyScope, type PolicyScope } from '../lib/iam/operator-policy.ts'

const { values } = parseArgs({
  options: {
    'env-file': { type: 'string' },
    account: { type: 'string' },
    database: { type: 'boolean' },
    boundary: { type: 'boolean' },
    explain: { type: 'boolean' },
    help: { type: 'boolean' },
  },
})
if (values.help) {
  console.log('usage: npm run iam-policy [-- --env-file PATH] [-- --account 123456789012] [-- --database | --boundary] [-- --explain]')
  process.exit(0)
}
if (values.account !== undefined && !/^\d{12}$/.test(values.account)) {
  console.error(`--account must be a 12-digit AWS account id, not "${values.account}"`)
  process.exit(2)
}

let scope: PolicyScope
try {
  scope = policyScope(loadConfig(values['env-file']), values.account)
} catch (e) {
  if (!(e instanceof ConfigError)) throw e
  console.error(`${e.message}: printing the policy for any cluster name and table prefix`)
  scope = { account: values.account, clusters: ['*'], tablePrefix: '' }
}
if (values.boundary) {
  console.log(JSON.stringify(boundaryPolicy(values.account), null, 2))
  process.exit(0)
}
const policy = values.database ? databasePolicy(scope) : operatorPolicy(scope)
// --explain: each statement with why it is there, which steps need it, and its conditions.
console.log(
  values.explain && !values.database ? explainPolicy(policy as ReturnType<typeof operatorPolicy>) : JSON.stringify(policy, null, 2),
)
