import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const Check = Type.Union([Type.Literal('ok'), Type.Literal('fail')])
const Ready = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Object({ postgres: Check, redis: Check }),
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
        summary: 'PostgreSQL and Redis answer within the health timeout; 503 names the one that did not',
        response: { 200: Ready, 503: Ready },
      },
    },
    async (_request, reply) => {
      const [postgres, redis] = await Promise.all([
        within(opts.timeoutMs, () => app.prisma.$queryRaw`SELECT 1`),
        within(opts.timeoutMs, () => app.redis.ping()),
      ])
      const ok = postgres === 'ok' && redis === 'ok'
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', checks: { postgres, redis } })
    },
  )
}

export default health
