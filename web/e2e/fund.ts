/**
 * Money enters only through the trusted funding path, never the web client. The one place the
 * journey funds a user: today a deposit the user makes through the API; switch this function to the
 * funding path (signed webhook or admin treasury operation) when it lands.
 */
export async function fundUser(
  apiUrl: string,
  user: { email: string; password: string },
  accountId: string,
  amountMinor: string,
  currency: string,
): Promise<void> {
  const login = await fetch(`${apiUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: user.password }),
  })
  if (!login.ok) throw new Error(`funding login failed: ${login.status} ${await login.text()}`)
  const { token } = (await login.json()) as { token: string }
  const res = await fetch(`${apiUrl}/v1/transactions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': crypto.randomUUID(),
    },
    body: JSON.stringify({ type: 'deposit', amount: amountMinor, currency, toAccountId: accountId }),
  })
  if (res.status !== 201) throw new Error(`funding failed: ${res.status} ${await res.text()}`)
}
