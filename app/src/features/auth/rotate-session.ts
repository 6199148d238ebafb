/**
 * After a credential change (password, second factor): end every session of the user, then give
 * the caller a fresh one, so the change also logs out whoever else held a session.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { unauthorized } from '../../platform/errors.js'

/** Revokes all of the user's sessions and returns a new one for the caller (cookie set). */
export async function rotateSessions(app: FastifyInstance, reply: FastifyReply, userId: string) {
  await app.sessions.revokeAll(userId)
  // A role change racing this request: read the generation, then the role again, and bind the
  // new session to that generation, so a demotion committed at any point invalidates it.
  const generation = await app.sessions.generation(userId)
  const fresh = await app.prisma.user.findUnique({ where: { id: userId } })
  if (!fresh || fresh.deletedAt) throw unauthorized('Account no longer exists')
  // A rotation follows a credential change (enrolment, disable, password): one read of the factor
  // here keeps REQUIRE_MFA's per-request check free.
  const mfa = await app.mfa.authenticators.isEnabled(userId)
  const created = await app.sessions.create(userId, fresh.role, generation, { mfa })
  app.setSessionCookie(reply, created.token)
  return { user: fresh, token: created.token, expiresAt: created.session.expiresAt.toISOString() }
}
