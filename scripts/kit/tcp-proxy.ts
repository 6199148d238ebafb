/**
 * A TCP forwarder that can add one-way latency and be cut: in the drill it stands for the
 * network between primary and standby (bytes "on the wire" are lost when the primary dies),
 * in tests for a database that goes away and comes back, in the benchmark for the transatlantic link.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'

/** Forwards 127.0.0.1:<port> to a target, each chunk held `delayMs` in each direction. */
export class TcpProxy {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  port = 0

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
    private readonly delayMs = 0,
  ) {}

  /** host:port clients connect to. */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`
  }

  /** Starts forwarding (on the same port as before, if it ran already). */
  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection({ host: this.targetHost, port: this.targetPort })
      for (const socket of [client, upstream]) {
        // Nagle would hold back the standby's small flush confirmations, and sync commits with them.
        socket.setNoDelay(true)
        this.sockets.add(socket)
        socket.on('close', () => this.sockets.delete(socket))
        socket.on('error', () => socket.destroy())
      }
      this.forward(client, upstream)
      this.forward(upstream, client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as { port: number }).port
    this.server = server
  }

  /** Stops listening and cuts every connection; bytes still held back are dropped. */
  async down(): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const socket of this.sockets) socket.destroy()
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private forward(from: Socket, to: Socket): void {
    if (this.delayMs === 0) {
      from.pipe(to)
      return
    }
    // Timers of equal duration fire in the order they were set, so chunks keep their order.
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk)
      }, this.delayMs)
    })
  }
}
