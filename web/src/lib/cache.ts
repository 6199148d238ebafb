/**
 * The last good answer of each read route, kept in IndexedDB (idb-keyval), so a page opened or
 * refreshed while the API is unreachable still shows data, marked offline with its age.
 */
import { clear, createStore, get, set } from 'idb-keyval'
import { NetworkError } from './errors.js'

const store = createStore('blueprint-cache', 'reads')

/** A read's data, when it was fetched, and whether it came from the cache because the API was away. */
export interface CachedRead<T> {
  data: T
  asOf: number
  offline: boolean
}

/** Fetches and remembers; on a network failure answers the remembered copy, or rethrows without one. */
export async function cachedRead<T>(key: string, fetcher: () => Promise<T>): Promise<CachedRead<T>> {
  try {
    const data = await fetcher()
    const asOf = Date.now()
    // A full or blocked IndexedDB must not break an answer the API gave.
    await set(key, { data, asOf }, store).catch(() => undefined)
    return { data, asOf, offline: false }
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err
    const hit = await get<{ data: T; asOf: number }>(key, store).catch(() => undefined)
    if (!hit) throw err
    return { ...hit, offline: true }
  }
}

/** Stores an answer obtained otherwise (the user a login returned) as the last good one of `key`. */
export async function remember<T>(key: string, data: T): Promise<void> {
  await set(key, { data, asOf: Date.now() }, store).catch(() => undefined)
}

/** Forgets every cached answer: on logout and on erasure, so the next person sees nothing. */
export function clearCache(): Promise<void> {
  return clear(store)
}
