// The simulator's name resolution for AWS hostnames, in every Node.js process started with the
// simulator's environment (NODE_OPTIONS=--import=<this file>, written by `sim up` into its env file;
// nothing outside the simulator loads it). A simulated load balancer's hostname
// (<name>-<id>.elb.<region>.amazonaws.com) resolves to the loopback address of its listener, as the
// daemon publishes them in $SIM_STATE_DIR/front-doors.json (sim/kube/front-door.ts). Any other
// *.amazonaws.com name is refused as not found: nothing of the simulator's world may reach the
// internet, and a lookup sent to a real DNS server would. Other names resolve as usual.
import dns from 'node:dns'
import fs from 'node:fs'
import path from 'node:path'

const AWS = /\.amazonaws\.com\.?$/i

function simulated(hostname) {
  if (typeof hostname !== 'string' || !AWS.test(hostname) || !process.env.SIM_STATE_DIR) return undefined
  try {
    const all = JSON.parse(fs.readFileSync(path.join(process.env.SIM_STATE_DIR, 'front-doors.json'), 'utf8'))
    return { address: all[hostname.toLowerCase().replace(/\.$/, '')] }
  } catch {
    return { address: undefined }
  }
}

function notFound(hostname) {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: 'ENOTFOUND',
    errno: -3008,
    syscall: 'getaddrinfo',
    hostname,
  })
}

const lookup = dns.lookup
dns.lookup = function simLookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback
  const opts = typeof options === 'object' && options !== null ? options : typeof options === 'number' ? { family: options } : {}
  const hit = simulated(hostname)
  if (!hit) return lookup.call(this, hostname, options, callback)
  process.nextTick(() => {
    if (!hit.address) return cb(notFound(hostname))
    if (opts.all) return cb(null, [{ address: hit.address, family: 4 }])
    cb(null, hit.address, 4)
  })
  return {}
}

const promised = dns.promises.lookup
dns.promises.lookup = async function simPromisesLookup(hostname, options) {
  const hit = simulated(hostname)
  if (!hit) return promised.call(this, hostname, options)
  if (!hit.address) throw notFound(hostname)
  return options?.all ? [{ address: hit.address, family: 4 }] : { address: hit.address, family: 4 }
}
