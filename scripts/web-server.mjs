// A small static server for the built web app (web/dist), used by `npm run up` and the e2e test.
// It behaves like CloudFront in front of the assets bucket: hashed files under assets/ cached for
// a year, index.html and config.js revalidated, unknown paths answered with index.html (the SPA
// fallback). config.js is written from `apiUrl`, so one build serves any API address.
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
}

/** Cache-Control of a published file: a year for content-hashed assets, revalidate for the rest. */
export function cacheControlFor(path) {
  return path.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
}

/** The per-deployment config.js: the API's origin for the client. */
export function configScript(apiUrl) {
  return `window.BLUEPRINT_CONFIG = ${JSON.stringify({ apiUrl })}\n`
}

/** Serves `dir` on host:port (0 = a free port); `apiUrl` may be a function read per request. */
export function startWebServer({ dir, apiUrl, host = '127.0.0.1', port = 0 }) {
  if (!existsSync(join(dir, 'index.html')))
    throw new Error(`${dir}/index.html missing: build the web app first`)
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '')
    if (path === 'config.js') {
      res.writeHead(200, { 'content-type': TYPES['.js'], 'cache-control': 'no-cache' })
      res.end(configScript(typeof apiUrl === 'function' ? apiUrl() : apiUrl))
      return
    }
    let file = normalize(join(dir, path))
    const inside = file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep)
    // SPA fallback: a client-side route (or anything not found) gets the app's shell.
    if (!inside || !existsSync(file) || !statSync(file).isFile()) file = join(dir, 'index.html')
    const rel = file.slice(dir.length + 1)
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': cacheControlFor(rel),
      'x-content-type-options': 'nosniff',
    })
    createReadStream(file).pipe(res)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      const address = server.address()
      resolve({
        url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
        close: () => new Promise((done) => server.close(() => done())),
      })
    })
  })
}

/** The uploads bucket's CORS rules for the web origins, as S3 (and s3rver) read them. */
export function s3CorsXml(origins) {
  const allowed = origins.map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`).join('')
  return `<CORSConfiguration><CORSRule>${allowed}<AllowedMethod>POST</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`
}
