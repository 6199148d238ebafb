import { type FormEvent, useState } from 'react'
import { api } from '../lib/api.js'
import { clearCache, remember } from '../lib/cache.js'
import { ApiError, unwrap } from '../lib/errors.js'
import { secondFactorMessage } from '../lib/second-factor.js'
import type { Me } from '../session.js'

/** Sign in (with the second step when the account has two-factor authentication), or register. */
export function AuthView({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  // Set once the password was right on an account with MFA: the form asks for the code next.
  const [challenge, setChallenge] = useState<string>()

  async function signedIn(user: Me) {
    // A previous user's cached answers must never show for this one.
    await clearCache()
    // Cached like a GET /v1/me, so a reload while the API is away still knows who is signed in.
    await remember('me', user)
    onSignedIn(user)
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const email = String(form.get('email'))
    const password = String(form.get('password'))
    setBusy(true)
    setError(undefined)
    try {
      if (mode === 'register') {
        await unwrap(
          api.POST('/v1/auth/register', { body: { email, password, name: String(form.get('name')) } }),
        )
      }
      const answer = await unwrap(api.POST('/v1/auth/login', { body: { email, password } }))
      if ('mfaRequired' in answer) setChallenge(answer.challenge)
      else await signedIn(answer.user as Me)
    } catch (err) {
      setError(err instanceof ApiError ? detail(err) : 'The service cannot be reached; try again.')
    } finally {
      setBusy(false)
    }
  }

  if (challenge) {
    return (
      <main className="auth">
        <h1>Blueprint</h1>
        <SecondStep
          challenge={challenge}
          onSignedIn={signedIn}
          onRestart={() => {
            setChallenge(undefined)
            setError('The sign-in expired; enter your password again.')
          }}
        />
      </main>
    )
  }

  return (
    <main className="auth">
      <h1>Blueprint</h1>
      <form onSubmit={submit} aria-labelledby="auth-title">
        <h2 id="auth-title">{mode === 'login' ? 'Sign in' : 'Create an account'}</h2>
        {mode === 'register' && (
          <label>
            Name
            <input name="name" required maxLength={100} autoComplete="name" />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" required autoComplete="email" />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            required
            minLength={mode === 'register' ? 8 : 1}
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
      </form>
      <button type="button" className="link" onClick={() => setMode(mode === 'login' ? 'register' : 'login')}>
        {mode === 'login' ? 'New here? Create an account' : 'Have an account? Sign in'}
      </button>
    </main>
  )
}

/** The login's second step: a code from the authenticator app, or one recovery code. */
function SecondStep({
  challenge,
  onSignedIn,
  onRestart,
}: {
  challenge: string
  onSignedIn: (me: Me) => Promise<void>
  onRestart: () => void
}) {
  const [recovery, setRecovery] = useState(false)
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const value = String(new FormData(event.currentTarget).get('code')).trim()
    setBusy(true)
    setError(undefined)
    try {
      const body = recovery ? { challenge, recoveryCode: value } : { challenge, code: value }
      const { user } = await unwrap(api.POST('/v1/auth/login/mfa', { body }))
      await onSignedIn(user as Me)
    } catch (err) {
      if (err instanceof ApiError && err.code === 'INVALID_MFA_CHALLENGE') return onRestart()
      // Codes are locked for the day: only a recovery code can sign in now, so ask for one.
      if (err instanceof ApiError && err.code === 'MFA_CODES_LOCKED') setRecovery(true)
      setError(
        secondFactorMessage(err) ??
          (err instanceof ApiError ? detail(err) : 'The service cannot be reached; try again.'),
      )
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <form onSubmit={submit} aria-labelledby="mfa-title">
        <h2 id="mfa-title">Two-factor authentication</h2>
        <label>
          {recovery ? 'Recovery code' : 'Authentication code'}
          <input
            key={recovery ? 'recovery' : 'code'}
            name="code"
            required
            autoComplete="one-time-code"
            {...(recovery ? { maxLength: 40 } : { inputMode: 'numeric', pattern: '[0-9]{6}', maxLength: 6 })}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Verify
        </button>
      </form>
      <button type="button" className="link" onClick={() => setRecovery(!recovery)}>
        {recovery ? 'Use the authenticator app' : 'Use a recovery code'}
      </button>
    </>
  )
}

/** The error and its field details in one sentence. */
export function detail(err: ApiError): string {
  const fields = err.details.map((d) => `${d.field} ${d.message}`).join('; ')
  return fields ? `${err.message}: ${fields}` : err.message
}
