import { readFileSync } from 'node:fs'
import { expect } from 'chai'
import { parse } from 'yaml'
import { webAppCsp } from '../src/edge.js'
import { all, hasProps, idOf, json, one, stack } from './helpers.js'

const T = {
  distribution: 'aws:cloudfront/distribution:Distribution',
  headers: 'aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy',
  cache: 'aws:cloudfront/cachePolicy:CachePolicy',
  cors: 'aws:s3/bucketCorsConfiguration:BucketCorsConfiguration',
  taskDefinition: 'aws:ecs/taskDefinition:TaskDefinition',
}

describe('web publishing: the web app on CloudFront (us-east owns the distribution)', () => {
  it('serves index.html at / and for unknown paths (the SPA fallback)', async () => {
    const { inventory } = await stack('us-east')
    const cdn = one(inventory, T.distribution)
    hasProps(cdn, { defaultRootObject: 'index.html' })
    const errors = cdn.inputs.customErrorResponses as {
      errorCode: number
      responseCode: number
      responsePagePath: string
    }[]
    expect(errors.map((e) => [e.errorCode, e.responseCode, e.responsePagePath])).to.deep.equal([
      [403, 200, '/index.html'],
      [404, 200, '/index.html'],
    ])
  })

  it('attaches a response-headers policy with CSP and HSTS to the default behaviour', async () => {
    const { inventory } = await stack('us-east')
    const policy = one(inventory, T.headers)
    const security = (policy.inputs.securityHeadersConfig ?? {}) as Record<string, Record<string, unknown>>
    expect(security.strictTransportSecurity).to.include({
      accessControlMaxAgeSec: 63072000,
      includeSubdomains: true,
    })
    const csp = String(security.contentSecurityPolicy?.contentSecurityPolicy)
    expect(csp).to.include("script-src 'self'").and.include("frame-ancestors 'none'")
    expect(csp, 'the API the app calls').to.include('https://api.blueprint.example.com')
    const behaviour = one(inventory, T.distribution).inputs.defaultCacheBehavior as Record<string, unknown>
    expect(behaviour.responseHeadersPolicyId).to.equal(idOf(policy))
  })

  it('keeps the 24 h default TTL for static assets without their own Cache-Control', async () => {
    const { inventory } = await stack('us-east')
    hasProps(one(inventory, T.cache), { defaultTtl: 86400, maxTtl: 31536000 })
  })

  it('allows no inline script or foreign script origin in the CSP', () => {
    const scriptSrc = webAppCsp('https://api.example.com')
      .split('; ')
      .find((d) => d.startsWith('script-src'))
    expect(scriptSrc).to.equal("script-src 'self'")
  })
})

for (const name of ['us-east', 'eu-west'] as const) {
  describe(`web publishing (${name}): the browser reaches the API and the uploads bucket`, () => {
    it('lets the static domain post presigned uploads to the uploads bucket (S3 CORS)', async () => {
      const { inventory } = await stack(name)
      const cors = all(inventory, T.cors)
      expect(cors, 'one CORS configuration').to.have.length(1)
      const rules = (cors[0]?.inputs.corsRules ?? []) as {
        allowedOrigins: string[]
        allowedMethods: string[]
      }[]
      expect(rules[0]?.allowedOrigins).to.deep.equal(['https://static.blueprint.example.com'])
      expect(rules[0]?.allowedMethods).to.include('POST')
      expect(cors[0]?.inputs.bucket).to.equal(`blueprint-${name}-uploads-123456789012`)
    })

    it('tells the service its web origin and public URL, with the docs UI off', async () => {
      const { inventory } = await stack(name)
      type Container = { environment?: { name: string; value: string }[] }
      const [app] = json<Container[]>(one(inventory, T.taskDefinition, '-service'), 'containerDefinitions')
      const env = Object.fromEntries((app?.environment ?? []).map((e) => [e.name, e.value]))
      expect(env).to.include({
        WEB_ORIGINS: 'https://static.blueprint.example.com',
        PUBLIC_API_URL: 'https://api.blueprint.example.com',
        API_DOCS_UI: 'false',
      })
    })
  })
}

describe('web publishing: the deploy workflow', () => {
  type Step = { name?: string; run?: string }
  const workflow = parse(readFileSync('.github/workflows/deploy-stack.yml', 'utf8')) as {
    jobs: { deploy: { steps: Step[] } }
  }
  const steps = workflow.jobs.deploy.steps
  const run = (fragment: string) => steps.find((s) => s.name?.includes(fragment))?.run ?? ''

  it('publishes after pulumi up, hashed files for a year and entry points revalidated', () => {
    const names = steps.map((s) => s.name ?? (s as { uses?: string }).uses ?? '')
    expect(names.indexOf('build the web app')).to.be.greaterThan(names.indexOf('pulumi/actions@v6'))
    const publish = run('publish the web app')
    expect(publish).to.match(/s3 sync web\/dist\/assets .*max-age=31536000, immutable/)
    expect(publish).to.match(/index\.html.*--cache-control "no-cache"/)
    expect(publish).to.match(/config\.js.*--cache-control "no-cache"/)
    // Hashed files go up before the index.html that names them.
    expect(publish.indexOf('s3 sync')).to.be.lessThan(publish.indexOf('s3 cp web/dist/index.html'))
  })

  it('invalidates the entry points once per release where the distribution lives', () => {
    expect(run('invalidate')).to.match(/create-invalidation .*--paths \/ \/index\.html \/config\.js/)
  })
})
