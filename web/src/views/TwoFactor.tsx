import { type FormEvent, useState } from 'react'
import { api } from '../lib/api.js'
import { ApiError, unwrap } from '../lib/errors.js'
import { factorOf, secondFactorMessage } from '../lib/second-factor.js'
import { useRead } from '../useRead.js'
import { detail } from './Auth.js'

/**
 * Two-factor authentication settings: enrol an authenticator app (the otpauth:// link and the
 * secret as text; no QR library), confirm with a code, see the recovery codes once, replace them,
 * disable. Replacing and disabling take the password and a code (or a recovery code).
 */
export function TwoFactorSettings({ onEnabled }: { onEnabled?: () => void } = {}) {
  const status = useRead('mfa', () => unwrap(api.GET('/v1/me/mfa')))
  const [pending, setPending] = useState<{ otpauthUri: string; secret: string }>()
  const [codes, setCodes] = useState<string[]>()
  const [message, setMessage] = useState<{ ok: boolean; text: string }>()
  const fail = (err: unknown) =>
    setMessage({
      ok: false,
      text:
        secondFactorMessage(err) ??
        (err instanceof ApiError ? detail(err) : 'The service cannot be reached.'),
    })
  const field = (event: FormEvent<HTMLFormElement>, name: string) =>
    String(new FormData(event.currentTarget).get(name)).trim()

  async function start(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    try {
      const body = { password: field(event, 'password') }
      setPending(await unwrap(api.POST('/v1/me/mfa/enrolment', { body })))
      setMessage(undefined)
    } catch (err) {
      fail(err)
    }
  }

  async function confirm(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    try {
      const answer = await unwrap(
        api.POST('/v1/me/mfa/enrolment/confirm', { body: { code: field(event, 'code') } }),
      )
      setPending(undefined)
      setCodes(answer.recoveryCodes)
      setMessage({ ok: true, text: 'Two-factor authentication is on; other sessions were signed out' })
      status.reload()
      onEnabled?.()
    } catch (err) {
      fail(err)
    }
  }

  async function disable(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    try {
      const body = { password: field(event, 'password'), ...factorOf(field(event, 'code')) }
      await unwrap(api.DELETE('/v1/me/mfa', { body }))
      setCodes(undefined)
      setMessage({ ok: true, text: 'Two-factor authentication is off' })
      status.reload()
    } catch (err) {
      fail(err)
    }
  }

  async function regenerate(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    try {
      const body = { password: field(event, 'password'), ...factorOf(field(event, 'code')) }
      const answer = await unwrap(api.POST('/v1/me/mfa/recovery-codes', { body }))
      setCodes(answer.recoveryCodes)
      setMessage({ ok: true, text: 'New recovery codes; the old ones no longer work' })
      status.reload()
    } catch (err) {
      fail(err)
    }
  }

  return (
    <section aria-labelledby="mfa-settings-title" className="stack">
      <h3 id="mfa-settings-title">Two-factor authentication</h3>
      {message && (
        <p className={message.ok ? 'ok' : 'error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
      {codes && (
        <div data-testid="recovery-codes">
          <p>Recovery codes: each works once. Keep them somewhere safe; they are not shown again.</p>
          <ul>
            {codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {status.data?.enabled ? (
        <>
          <p data-testid="mfa-status">On, {status.data.recoveryCodesLeft} recovery codes left</p>
          <form onSubmit={regenerate} className="stack" aria-label="Replace the recovery codes">
            <label>
              Password (for new recovery codes)
              <input name="password" type="password" required autoComplete="current-password" />
            </label>
            <FactorField />
            <button type="submit">Create new recovery codes</button>
          </form>
          <form onSubmit={disable} className="stack" aria-label="Turn off two-factor authentication">
            <label>
              Password (to turn off)
              <input name="password" type="password" required autoComplete="current-password" />
            </label>
            <FactorField />
            <button type="submit">Turn off two-factor authentication</button>
          </form>
        </>
      ) : pending ? (
        <form onSubmit={confirm} className="stack" aria-label="Confirm two-factor authentication">
          <p>
            Add this account to your authenticator app: <a href={pending.otpauthUri}>open in the app</a>, or
            enter the key by hand.
          </p>
          <p>
            Key: <code data-testid="mfa-secret">{pending.secret}</code>
          </p>
          <p className="uri" data-testid="mfa-uri">
            {pending.otpauthUri}
          </p>
          <label>
            Code from the app
            <input name="code" required inputMode="numeric" pattern="[0-9]{6}" autoComplete="one-time-code" />
          </label>
          <button type="submit">Confirm</button>
        </form>
      ) : (
        !status.loading && (
          <form onSubmit={start} className="stack" aria-label="Set up two-factor authentication">
            <p data-testid="mfa-status">Off</p>
            <label>
              Password (to set up)
              <input name="password" type="password" required autoComplete="current-password" />
            </label>
            <button type="submit">Set up two-factor authentication</button>
          </form>
        )
      )}
    </section>
  )
}

/** The second factor of a sensitive change: the current code, or one recovery code (`name="code"`). */
export function FactorField() {
  return (
    <label>
      Code from your authenticator app, or a recovery code
      <input name="code" required autoComplete="one-time-code" maxLength={40} />
    </label>
  )
}
