// IPv4 CIDR arithmetic for the reachability model: enough to match routes, security-group and NACL rules.

/** [first, last] address of an IPv4 CIDR as unsigned integers; undefined for anything else (IPv6, "[unknown]"). */
export function range(cidr: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr)
  if (!m) return undefined
  const octets = m.slice(1, 5).map(Number)
  const bits = Number(m[5])
  if (octets.some((o) => o > 255) || bits > 32) return undefined
  const ip = octets.reduce((a, o) => a * 256 + o, 0)
  const size = 2 ** (32 - bits)
  const first = ip - (ip % size)
  return [first, first + size - 1]
}

/** True when `outer` contains every address of `inner`. */
export function covers(outer: string, inner: string): boolean {
  const a = range(outer)
  const b = range(inner)
  return !!a && !!b && a[0] <= b[0] && b[1] <= a[1]
}

/** True when the two blocks share any address (peered VPCs must not). */
export function overlaps(a: string, b: string): boolean {
  const x = range(a)
  const y = range(b)
  return !!x && !!y && x[0] <= y[1] && y[0] <= x[1]
}

/** Prefix length, for longest-prefix route selection. */
export function prefixLength(cidr: string): number {
  return Number(cidr.split('/')[1] ?? -1)
}

/** A public address standing for "an AWS public endpoint / the internet" (in 52.94.0.0/16, AWS's own range). */
export const PUBLIC_IP = '52.94.0.10/32'
