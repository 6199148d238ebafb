/** Deployment settings from /config.js (written per deployment, so one build serves every stack). */
declare global {
  interface Window {
    BLUEPRINT_CONFIG?: { apiUrl?: string }
  }
}

/** The API's origin; the page's own origin when config.js names none. */
export const apiUrl: string = (window.BLUEPRINT_CONFIG?.apiUrl || window.location.origin).replace(/\/$/, '')
