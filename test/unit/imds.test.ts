// Where the runbook runs, from the instance metadata service (lib/aws/imds.ts), against a local
// IMDSv2 that answers late or drops a connection: the SDKs' AWS_METADATA_SERVICE_TIMEOUT and
// AWS_METADATA_SERVICE_NUM_ATTEMPTS decide whether it is heard.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { imdsSettings, thisInstanceId } from '../../lib/aws/imds.ts'

let server: http.Server
let base = ''
/** What the next token requests meet: a delay in ms, or 'drop' (the connection is reset). */
let plan: (number | 'drop')[] = []

before(async () => {
  server = http.createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      const next = plan.shift() ?? 0
      if (next === 'drop') return req.socket.destroy()
      setTimeout(() => res.end('session'), next)
      return
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== 'session') return res.writeHead(401).end()
    if (req.url === '/latest/meta-data/instance-id') return res.end('i-0123456789abcdef0')
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => server.close())

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ AWS_EC2_METADATA_SERVICE_ENDPOINT: base, ...extra })

test('imds settings: a second and one attempt by default; values under 1 or not numbers count as unset', () => {
  assert.deepEqual(imdsSettings({}), { timeoutMs: 1000, attempts: 1 })
  assert.deepEqual(imdsSettings({ AWS_METADATA_SERVICE_TIMEOUT: '5', AWS_METADATA_SERVICE_NUM_ATTEMPTS: '3' }), {
    timeoutMs: 5000,
    attempts: 3,
  })
  assert.deepEqual(imdsSettings({ AWS_METADATA_SERVICE_TIMEOUT: '0', AWS_METADATA_SERVICE_NUM_ATTEMPTS: 'many' }), {
    timeoutMs: 1000,
    attempts: 1,
  })
})

test('imds: an answer later than the timeout is not heard, unless AWS_METADATA_SERVICE_TIMEOUT allows it', async () => {
  plan = [1300]
  assert.equal(await thisInstanceId(env()), undefined)
  plan = [1300]
  assert.equal(await thisInstanceId(env({ AWS_METADATA_SERVICE_TIMEOUT: '3' })), 'i-0123456789abcdef0')
})

test('imds: a dropped connection is the end with one attempt; AWS_METADATA_SERVICE_NUM_ATTEMPTS=2 asks again', async () => {
  plan = ['drop']
  assert.equal(await thisInstanceId(env()), undefined)
  plan = ['drop']
  assert.equal(await thisInstanceId(env({ AWS_METADATA_SERVICE_NUM_ATTEMPTS: '2' })), 'i-0123456789abcdef0')
  plan = []
  assert.equal(await thisInstanceId(env({ AWS_EC2_METADATA_DISABLED: 'true' })), undefined, 'disabled: not asked')
})
