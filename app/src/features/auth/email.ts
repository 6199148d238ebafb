import { createHash } from 'node:crypto'

/** Emails are compared case-insensitively: stored and looked up in this one normalized form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

/** SHA-256 of the normalized address: a key for Redis that names an account without holding its email. */
export function hashedEmail(email: string): string {
  return createHash('sha256').update(normalizeEmail(email)).digest('hex')
}
