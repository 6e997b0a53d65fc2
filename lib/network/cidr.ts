// IPv4 CIDR arithmetic and the subnet plan of Step 1.

interface Cidr {
  base: number // network address as an unsigned 32-bit number
  prefix: number
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim())
  if (!m) throw new Error(`"${text}" is not an IPv4 CIDR such as 10.1.0.0/16`)
  const octets = m.slice(1, 5).map(Number)
  const prefix = Number(m[5])
  if (octets.some((o) => o > 255) || prefix > 32) throw new Error(`"${text}" is not a valid IPv4 CIDR`)
  const addr = octets.reduce((acc, o) => acc * 256 + o, 0)
  const base = prefix === 0 ? 0 : addr - (addr % 2 ** (32 - prefix))
  if (base !== addr) throw new Error(`"${text}" has host bits set; the network is ${formatCidr({ base, prefix })}`)
  return { base, prefix }
}

export function formatCidr(c: Cidr): string {
  const o = [24, 16, 8, 0].map((s) => Math.floor(c.base / 2 ** s) % 256)
  return `${o.join('.')}/${c.prefix}`
}

function size(c: Cidr): number {
  return 2 ** (32 - c.prefix)
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a)
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && inner.base + size(inner) <= outer.base + size(outer)
}

/** The index-th block of the given prefix inside parent. */
function subBlock(parent: Cidr, prefix: number, index: number): Cidr {
  if (prefix < parent.prefix) throw new Error(`/${prefix} does not fit in ${formatCidr(parent)}`)
  const count = 2 ** (prefix - parent.prefix)
  if (index < 0 || index >= count) throw new Error(`${formatCidr(parent)} has no block ${index} of /${prefix}`)
  return { base: parent.base + index * 2 ** (32 - prefix), prefix }
}

const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map(parseCidr)

export function isPrivateRange(c: Cidr): boolean {
  return PRIVATE_RANGES.some((r) => contains(r, c))
}

interface SubnetPlan {
  az: number // index of the availability zone, 0..2
  tier: 'public' | 'private'
  cidr: string
}

/**
 * Three private subnets take three quarters of the VPC (nodes and pods need the addresses);
 * three public subnets, for NAT gateways, load balancers and the bastion, share the last quarter.
 * A /16 gives private /18s and public /20s; a /20 gives private /22s and public /24s, the smallest
 * the guide allows.
 */
export function planSubnets(vpcCidr: string, azCount = 3): SubnetPlan[] {
  const vpc = parseCidr(vpcCidr)
  if (vpc.prefix + 4 > 24) throw new Error(`${vpcCidr} is too small: public subnets would be smaller than /24 (use /20 or larger)`)
  const plan: SubnetPlan[] = []
  for (let i = 0; i < azCount; i++) plan.push({ az: i, tier: 'private', cidr: formatCidr(subBlock(vpc, vpc.prefix + 2, i)) })
  const lastQuarter = subBlock(vpc, vpc.prefix + 2, 3)
  for (let i = 0; i < azCount; i++) plan.push({ az: i, tier: 'public', cidr: formatCidr(subBlock(lastQuarter, lastQuarter.prefix + 2, i)) })
  return plan
}
