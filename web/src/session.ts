import type { Schema } from '@blueprint/sdk'
import { createContext, useContext } from 'react'

/** The signed-in user as GET /v1/me answers. */
export type Me = Schema<'User'>

/** What every view of a signed-in user needs. */
export interface Session {
  me: Me
  setMe: (me: Me) => void
  /** Ends the session here and on the server; drops cached data. */
  logout: () => Promise<void>
  /** After erasure: drops everything local without calling the API. */
  forget: () => Promise<void>
  /** Views report whether the API answered, for the offline banner. */
  reportOffline: (asOf: number | undefined) => void
}

export const SessionContext = createContext<Session | undefined>(undefined)

/** The current session; views are rendered only inside one. */
export function useSession(): Session {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside a session')
  return session
}
