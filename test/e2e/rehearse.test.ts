// Smoke test of `npm run rehearse -- --faults`: the README's main job, Ledger and Auditor
// end to end (every step twice, the checklist, the teardown twice) while the fault proxy throttles,
// fails, drops and slows a fifth of the AWS calls, resources stay pending for a while and the
// Kubernetes API fails some of kubectl's requests; then no secret in any output, and nothing left.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { databasePolicy, operatorPolicy, uncovered } from '../../lib/iam/operator-policy.ts'
import { ROOT, tempDir } from '../helpers/run-step.ts'

test('npm run rehearse -- --faults (Ledger and Auditor) passes, every check green, no secret leaked, and stops the simulator it started', () => {
  const actionsFile = path.join(tempDir('rehearse-actions-'), 'actions.json')
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'sim', 'rehearse.ts'), '--faults', '--actions-out', actionsFile],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      timeout: 600_000,
    },
  )
  assert.equal(r.status, 0, r.stderr.slice(-3000))
  assert.match(r.stderr, /rehearsal passed: 8 steps ran, and the rerun changed nothing; teardown left nothing/)
  // Every step ran as an IAM user holding only the operator policy, with IAM enforced.
  assert.match(r.stderr, /the steps run as IAM user rehearsal-operator, holding only the operator policy/)
  assert.match(r.stderr, /RECAP 01-vpc: ok=\d+ changed=0 planned=0 failed=0 skipped=0/)
  assert.match(r.stderr, /RECAP 05-auditor: ok=\d+ changed=0 planned=0 failed=0 skipped=0/)
  assert.match(r.stderr, /VERIFY 07-verify: 10 of 10 checks passed/)
  assert.match(r.stderr, /peering +1 connection\(s\) active/)
  // The faults were real: about a fifth of the AWS requests, and the waits saw pending states.
  const faults = /fault proxy: (\d+) faults injected in (\d+) AWS requests/.exec(r.stderr)
  assert.ok(faults, 'the fault proxy reported')
  const [injected, requests] = [Number(faults[1]), Number(faults[2])]
  assert.ok(requests > 200 && injected / requests > 0.1, `${injected} of ${requests}`)
  // NAT gateways are created pending and waited for after the bastion, whose own wait saw it pending.
  assert.match(r.stderr, /NAT gateway\(s\) with Elastic IPs .* nat-\w+ \(pending\)/)
  assert.match(r.stderr, /waiting for bastion i-\w+ to be running with a public IP \(.*last seen: pending/)
  // The cluster's CREATING is no longer seen by 03's own wait: `eksctl create cluster` (the stand-in, as eksctl)
  // now waits for its node groups, by which time the control plane is ACTIVE. 03's wait serves interrupted runs.
  assert.match(r.stderr, /secret scan: no GitHub token, database secret or private key material/)
  // The scan read what AWS holds too: the bastion's user data (its bootstrap) and the SSM commands.
  assert.match(r.stderr, /AWS side for the secret scan: user data of [1-9]\d* instance\(s\), SSM Run Commands/)
  // The operator policy (npm run iam-policy) allows every action the rehearsal's AWS requests needed:
  // the runbook's, eksctl's and the AWS CLI's, deployment and teardown.
  const by = JSON.parse(fs.readFileSync(actionsFile, 'utf8')) as Record<'operator' | 'database', Record<string, number>>
  const actions = Object.keys(by.operator)
  assert.ok(actions.length > 50 && actions.includes('eks:CreateCluster') && actions.includes('ec2:TerminateInstances'), actions.join(' '))
  assert.deepEqual(
    [...actions, ...Object.keys(by.database)].filter((a) => a.includes('UNMAPPED')),
    [],
    'every request maps to an IAM action',
  )
  // (The administrator's own calls that made the rehearsal's operator user are not the runbook's.)
  const setup = ['iam:CreateUser', 'iam:CreatePolicy', 'iam:AttachUserPolicy', 'iam:CreateAccessKey']
  assert.deepEqual(
    uncovered(
      operatorPolicy({ clusters: ['rehearsal', 'rehearsal-auditor'], tablePrefix: '' }),
      actions.filter((a) => !setup.includes(a)),
    ),
    [],
  )
  // The schema loader's requests (tables, their backups and auto scaling) are the database
  // principal's, and its policy (npm run iam-policy -- --database) allows every one.
  const database = Object.keys(by.database)
  assert.ok(
    database.includes('dynamodb:CreateTable') && database.includes('application-autoscaling:RegisterScalableTarget'),
    database.join(' '),
  )
  assert.deepEqual(uncovered(databasePolicy({ tablePrefix: '' }), database), [])
  const dir = /simulator state in (\S+);/.exec(r.stderr)![1]!
  const left = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' }).stdout.trim()
  assert.equal(left, '', `processes of the rehearsal are still running: ${left}`)
})
