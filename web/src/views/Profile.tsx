import { type FormEvent, useState } from 'react'
import { api } from '../lib/api.js'
import { clearCache, remember } from '../lib/cache.js'
import { apiUrl } from '../lib/config.js'
import { ApiError, unwrap } from '../lib/errors.js'
import { factorOf, secondFactorMessage } from '../lib/second-factor.js'
import type { Me } from '../session.js'
import { useSession } from '../session.js'
import { useRead } from '../useRead.js'
import { detail } from './Auth.js'
import { FactorField, TwoFactorSettings } from './TwoFactor.js'

/** Profile, preferences, two-factor authentication, the GDPR export and erasure. */
export function ProfileView() {
  const { me, setMe, forget } = useSession()
  const prefs = useRead('preferences', () => unwrap(api.GET('/v1/me/preferences')))
  // With MFA on, erasure also takes a code; the service's MFA_CODE_REQUIRED reveals the field too.
  const mfa = useRead('mfa', () => unwrap(api.GET('/v1/me/mfa')))
  const [askCode, setAskCode] = useState(false)
  const needsCode = askCode || mfa.data?.enabled === true
  const [message, setMessage] = useState<{ ok: boolean; text: string }>()
  const say = (ok: boolean, text: string) => setMessage({ ok, text })
  const fail = (err: unknown) => {
    if (err instanceof ApiError && err.code === 'MFA_CODE_REQUIRED') setAskCode(true)
    say(
      false,
      secondFactorMessage(err) ?? (err instanceof ApiError ? detail(err) : 'The service cannot be reached.'),
    )
  }
  const preferences = (prefs.data?.preferences ?? {}) as { theme?: string; emailNotifications?: boolean }

  async function saveProfile(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    try {
      const user = await unwrap(
        api.PATCH('/v1/me', {
          body: {
            name: String(form.get('name')),
            locale: String(form.get('locale')),
            timezone: String(form.get('timezone')),
          },
        }),
      )
      setMe(user as Me)
      await remember('me', user)
      say(true, 'Profile saved')
    } catch (err) {
      fail(err)
    }
  }

  async function savePreferences(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    try {
      await unwrap(
        api.PUT('/v1/me/preferences', {
          body: {
            preferences: { theme: String(form.get('theme')), emailNotifications: form.get('email') === 'on' },
          },
        }),
      )
      prefs.reload()
      say(true, 'Preferences saved')
    } catch (err) {
      fail(err)
    }
  }

  async function exportData() {
    try {
      // The cookie authenticates a plain fetch too; the file is built here, not by the server.
      const res = await fetch(`${apiUrl}/v1/me/export`, { credentials: 'include' })
      if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, 'The export failed')
      const blob = await res.blob()
      const link = document.createElement('a')
      link.href = URL.createObjectURL(blob)
      link.download = `export-${me.id}.json`
      link.click()
      URL.revokeObjectURL(link.href)
      say(true, 'Export downloaded')
    } catch (err) {
      fail(err)
    }
  }

  async function erase(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const password = String(form.get('password'))
    const code = form.get('code')
    if (!window.confirm('Erase your data for good? This cannot be undone.')) return
    try {
      const body = { password, ...(code === null ? {} : factorOf(String(code))) }
      await unwrap(api.DELETE('/v1/me', { body }))
      await clearCache()
      await forget()
    } catch (err) {
      fail(err)
    }
  }

  return (
    <section aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      {message && (
        <p className={message.ok ? 'ok' : 'error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
      <form onSubmit={saveProfile} className="stack" aria-label="Profile">
        <p>
          Signed in as <strong>{me.email}</strong>
        </p>
        <label>
          Name
          <input name="name" defaultValue={me.name} required maxLength={100} />
        </label>
        <label>
          Locale
          <input name="locale" defaultValue={me.locale ?? 'en'} maxLength={35} />
        </label>
        <label>
          Time zone
          <input name="timezone" defaultValue={me.timezone ?? 'UTC'} maxLength={64} />
        </label>
        <button type="submit">Save profile</button>
      </form>
      {!prefs.loading && (
        <form onSubmit={savePreferences} className="stack" aria-label="Preferences">
          <h3>Preferences</h3>
          <label>
            Theme
            <select name="theme" defaultValue={preferences.theme ?? 'system'}>
              <option value="system">System</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          <label className="check">
            <input name="email" type="checkbox" defaultChecked={preferences.emailNotifications ?? true} />
            Email me about transfers
          </label>
          <button type="submit">Save preferences</button>
        </form>
      )}
      <TwoFactorSettings />
      <h3>Your data</h3>
      <button type="button" onClick={() => void exportData()}>
        Download my data (JSON)
      </button>
      <form onSubmit={erase} className="stack danger" aria-label="Erase my data">
        <label>
          Password (to confirm erasure)
          <input name="password" type="password" required autoComplete="current-password" />
        </label>
        {needsCode && <FactorField />}
        <button type="submit">Erase my data</button>
      </form>
    </section>
  )
}
