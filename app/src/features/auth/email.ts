/** Emails are compared case-insensitively: stored and looked up in this one normalized form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}
