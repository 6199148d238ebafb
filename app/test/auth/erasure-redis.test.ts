import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { hashedEmail } from '../../src/features/auth/email.js'
import { buildTestApp, testEnv } from '../helpers/app.js'
import { startS3, type TestS3 } from '../helpers/s3.js'
import { services } from '../helpers/services.js'
import { startSmtpSink } from '../helpers/smtp.js'
import { bearer, login } from '../helpers/users.js'

describe('erasure leaves nothing of the user in Redis', () => {
  let app: FastifyInstance
  let s3: TestS3
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>
  let prefix: string
  const raw = new Redis(services.redisUrl)

  before(async () => {
    s3 = await startS3()
    smtp = await startSmtpSink()
    const env = testEnv({ ...s3.env, SMTP_URL: smtp.url })
    prefix = env.REDIS_KEY_PREFIX as string
    app = await buildTestApp(env)
  })
  after(async () => {
    await app.close()
    await s3.close()
    await smtp.close()
    raw.disconnect()
  })

  /** Every key and value under this app's prefix, as one string. */
  async function dump(): Promise<string> {
    const keys = await raw.keys(`${prefix}*`)
    const parts = [...keys]
    for (const key of keys) {
      const type = await raw.type(key)
      if (type === 'string') parts.push((await raw.get(key)) ?? '')
      if (type === 'hash') parts.push(JSON.stringify(await raw.hgetall(key)))
      if (type === 'set') parts.push(...(await raw.smembers(key)))
      if (type === 'zset') parts.push(...(await raw.zrange(key, '0', '-1')))
    }
    return parts.join('\n')
  }

  it('drops the address, its hash and pending mail tokens with the account', async () => {
    const user = await login(app)
    // Leave traces: a failed login, a reset request (token + counters), the verification mail.
    await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: 'wrong one!' },
    })
    await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { email: user.email } })
    await smtp.next(user.email, 0, 'Reset your password')
    const before = await dump()
    expect(before).to.include(hashedEmail(user.email))
    expect(before).to.include(`user:{${user.user.id}}:tokens`)

    const res = await app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(user.token),
      payload: { password: user.password },
    })
    expect(res.statusCode).to.equal(200)
    const after = await dump()
    expect(after).not.to.include(user.email)
    expect(after).not.to.include(hashedEmail(user.email))
    expect(after).not.to.include(`user:{${user.user.id}}:tokens`)
    expect(after).not.to.include(`user:{${user.user.id}}:devices`)
  })
})
