import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { Config } from '../../config.js'
import { badRequest, conflict, HttpError } from '../../platform/errors.js'
import { isUniqueViolation } from '../../platform/prisma-errors.js'
import { errorRef } from '../../platform/schemas.js'
import { normalizeEmail } from './email.js'
import { HashingOverloadedError } from './hashing-limiter.js'
import { checkPassword, PASSWORD_MAX_LENGTH } from './password-policy.js'
import { Email, Name, toPublicUser, userRef } from './schemas.js'

// Length is checked by the policy (in code points, with a field-level message); the schema only
// caps the raw size so nobody makes the server hash a megabyte.
const Password = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH * 4 })

const RegisterBody = Type.Object(
  { email: Email, password: Password, name: Name },
  { additionalProperties: false },
)
const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 254 }), password: Password },
  { additionalProperties: false },
)
const LoginResponse = Type.Object({
  user: userRef,
  token: Type.String({ description: 'Session token for `Authorization: Bearer` (also set as cookie)' }),
  expiresAt: Type.String({
    format: 'date-time',
    description: 'Slides forward on every authenticated request',
  }),
})

const invalidCredentials = () => new HttpError(401, 'INVALID_CREDENTIALS', 'Invalid email or password')

/** Registration, login and logout: POST /v1/auth/{register,login,logout}. */
const auth: FastifyPluginAsyncTypebox<{ rateLimit: Config['rateLimit'] }> = async (app, opts) => {
  const limits = opts.rateLimit
  const ip = (request: FastifyRequest) => request.ip
  const account = (request: FastifyRequest) => normalizeEmail((request.body as { email: string }).email)

  app.post(
    '/register',
    {
      preHandler: [
        app.limit({
          name: 'register-ip',
          max: limits.registerPerIp,
          windowSeconds: limits.windowSeconds,
          key: ip,
        }),
        app.limit({
          name: 'register-account',
          max: limits.registerPerAccount,
          windowSeconds: limits.windowSeconds,
          key: account,
        }),
      ],
      schema: {
        tags: ['auth'],
        summary: 'Create an account',
        body: RegisterBody,
        response: {
          201: Type.Object({ user: userRef }),
          400: errorRef,
          409: errorRef,
          429: errorRef,
          503: errorRef,
        },
      },
    },
    async (request, reply) => {
      const email = normalizeEmail(request.body.email)
      const problems = checkPassword(request.body.password, { email })
      if (problems.length > 0) throw badRequest('Password does not meet the policy', problems)
      const passwordHash = await app.passwords.hash(request.body.password)
      try {
        const user = await app.prisma.user.create({ data: { email, passwordHash, name: request.body.name } })
        return reply.code(201).send({ user: toPublicUser(user) })
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('EMAIL_TAKEN', 'An account with this email already exists')
        throw err
      }
    },
  )

  app.post(
    '/login',
    {
      preHandler: [
        app.limit({ name: 'login-ip', max: limits.loginPerIp, windowSeconds: limits.windowSeconds, key: ip }),
        app.limit({
          name: 'login-account',
          max: limits.loginPerAccount,
          windowSeconds: limits.windowSeconds,
          key: account,
        }),
      ],
      schema: {
        tags: ['auth'],
        summary: 'Log in: returns a fresh session token and sets the session cookie',
        body: LoginBody,
        response: { 200: LoginResponse, 400: errorRef, 401: errorRef, 429: errorRef, 503: errorRef },
      },
    },
    async (request, reply) => {
      const { password } = request.body
      const user = await app.prisma.user.findUnique({ where: { email: normalizeEmail(request.body.email) } })
      // Unknown email: spend the same hashing time as a real check, then give the same answer.
      const valid = user
        ? await app.passwords.verify(password, user.passwordHash)
        : await app.passwords.verifyDummy(password)
      if (!user || !valid) throw invalidCredentials()
      // scrypt or weaker argon2id: upgrade now. A rehash shed under load waits for the next login.
      if (app.passwords.needsRehash(user.passwordHash)) {
        const passwordHash = await app.passwords.hash(password).catch((err: unknown) => {
          if (err instanceof HashingOverloadedError) return undefined
          throw err
        })
        if (passwordHash) {
          await app.prisma.user.update({ where: { id: user.id }, data: { passwordHash } })
          request.log.info({ userId: user.id }, 'password rehashed with current parameters')
        }
      }
      // Never keep a session the client arrived with (fixation): logging in always starts a new one.
      const previous = app.sessionTokenOf(request)
      const stale = previous ? await app.sessions.touch(previous) : undefined
      if (stale) await app.sessions.revoke(stale)
      const { token, session } = await app.sessions.create(user.id, user.role)
      app.setSessionCookie(reply, token)
      // Security event: the user hears of every new sign-in. A failed write must not fail the login.
      await app
        .notify(user.id, 'security.login', {
          ip: request.ip,
          userAgent: request.headers['user-agent'] ?? null,
        })
        .catch((err: Error) =>
          request.log.warn({ err: { message: err.message } }, 'login notification not queued'),
        )
      return { user: toPublicUser(user), token, expiresAt: session.expiresAt.toISOString() }
    },
  )

  app.post(
    '/logout',
    {
      onRequest: app.authenticate,
      schema: {
        tags: ['auth'],
        summary: 'End the current session everywhere',
        security: [{ bearer: [] }, { cookie: [] }],
        response: { 204: Type.Null(), 401: errorRef, 503: errorRef },
      },
    },
    async (request, reply) => {
      if (request.session) await app.sessions.revoke(request.session)
      app.clearSessionCookie(reply)
      return reply.code(204).send(null)
    },
  )
}

export default auth
