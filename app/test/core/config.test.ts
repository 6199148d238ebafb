import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { ConfigError, loadConfig } from '../../src/config.js'
import { ENV } from '../../src/contract.js'
import { parseEnvFile } from '../helpers/env-file.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
// Variables config.ts reads, by literal name or by its name in contract.ts (`read.bool(ENV.x, ...)`).
const namesRead = (source: string) => [
  ...[...source.matchAll(/read\.\w+\(\s*'([A-Z0-9_]+)'/g)].map((m) => m[1] as string),
  ...[...source.matchAll(/read\.\w+\(\s*ENV\.(\w+)/g)].map((m) => ENV[m[1] as keyof typeof ENV]),
]

describe('configuration', () => {
  const minimal = { DATABASE_URL: 'postgresql://u@db:5432/app', REDIS_URL: 'redis://cache:6379' }

  it('applies documented defaults when only the required variables are set', () => {
    const config = loadConfig(minimal)
    expect(config).to.deep.include({ host: '0.0.0.0', port: 3000, keepAliveTimeoutMs: 65_000 })
    expect(config.shutdownTimeoutMs).to.equal(25_000)
    expect(config.session).to.deep.equal({
      idleSeconds: 1800,
      absoluteSeconds: 43_200,
      localCacheSeconds: 10,
      cookieName: '__Host-sid',
      cookieSecure: true,
      allowedOrigins: [],
    })
    expect(config.redis.cluster).to.equal(false)
    expect(config.passwords.argon2).to.deep.equal({ memoryKiB: 19_456, passes: 2, parallelism: 1 })
    expect(config.passwords.limits).to.deep.include({ queueMax: 32, queueTimeoutMs: 50 })
  })

  it('keeps the keep-alive timeout above the ALB idle timeout and shutdown below the ECS stop timeout', () => {
    const config = loadConfig(minimal)
    expect(config.keepAliveTimeoutMs).to.be.greaterThan(60_000)
    expect(config.shutdownTimeoutMs).to.be.lessThan(30_000)
  })

  it('stops with one error that lists every bad or missing variable', () => {
    let error: unknown
    try {
      loadConfig({ PORT: 'eighty', REDIS_CLUSTER: 'maybe', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' })
    } catch (err) {
      error = err
    }
    expect(error).to.be.instanceOf(ConfigError)
    const problems = (error as ConfigError).problems
    expect(problems).to.have.length(5)
    const message = (error as Error).message
    for (const name of ['PORT', 'REDIS_CLUSTER', 'LOG_LEVEL', 'DATABASE_URL', 'REDIS_URL']) {
      expect(message).to.include(name)
    }
  })

  it('reads cluster mode, several seed nodes and a hop-count trust proxy', () => {
    const config = loadConfig({
      ...minimal,
      REDIS_URL: 'rediss://a:6379,rediss://b:6379',
      REDIS_CLUSTER: 'true',
      TRUST_PROXY: '1',
    })
    expect(config.redis.cluster).to.equal(true)
    expect(config.trustProxy).to.equal(1)
  })

  it('accepts .env.example as is, with every variable the service reads', () => {
    const example = parseEnvFile(resolve(root, '.env.example'))
    const config = loadConfig(example)
    expect(config.session.cookieSecure).to.equal(false)
    // Every variable named in config.ts appears in .env.example.
    const source = readFileSync(resolve(root, 'app/src/config.ts'), 'utf8')
    const names = namesRead(source)
    expect(names.length).to.be.greaterThan(20)
    expect(names.filter((n) => !(n in example))).to.deep.equal([])
  })

  it('documents every variable in the configuration reference of README.md', () => {
    const doc = readFileSync(resolve(root, 'README.md'), 'utf8')
    const source = readFileSync(resolve(root, 'app/src/config.ts'), 'utf8')
    const names = namesRead(source)
    expect(names.filter((n) => !doc.includes(`\`${n}\``))).to.deep.equal([])
  })
})
