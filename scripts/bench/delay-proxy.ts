/**
 * A TCP proxy that adds a fixed delay to every chunk in both directions, so the service can be run
 * against PostgreSQL as the EU region sees the US primary (half the round trip each way).
 */
import net from 'node:net'

/** A listening delay proxy. */
export interface DelayProxy {
  port: number
  close: () => Promise<void>
}

/** Proxies 127.0.0.1:<port> to `target`, each direction delayed by `roundTripMs / 2`. */
export async function startDelayProxy(
  target: { host: string; port: number },
  roundTripMs: number,
): Promise<DelayProxy> {
  const oneWay = roundTripMs / 2
  const sockets = new Set<net.Socket>()
  // Equal delays fire in the order they were set, so the byte stream keeps its order.
  const relay = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk)
      }, oneWay)
    })
    from.on('end', () => setTimeout(() => to.end(), oneWay))
    from.on('error', () => to.destroy())
    from.on('close', () => setTimeout(() => to.destroy(), oneWay))
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    }
    relay(client, upstream)
    relay(upstream, client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
