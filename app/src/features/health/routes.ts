import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Check = Type.Union([Type.Literal('ok'), Type.Literal('fail')])
const Ready = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Object({ postgres: Check, redis: Check, replica: Type.Optional(Check) }),
})

/** Resolves 'ok' when `probe` answers within `timeoutMs`, 'fail' otherwise. */
async function within(timeoutMs: number, probe: () => Promise<unknown>): Promise<'ok' | 'fail'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'fail'>((resolve) => {
    timer = setTimeout(() => resolve('fail'), timeoutMs)
  })
  const attempt = probe().then(
    () => 'ok' as const,
    () => 'fail' as const,
  )
  try {
    return await Promise.race([attempt, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Health checks for the ALB target group and the container HEALTHCHECK. */
const health: FastifyPluginAsyncTypebox<{ timeoutMs: number }> = async (app, opts) => {
  // Probed every few seconds by every load balancer node: keep them out of the info log.
  app.get(
    '/live',
    {
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary:
          'PostgreSQL (the writer, or a read replica when configured) and Redis answer within the health timeout; 503 names what did not',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_request, reply) => {
      const replicas = app.db.replicaClients()
      const [postgres, redis, replica] = await Promise.all([
        within(opts.timeoutMs, () => app.prisma.$queryRaw`SELECT 1`),
        within(opts.timeoutMs, () => app.redis.ping()),
        replicas.length
          ? within(opts.timeoutMs, () => Promise.any(replicas.map((client) => client.$queryRaw`SELECT 1`)))
          : undefined,
      ])
      // eu-west's writer is across the ocean: if readiness required it, a US outage would take the
      // surviving region out of DNS too. A region whose own replica answers keeps serving reads
      // (writes answer 503 fast) until the DR promotion repoints the writer.
      const ok = (postgres === 'ok' || replica === 'ok') && redis === 'ok'
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', checks: { postgres, redis, ...(replica && { replica }) } })
    },
  )
}

export default health
