import type { PrismaClient } from '../generated/prisma/client.js'

/**
 * A PrismaClient-shaped object that forwards every property read to the writer of the moment.
 * Components that keep `app.prisma` in a field (an outbox relay built at boot, say) would otherwise
 * talk to the old primary forever after a DR switch; through this they follow the switch.
 * A call already made stays on the client it started on, so in-flight work finishes where it began.
 */
export function followWriter(current: () => PrismaClient): PrismaClient {
  // The first client as target keeps `instanceof` and `in` answering like a PrismaClient.
  return new Proxy(current(), {
    get(_target, property) {
      const client = current()
      const value = Reflect.get(client, property, client)
      return typeof value === 'function' ? value.bind(client) : value
    },
  })
}
