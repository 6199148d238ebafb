/**
 * Who must have two-factor authentication. With REQUIRE_MFA every user must: until they enrol, a
 * login gives a session restricted to enrolling (its role is `ENROLMENT_ONLY_ROLE`; the protected
 * scope refuses it everywhere else with 403 MFA_ENROLMENT_REQUIRED), and confirming the enrolment
 * rotates it into a full session with the user's real role. The restriction rides on the session's
 * role, which the per-request session check already returns: enforcing it costs no extra lookup.
 * Sessions that predate the switch carry their real role; they also carry whether they began with
 * a second factor (`Session.mfa`), and the protected scope restricts those that did not.
 */
import type { Config } from '../../config.js'

/** The session role of a user who must enrol before doing anything else. */
export const ENROLMENT_ONLY_ROLE = 'mfa-enrolment'

/** The routes (method and route URL) an enrolment-only session may call. */
export const ENROLMENT_ROUTES = new Set([
  'GET /v1/me',
  'GET /v1/me/mfa',
  'POST /v1/me/mfa/enrolment',
  'POST /v1/me/mfa/enrolment/confirm',
])

/** Whether the policy makes this user have MFA. */
export function mfaRequired(config: Config['mfa'], role: string): boolean {
  return config.requireForAll || (config.requireForAdmin && role === 'admin')
}
