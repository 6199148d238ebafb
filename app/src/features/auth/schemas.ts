/** The user as clients see it (never the password hash). */
import { type Static, Type } from 'typebox'

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 })
export const Name = Type.String({ minLength: 1, maxLength: 100 })

/** Profile fields a user may change with PATCH /v1/me. */
export const ProfileFields = {
  name: Name,
  locale: Type.Union([
    Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$', maxLength: 35 }),
    Type.Null(),
  ]),
  timezone: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]),
  avatarUrl: Type.Union([Type.String({ format: 'uri', pattern: '^https://', maxLength: 2048 }), Type.Null()]),
}

export const PublicUser = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    name: Type.String(),
    locale: Type.Union([Type.String(), Type.Null()]),
    timezone: Type.Union([Type.String(), Type.Null()]),
    avatarUrl: Type.Union([Type.String(), Type.Null()]),
    role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
    emailVerified: Type.Boolean({ description: 'The user confirmed they receive mail at `email`' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'User' },
)
export type PublicUser = Static<typeof PublicUser>

/** A reference to the shared User schema. */
export const userRef = Type.Unsafe<PublicUser>(Type.Ref('User'))

interface UserRow {
  id: string
  email: string
  name: string
  locale: string | null
  timezone: string | null
  avatarUrl: string | null
  role: 'user' | 'admin'
  emailVerifiedAt?: Date | null
  createdAt: Date
  updatedAt: Date
}

/** Maps a database row to the public shape (drops the password hash and preferences). */
export function toPublicUser(user: UserRow): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    locale: user.locale,
    timezone: user.timezone,
    avatarUrl: user.avatarUrl,
    role: user.role,
    emailVerified: user.emailVerifiedAt != null,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  }
}
