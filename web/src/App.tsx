import { useCallback, useEffect, useMemo, useState } from 'react'
import { api } from './lib/api.js'
import { cachedRead, clearCache } from './lib/cache.js'
import { unwrap } from './lib/errors.js'
import { formatMoney } from './lib/money.js'
import { forgetNotifications, type LiveNotification, subscribe } from './lib/notifications.js'
import { type Me, type Session, SessionContext } from './session.js'
import { AccountsView } from './views/Accounts.js'
import { ActivityView } from './views/Activity.js'
import { AuthView } from './views/Auth.js'
import { FilesView } from './views/Files.js'
import { ProfileView } from './views/Profile.js'
import { ReportView } from './views/Report.js'
import { SearchView } from './views/Search.js'
import { TwoFactorSettings } from './views/TwoFactor.js'

const TABS = ['Accounts', 'Activity', 'Files', 'Search', 'Report', 'Profile'] as const
type Tab = (typeof TABS)[number]

/** The whole client: sign-in, or the signed-in views with live notifications and the offline banner. */
export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined)
  const [offlineAsOf, setOfflineAsOf] = useState<number | undefined>()
  const [tab, setTab] = useState<Tab>('Accounts')
  const [live, setLive] = useState<LiveNotification[]>([])
  const [connected, setConnected] = useState(false)
  // REQUIRE_MFA on the server and no second factor yet: the session can only enrol one.
  const [mustEnrol, setMustEnrol] = useState(false)

  useEffect(() => {
    cachedRead('me', () => unwrap(api.GET('/v1/me')))
      .then((r) => {
        setMe(r.data as Me)
        setOfflineAsOf(r.offline ? r.asOf : undefined)
      })
      // Signed out (401), or no answer and nothing cached: the sign-in form.
      .catch(() => setMe(null))
  }, [])

  useEffect(() => {
    if (!me) return
    unwrap(api.GET('/v1/me/mfa'))
      .then((s) => setMustEnrol(s.required && !s.enabled))
      // Offline or refused: the views show that themselves.
      .catch(() => undefined)
  }, [me])

  useEffect(() => {
    if (!me || mustEnrol) return
    return subscribe((n) => setLive((list) => [n, ...list].slice(0, 50)), setConnected)
  }, [me, mustEnrol])

  const forget = useCallback(async () => {
    await clearCache()
    forgetNotifications()
    setLive([])
    setMe(null)
    setTab('Accounts')
  }, [])

  const session = useMemo<Session | undefined>(
    () =>
      me
        ? {
            me,
            setMe,
            forget,
            logout: async () => {
              await unwrap(api.POST('/v1/auth/logout')).catch(() => undefined)
              await forget()
            },
            reportOffline: setOfflineAsOf,
          }
        : undefined,
    [me, forget],
  )

  if (me === undefined) return <p className="loading">Loading…</p>
  if (!session) return <AuthView onSignedIn={setMe} />

  return (
    <SessionContext.Provider value={session}>
      <header className="top">
        <h1>Blueprint</h1>
        <span className="who">{session.me.name}</span>
        <button type="button" onClick={() => void session.logout()}>
          Log out
        </button>
      </header>
      {offlineAsOf !== undefined && (
        <p className="offline" role="status" data-testid="offline">
          Offline: showing data as of {new Date(offlineAsOf).toLocaleString()}
        </p>
      )}
      {mustEnrol ? (
        <main>
          <p>This service requires two-factor authentication: set it up to continue.</p>
          <TwoFactorSettings onEnabled={() => setMustEnrol(false)} />
        </main>
      ) : (
        <>
          <nav aria-label="Sections">
            {TABS.map((t) => (
              <button
                key={t}
                type="button"
                aria-current={tab === t ? 'page' : undefined}
                onClick={() => setTab(t)}
              >
                {t}
                {t === 'Activity' && live.length > 0 ? ` (${live.length})` : ''}
              </button>
            ))}
          </nav>
          <LiveToast latest={live[0]} />
          <main>
            {tab === 'Accounts' && <AccountsView version={live.length} />}
            {tab === 'Activity' && <ActivityView live={live} connected={connected} />}
            {tab === 'Files' && <FilesView />}
            {tab === 'Search' && <SearchView />}
            {tab === 'Report' && <ReportView version={live.length} />}
            {tab === 'Profile' && <ProfileView />}
          </main>
        </>
      )}
    </SessionContext.Provider>
  )
}

/** Announces the newest live notification to screen readers and sighted users alike. */
function LiveToast({ latest }: { latest: LiveNotification | undefined }) {
  return (
    <div className="toast" role="status" aria-live="polite" data-testid="live-toast">
      {latest ? describe(latest) : ''}
    </div>
  )
}

/** A one-line description of a notification. */
export function describe(n: LiveNotification): string {
  const p = n.payload as { amount?: string; currency?: string; fileName?: string; description?: string }
  const money = p.amount && p.currency ? formatMoney(p.amount, p.currency) : ''
  const note = p.description ? ` (${p.description})` : ''
  switch (n.type) {
    case 'transfer.in':
      return `Transfer received: ${money}${note}`
    case 'transfer.out':
      return `Transfer sent: ${money}${note}`
    case 'deposit.received':
      return `Deposit received: ${money}`
    case 'upload.completed':
      return `Upload completed: ${p.fileName ?? ''}`
    case 'security.login':
      return 'New sign-in to your account'
    default:
      return n.type
  }
}
