/** Helpers that create accounts and sessions through the public API. */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'

/** A unique email, so specs sharing the run's database never collide. */
export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(5).toString('hex')}@example.com`
}

export const GOOD_PASSWORD = 'correct horse battery staple'

/** Registers a user and returns its credentials and the created user. */
export async function register(
  app: FastifyInstance,
  fields: Partial<{ email: string; password: string; name: string }> = {},
) {
  const body = { email: uniqueEmail(), password: GOOD_PASSWORD, name: 'Test User', ...fields }
  const res = await app.inject({ method: 'POST', url: '/v1/auth/register', payload: body })
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`)
  return { ...body, user: res.json().user as { id: string; email: string } }
}

/** Registers and logs in; returns the bearer token and the cookie value. */
export async function login(
  app: FastifyInstance,
  fields: Partial<{ email: string; password: string; name: string }> = {},
) {
  const account = await register(app, fields)
  const res = await app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email: account.email, password: account.password },
  })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const cookie = res.cookies.find((c) => c.name === '__Host-sid' || c.name === 'sid')
  return { ...account, token: res.json().token as string, cookie: cookie?.value as string, response: res }
}

/** Authorization header for a token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
