/**
 * Password policy after NIST SP 800-63B and OWASP: length only (8 to 128 characters, counted as
 * Unicode code points), no composition rules, and a check against commonly used passwords.
 */
import type { FieldError } from '../../platform/errors.js'

export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 128

// The most common passwords of 8+ characters from public breach corpora (shorter ones already fail
// the length rule). Kept small on purpose: a full breached-password check belongs to a service
// such as HIBP's k-anonymity API.
const COMMON_PASSWORDS = new Set([
  '12345678',
  '123456789',
  '1234567890',
  '11111111',
  '00000000',
  '87654321',
  '12341234',
  '11223344',
  '123123123',
  '1q2w3e4r',
  '1qaz2wsx',
  'qwertyuiop',
  'qwerty123',
  'qwerty12345',
  'password',
  'password1',
  'password12',
  'password123',
  'password!',
  'passw0rd',
  'p@ssw0rd',
  'iloveyou',
  'iloveyou1',
  'sunshine',
  'princess',
  'football',
  'baseball',
  'basketball',
  'superman',
  'trustno1',
  'welcome1',
  'welcome123',
  'letmein1',
  'abc12345',
  'abcd1234',
  'aa123456',
  'asdfghjkl',
  'zxcvbnm123',
  'starwars',
  'whatever',
  'computer',
  'michelle',
  'jennifer',
  'charlie1',
  'changeme',
  'administrator',
  'admin123',
  'qazwsxedc',
  'q1w2e3r4t5',
  'monkey123',
  'dragon123',
  'master123',
  'shadow123',
  'liverpool',
  'chocolate',
  'butterfly',
  'samsung1',
  'google123',
  'secret123',
])

/** Returns the problems of a candidate password (empty when acceptable). */
export function checkPassword(
  password: string,
  context: { email?: string; name?: string } = {},
): FieldError[] {
  const length = [...password].length
  if (length < PASSWORD_MIN_LENGTH) {
    return [{ field: 'password', message: `must be at least ${PASSWORD_MIN_LENGTH} characters` }]
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return [{ field: 'password', message: `must be at most ${PASSWORD_MAX_LENGTH} characters` }]
  }
  const lowered = password.toLowerCase()
  if (COMMON_PASSWORDS.has(lowered) || /^(.)\1+$/.test(password)) {
    return [{ field: 'password', message: 'is too common; choose a less guessable password' }]
  }
  // NIST also asks to reject context-specific words such as the account's own name or email.
  const localPart = context.email?.split('@')[0]?.toLowerCase()
  if (localPart && localPart.length >= 4 && lowered === localPart) {
    return [{ field: 'password', message: 'must not be your email address' }]
  }
  return []
}
