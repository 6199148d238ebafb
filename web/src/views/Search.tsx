import { type FormEvent, useState } from 'react'
import { api } from '../lib/api.js'
import { ApiError, unwrap } from '../lib/errors.js'
import { highlightRuns } from '../lib/highlight.js'

type Hit = { type: string; id: string; title: string; highlight: string; createdAt: string }

/** Full-text search over the user's transactions and files. */
export function SearchView() {
  const [hits, setHits] = useState<Hit[]>()
  const [error, setError] = useState<string>()
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const q = String(new FormData(event.currentTarget).get('q')).trim()
    if (!q) return
    try {
      const result = await unwrap(api.GET('/v1/search', { params: { query: { q, type: 'all', limit: 20 } } }))
      setHits(result.items as Hit[])
      setError(undefined)
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The service cannot be reached.')
    }
  }
  return (
    <section aria-labelledby="search-title">
      <h2 id="search-title">Search</h2>
      <search>
        <form onSubmit={submit} className="inline">
          <label>
            Search
            <input name="q" type="search" required maxLength={200} />
          </label>
          <button type="submit">Search</button>
        </form>
      </search>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {hits && (
        <ul className="list" data-testid="search-results">
          {hits.map((h) => (
            <li key={`${h.type}:${h.id}`}>
              <small>{h.type}</small>{' '}
              {highlightRuns(h.highlight || h.title).map((run, i) =>
                // biome-ignore lint/suspicious/noArrayIndexKey: runs of one excerpt never reorder
                run.match ? <mark key={i}>{run.text}</mark> : <span key={i}>{run.text}</span>,
              )}
            </li>
          ))}
          {hits.length === 0 && <li>No results.</li>}
        </ul>
      )}
    </section>
  )
}
