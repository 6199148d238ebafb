import { useCallback, useEffect, useState } from 'react'
import { cachedRead } from './lib/cache.js'
import { useSession } from './session.js'

/** State of one cached read: data (maybe offline), loading, or the error message. */
export interface ReadState<T> {
  data?: T
  error?: string
  loading: boolean
  offline: boolean
  asOf?: number
  reload: () => void
}

/** Reads through the IndexedDB cache and tells the session when the answer is an offline copy. */
export function useRead<T>(key: string, fetcher: () => Promise<T>, version = 0): ReadState<T> {
  const { reportOffline } = useSession()
  const [state, setState] = useState<Omit<ReadState<T>, 'reload'>>({ loading: true, offline: false })
  const [tick, setTick] = useState(0)
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key names the fetcher; tick and version reload
  useEffect(() => {
    let live = true
    setState((s) => ({ ...s, loading: true }))
    cachedRead(key, fetcher)
      .then((r) => {
        if (!live) return
        setState({ data: r.data, loading: false, offline: r.offline, asOf: r.asOf })
        reportOffline(r.offline ? r.asOf : undefined)
      })
      .catch((err: Error) => {
        if (live) setState({ loading: false, offline: false, error: err.message })
      })
    return () => {
      live = false
    }
  }, [key, tick, version])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { ...state, reload }
}
