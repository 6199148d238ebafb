/** Carves the `index`-th subnet of prefix length `prefix` out of an IPv4 CIDR block. */
export function subnetCidr(block: string, prefix: number, index: number): string {
  const [addr, bitsText] = block.split('/')
  const bits = Number(bitsText)
  const parts = (addr ?? '').split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255)) || !(prefix > bits && prefix <= 28)) {
    throw new Error(`cannot carve a /${prefix} out of ${block}`)
  }
  const base = parts.reduce((acc, p) => acc * 256 + p, 0)
  const count = 2 ** (prefix - bits)
  if (index < 0 || index >= count)
    throw new Error(`${block} holds ${count} /${prefix} subnets, not ${index + 1}`)
  const start = base + index * 2 ** (32 - prefix)
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256)
  return `${octets.join('.')}/${prefix}`
}
