import { type FormEvent, useState } from 'react'
import { api } from '../lib/api.js'
import { clearCache, remember } from '../lib/cache.js'
import { ApiError, unwrap } from '../lib/errors.js'
import type { Me } from '../session.js'

/** Sign in, or create an account and sign in. */
export function AuthView({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login')
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)

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
      const { user } = await unwrap(api.POST('/v1/auth/login', { body: { email, password } }))
      // A previous user's cached answers must never show for this one.
      await clearCache()
      // Cached like a GET /v1/me, so a reload while the API is away still knows who is signed in.
      await remember('me', user)
      onSignedIn(user as Me)
    } catch (err) {
      setError(err instanceof ApiError ? detail(err) : 'The service cannot be reached; try again.')
    } finally {
      setBusy(false)
    }
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

/** The error and its field details in one sentence. */
export function detail(err: ApiError): string {
  const fields = err.details.map((d) => `${d.field} ${d.message}`).join('; ')
  return fields ? `${err.message}: ${fields}` : err.message
}
