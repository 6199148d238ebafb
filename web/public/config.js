// Per-deployment settings. The deploy workflow and `npm run up` overwrite this file; this one is
// for `npm run dev -w web` against the service on its default port.
window.BLUEPRINT_CONFIG = { apiUrl: 'http://localhost:3000' }
