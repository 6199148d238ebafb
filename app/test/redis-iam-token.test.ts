import { createHash, createHmac } from 'node:crypto'
import { expect } from 'chai'
import { type ConfigError, loadConfig } from '../src/config.js'
import { elastiCacheIamToken } from '../src/platform/redis-iam.js'
import { testEnv } from './helpers/app.js'

const TARGET = {
  replicationGroupId: 'blueprint-us-east-redis',
  userId: 'blueprint-us-east-redis-service',
  region: 'us-east-1',
}
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
}
const AT = new Date('2026-01-02T03:04:05Z')

/** SigV4 query signing written out from the spec, independently of the SDK signer the service uses. */
function expectedSignature(query: URLSearchParams, host: string, secret: string): string {
  const enc = (v: string) =>
    encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  const canonicalQuery = [...query.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&')
  const emptyBody = createHash('sha256').update('').digest('hex')
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${host}`, '', 'host', emptyBody].join('\n')
  const date = query.get('X-Amz-Date') ?? ''
  const scope = `${date.slice(0, 8)}/us-east-1/elasticache/aws4_request`
  const toSign = [
    'AWS4-HMAC-SHA256',
    date,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n')
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()
  let key = hmac(`AWS4${secret}`, date.slice(0, 8))
  for (const part of ['us-east-1', 'elasticache', 'aws4_request']) key = hmac(key, part)
  return createHmac('sha256', key).update(toSign).digest('hex')
}

describe('ElastiCache IAM auth token', () => {
  it('is the presigned connect request for the replication group and user, without a scheme', async () => {
    const token = await elastiCacheIamToken(TARGET, { credentials: CREDENTIALS, signingDate: AT })
    expect(token).not.to.match(/^https?:/)
    expect(token.startsWith('blueprint-us-east-redis/?')).to.equal(true)
    const query = new URLSearchParams(token.slice(token.indexOf('?') + 1))
    expect(query.get('Action')).to.equal('connect')
    expect(query.get('User')).to.equal('blueprint-us-east-redis-service')
    expect(query.get('ResourceType'), 'only serverless caches carry it').to.equal(null)
    expect(query.get('X-Amz-Algorithm')).to.equal('AWS4-HMAC-SHA256')
    expect(query.get('X-Amz-Expires')).to.equal('900')
    expect(query.get('X-Amz-Date')).to.equal('20260102T030405Z')
    expect(query.get('X-Amz-Credential')).to.equal('AKIDEXAMPLE/20260102/us-east-1/elasticache/aws4_request')
    expect(query.get('X-Amz-SignedHeaders')).to.equal('host')
    expect(query.get('X-Amz-Signature')).to.equal(
      expectedSignature(query, TARGET.replicationGroupId, CREDENTIALS.secretAccessKey),
    )
  })

  it('is deterministic for fixed credentials and clock, and changes with the user it names', async () => {
    const a = await elastiCacheIamToken(TARGET, { credentials: CREDENTIALS, signingDate: AT })
    const b = await elastiCacheIamToken(TARGET, { credentials: CREDENTIALS, signingDate: AT })
    const other = await elastiCacheIamToken(
      { ...TARGET, userId: 'someone-else' },
      { credentials: CREDENTIALS, signingDate: AT },
    )
    expect(a).to.equal(b)
    expect(new URLSearchParams(other.split('?')[1]).get('X-Amz-Signature')).not.to.equal(
      new URLSearchParams(a.split('?')[1]).get('X-Amz-Signature'),
    )
  })

  it('carries the session token of temporary (task role) credentials, signed', async () => {
    const token = await elastiCacheIamToken(TARGET, {
      credentials: { ...CREDENTIALS, sessionToken: 'FwoGZXIvYXdzEXAMPLE/+=' },
      signingDate: AT,
    })
    const query = new URLSearchParams(token.split('?')[1])
    expect(query.get('X-Amz-Security-Token')).to.equal('FwoGZXIvYXdzEXAMPLE/+=')
    expect(query.get('X-Amz-Signature')).to.equal(
      expectedSignature(query, TARGET.replicationGroupId, CREDENTIALS.secretAccessKey),
    )
  })

  it('signs with the default credential chain when none is given (environment credentials here)', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'secret-from-env' })
    try {
      const token = await elastiCacheIamToken(TARGET)
      expect(new URLSearchParams(token.split('?')[1]).get('X-Amz-Credential')).to.match(
        /^AKIDFROMENV\/\d{8}\/us-east-1\/elasticache\/aws4_request$/,
      )
    } finally {
      process.env = saved
    }
  })
})

describe('Redis IAM configuration (REDIS_IAM_*)', () => {
  const iamEnv = {
    REDIS_URL:
      'rediss://blueprint-us-east-redis-service@clustercfg.blueprint-us-east-redis.x1y2z3.use1.cache.amazonaws.com:6379',
    REDIS_CLUSTER: 'true',
    REDIS_IAM_AUTH: 'true',
    REDIS_IAM_REPLICATION_GROUP_ID: 'blueprint-us-east-redis',
    REDIS_IAM_REGION: 'us-east-1',
  }
  const problems = (env: Record<string, string | undefined>) => {
    try {
      loadConfig(testEnv(env))
      return []
    } catch (err) {
      return (err as ConfigError).problems
    }
  }

  it('is off locally: a plain redis:// URL with or without a password works as before', () => {
    expect(loadConfig(testEnv()).redis.iam).to.equal(undefined)
    expect(loadConfig(testEnv({ REDIS_URL: 'redis://:pw@127.0.0.1:6379' })).redis.iam).to.equal(undefined)
  })

  it('reads the replication group and region to sign for', () => {
    expect(loadConfig(testEnv(iamEnv)).redis.iam).to.deep.equal({
      replicationGroupId: 'blueprint-us-east-redis',
      region: 'us-east-1',
    })
  })

  it('refuses a URL without the user or with a password, plain redis://, and missing group or region', () => {
    const host = 'clustercfg.example.cache.amazonaws.com:6379'
    expect(problems({ ...iamEnv, REDIS_URL: `rediss://${host}` }).join()).to.match(
      /must name the ElastiCache user/,
    )
    expect(problems({ ...iamEnv, REDIS_URL: `rediss://u:pw@${host}` }).join()).to.match(
      /must hold no password/,
    )
    expect(problems({ ...iamEnv, REDIS_URL: `redis://u@${host}` }).join()).to.match(/must be rediss:\/\//)
    const missing = problems({
      ...iamEnv,
      REDIS_IAM_REPLICATION_GROUP_ID: undefined,
      REDIS_IAM_REGION: undefined,
    })
    expect(missing).to.include('REDIS_IAM_REPLICATION_GROUP_ID is required when REDIS_IAM_AUTH=true')
    expect(missing).to.include('REDIS_IAM_REGION is required when REDIS_IAM_AUTH=true')
  })
})
