/** Enrols a user's authenticator through the API and computes codes from its secret, as an app would. */
import type { FastifyInstance } from 'fastify'
import { base32Decode, totp } from '../../src/features/mfa/totp.js'
import { bearer } from './users.js'

/** A code for the time step `steps` away from now (the verifier allows one step of drift). */
export const codeAt = (secret: Buffer, steps = 0) => totp(secret, Date.now() + steps * 30_000)

/** Starts and confirms enrolment; returns the secret, the recovery codes and the rotated session token. */
export async function enrolMfa(app: FastifyInstance, token: string, password: string) {
  const start = await app.inject({
    method: 'POST',
    url: '/v1/me/mfa/enrolment',
    headers: bearer(token),
    payload: { password },
  })
  if (start.statusCode !== 201) throw new Error(`enrolment failed: ${start.statusCode} ${start.body}`)
  const secret = base32Decode(start.json().secret as string)
  const confirm = await app.inject({
    method: 'POST',
    url: '/v1/me/mfa/enrolment/confirm',
    headers: bearer(token),
    payload: { code: codeAt(secret) },
  })
  if (confirm.statusCode !== 200) throw new Error(`confirm failed: ${confirm.statusCode} ${confirm.body}`)
  const body = confirm.json() as { token: string; recoveryCodes: string[] }
  return { secret, recoveryCodes: body.recoveryCodes, token: body.token, start: start.json(), confirm }
}
