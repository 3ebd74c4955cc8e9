import { isIPv4, isIPv6 } from 'node:net'

/** An address block: the network address as a number, its family and prefix length. */
export interface Cidr {
  text: string
  family: 4 | 6
  network: bigint
  prefix: number
}

const bits = { 4: 32, 6: 128 } as const

/**
 * Parses a NetworkPolicy ipBlock CIDR as the API server's strict validation does (the
 * StrictIPCIDRValidation gate, on in current releases): no leading zeros, no IPv4-mapped IPv6
 * address, no bits set beyond the prefix. Returns the reason it is refused instead of a block.
 */
export function parseCidr(text: string): Cidr | string {
  const match = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(text)
  if (!match) return 'is not a CIDR (address/prefix, no leading zeros)'
  const [, address = '', prefixText = ''] = match
  const prefix = Number(prefixText)
  let family: 4 | 6
  let network: bigint
  if (isIPv4(address)) {
    // node:net refuses leading zeros (010.0.0.0) as the API server does.
    family = 4
    network = address.split('.').reduce((n, o) => (n << 8n) | BigInt(o), 0n)
  } else if (isIPv6(address)) {
    family = 6
    if (/^::ffff:/i.test(address) && address.includes('.')) return 'is an IPv4-mapped IPv6 address'
    network = ipv6ToBigInt(address)
    if (network >> 32n === 0xffffn) return 'is an IPv4-mapped IPv6 address'
  } else {
    return 'is not a CIDR (address/prefix, no leading zeros)'
  }
  if (prefix > bits[family]) return `has a prefix longer than ${bits[family]}`
  if (network & hostMask(family, prefix)) return 'has bits set beyond the prefix length'
  return { text, family, network, prefix }
}

/** Whether every address of `inner` is in `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false
  const keep = ~hostMask(outer.family, outer.prefix) & ((1n << BigInt(bits[outer.family])) - 1n)
  return (inner.network & keep) === outer.network
}

/** Whether the two blocks share an address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b) || contains(b, a)
}

function hostMask(family: 4 | 6, prefix: number): bigint {
  return (1n << BigInt(bits[family] - prefix)) - 1n
}

function ipv6ToBigInt(address: string): bigint {
  let text = address
  // A trailing dotted quad (::1.2.3.4) is two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const groups = (part: string) => (part === '' ? [] : part.split(':'))
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const all = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return all.reduce((n, g) => (n << 16n) | BigInt(`0x${g}`), 0n)
}
