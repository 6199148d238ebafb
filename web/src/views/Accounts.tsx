import { type FormEvent, useState } from 'react'
import { api } from '../lib/api.js'
import { ApiError, unwrap } from '../lib/errors.js'
import { sendOnce } from '../lib/idempotent.js'
import { formatMoney, parseMoney } from '../lib/money.js'
import { useRead } from '../useRead.js'
import { detail } from './Auth.js'

type Account = { id: string; currency: string; name: string | null; balance: string; createdAt: string }
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY', 'CHF']

/** The user's accounts with balances, opening an account, and sending a transfer. */
export function AccountsView({ version }: { version: number }) {
  const accounts = useRead('accounts', () => unwrap(api.GET('/v1/accounts')), version)
  const items = (accounts.data?.items ?? []) as Account[]
  return (
    <section aria-labelledby="accounts-title">
      <h2 id="accounts-title">Accounts</h2>
      {accounts.error && (
        <p className="error" role="alert">
          {accounts.error}
        </p>
      )}
      <ul className="cards" data-testid="accounts" data-offline={accounts.offline || undefined}>
        {items.map((a) => (
          <li key={a.id} className="card">
            <strong>{a.name ?? a.currency}</strong>
            <span className="balance" data-testid="balance">
              {formatMoney(a.balance, a.currency)}
            </span>
            <small>
              Account ID <code data-testid="account-id">{a.id}</code>
            </small>
          </li>
        ))}
      </ul>
      {!accounts.loading && items.length === 0 && !accounts.error && <p>No accounts yet.</p>}
      {!accounts.offline && <OpenAccount onOpened={accounts.reload} />}
      {!accounts.offline && items.length > 0 && <Transfer accounts={items} onSent={accounts.reload} />}
    </section>
  )
}

function OpenAccount({ onOpened }: { onOpened: () => void }) {
  const [error, setError] = useState<string>()
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    const name = String(form.get('name') ?? '').trim()
    try {
      await unwrap(
        api.POST('/v1/accounts', {
          body: { currency: String(form.get('currency')), ...(name ? { name } : {}) },
        }),
      )
      setError(undefined)
      onOpened()
    } catch (err) {
      setError(err instanceof ApiError ? detail(err) : 'The service cannot be reached.')
    }
  }
  return (
    <form onSubmit={submit} className="inline" aria-label="Open an account">
      <label>
        Currency
        <select name="currency" defaultValue="EUR">
          {CURRENCIES.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      </label>
      <label>
        Name (optional)
        <input name="name" maxLength={100} />
      </label>
      <button type="submit">Open account</button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  )
}

type Transaction = { id: string; amount: string; currency: string }

function Transfer({ accounts, onSent }: { accounts: Account[]; onSent: () => void }) {
  const [status, setStatus] = useState<{ ok: boolean; text: string }>()
  const [busy, setBusy] = useState(false)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const formElement = event.currentTarget
    const form = new FormData(formElement)
    const from = accounts.find((a) => a.id === form.get('from'))
    if (!from) return
    const amount = parseMoney(String(form.get('amount')), from.currency)
    if (!amount) {
      setStatus({ ok: false, text: `Enter a positive amount in ${from.currency}` })
      return
    }
    const description = String(form.get('description') ?? '').trim()
    setBusy(true)
    try {
      // One key for this press of "Send", reused by every retry: the service moves the money once.
      const { transaction } = await sendOnce((key) =>
        unwrap(
          api.POST('/v1/transactions', {
            params: { header: { 'idempotency-key': key } },
            body: {
              type: 'transfer',
              amount,
              currency: from.currency,
              fromAccountId: from.id,
              toAccountId: String(form.get('to')).trim(),
              ...(description ? { description } : {}),
            },
          }),
        ),
      )
      const sent = transaction as Transaction
      setStatus({ ok: true, text: `Sent ${formatMoney(sent.amount, sent.currency)}` })
      formElement.reset()
      onSent()
    } catch (err) {
      setStatus({ ok: false, text: err instanceof ApiError ? detail(err) : 'The service cannot be reached.' })
    } finally {
      setBusy(false)
    }
  }

  return (
    <form onSubmit={submit} aria-labelledby="transfer-title" className="stack">
      <h3 id="transfer-title">Send money</h3>
      <label>
        From
        <select name="from">
          {accounts.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name ?? a.currency} ({formatMoney(a.balance, a.currency)})
            </option>
          ))}
        </select>
      </label>
      <label>
        To account ID
        <input name="to" required pattern="[0-9a-fA-F-]{36}" title="The recipient's account ID" />
      </label>
      <label>
        Amount
        <input name="amount" required inputMode="decimal" autoComplete="off" />
      </label>
      <label>
        Description
        <input name="description" maxLength={500} />
      </label>
      <button type="submit" disabled={busy}>
        Send
      </button>
      {status && (
        <p
          className={status.ok ? 'ok' : 'error'}
          role={status.ok ? 'status' : 'alert'}
          data-testid="transfer-status"
        >
          {status.text}
        </p>
      )}
    </form>
  )
}
