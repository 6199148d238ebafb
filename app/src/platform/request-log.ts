/**
 * The access log: one line per request, written when the answer is complete, with the request
 * (method, URL with search terms redacted, client address, headers with credentials redacted),
 * the status and the time taken. Fastify's default writes two lines per request ("incoming
 * request", then "request completed"); at thousands of requests a second the log is a measurable
 * share of what a request costs, and the first line says nothing the second does not. Every other
 * line Fastify writes (errors, aborted streams, serializer failures) is kept.
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify'

/** Fastify's log controller with the "incoming request" line folded into "request completed". */
export class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      reply.log.error(
        { req: request, res: reply, err: error, responseTime: reply.elapsedTime },
        'request errored',
      )
    } else {
      reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
    }
  }
}
