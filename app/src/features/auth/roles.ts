/**
 * Changing a user's role. Sessions carry the role they were created with, so a change must end
 * them: the user's next request is refused and the next login carries the new role. Change roles
 * only through this function (an admin tool, a one-off script): an UPDATE in SQL alone leaves the
 * live sessions with the old role until they end (at most SESSION_ABSOLUTE_TTL_SECONDS).
 */
import type { FastifyInstance } from 'fastify'

/** Sets `role` in the database, then revokes every session of the user atomically. */
export async function setUserRole(
  app: FastifyInstance,
  userId: string,
  role: 'user' | 'admin',
): Promise<void> {
  await app.prisma.user.update({ where: { id: userId }, data: { role } })
  // After the commit: a login that read the old role before it sees the generation move (routes.ts).
  await app.sessions.revokeAll(userId)
}
