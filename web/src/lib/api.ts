import { createApiClient } from '@blueprint/sdk'
import { apiUrl } from './config.js'

/** The typed client; the session travels as the HttpOnly cookie the login sets. */
export const api = createApiClient({ baseUrl: apiUrl, credentials: 'include' })
