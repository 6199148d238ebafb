// TOTP seeds are sealed with AES-256-GCM in the application; plaintext seeds from before keep
// working and get sealed at their next use; keys rotate through MFA_ENCRYPTION_KEYS_OLD.
import { randomBytes, randomUUID } from 'node:crypto'
import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { ConfigError, loadConfig } from '../../src/config.js'
import { Authenticators } from '../../src/features/mfa/authenticator.js'
import { keyIdOf, SealedSeedError, SeedCipher } from '../../src/features/mfa/seed-cipher.js'
import { base32Encode } from '../../src/features/mfa/totp.js'
import { buildTestApp } from '../helpers/app.js'
import { codeAt, enrolMfa } from '../helpers/mfa.js'
import { bearer, login } from '../helpers/users.js'

const BASE = { DATABASE_URL: 'postgres://x/y', REDIS_URL: 'redis://127.0.0.1:6379' }
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig({ ...BASE, ...env })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

describe('TOTP seed cipher', () => {
  const key = randomBytes(32)
  const cipher = new SeedCipher({ current: key, old: [] })
  const seed = base32Encode(randomBytes(20))
  const user = randomUUID()

  it('seals a seed as v1:<key id>:… that opens again, never twice the same', () => {
    const sealed = cipher.seal(user, seed)
    expect(sealed).to.match(new RegExp(`^v1:${keyIdOf(key)}:[A-Za-z0-9_-]+$`))
    expect(sealed).not.to.include(seed)
    expect(cipher.seal(user, seed)).not.to.equal(sealed)
    expect(cipher.open(user, sealed)).to.deep.equal({ seed, stale: false })
  })

  it('refuses a seed copied to another user, or tampered with', () => {
    const sealed = cipher.seal(user, seed)
    expect(() => cipher.open(randomUUID(), sealed)).to.throw()
    const flipped = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}${sealed.slice(-1)}`
    expect(() => cipher.open(user, flipped)).to.throw()
  })

  it('refuses a stored value too short to hold an iv, a tag and a seed, and says so', () => {
    const sealed = cipher.seal(user, seed)
    const prefix = sealed.slice(0, sealed.lastIndexOf(':') + 1)
    for (const bytes of [0, 4, 12, 20, 28]) {
      const short = `${prefix}${randomBytes(bytes).toString('base64url')}`
      expect(() => cipher.open(user, short), `${bytes} bytes`).to.throw(SealedSeedError, /truncated/)
    }
    // Tampered or another user's: the same error type, so callers refuse instead of failing.
    expect(() => cipher.open(randomUUID(), sealed)).to.throw(SealedSeedError, /does not authenticate/)
    expect(() => cipher.open(user, `${sealed}:x`)).to.throw(SealedSeedError)
  })

  it('opens old-key and plaintext seeds as stale, and names a missing key', () => {
    const next = randomBytes(32)
    const rotated = new SeedCipher({ current: next, old: [key] })
    expect(rotated.open(user, cipher.seal(user, seed))).to.deep.equal({ seed, stale: true })
    expect(rotated.open(user, seed)).to.deep.equal({ seed, stale: true })
    const forgotten = new SeedCipher({ current: next, old: [] })
    expect(() => forgotten.open(user, cipher.seal(user, seed))).to.throw(/MFA_ENCRYPTION_KEYS_OLD/)
  })

  it('stores seeds as they are without a key (production before the key is set)', () => {
    const none = new SeedCipher({ current: undefined, old: [] })
    expect(none.seal(user, seed)).to.equal(seed)
    expect(none.open(user, seed)).to.deep.equal({ seed, stale: false })
  })
})

describe('MFA_ENCRYPTION_KEY configuration', () => {
  it('defaults to the development key outside production only', () => {
    expect(loadConfig(BASE).mfa.encryptionKeys.current).to.have.length(32)
    const optional = { ...BASE, NODE_ENV: 'production', MFA_ENCRYPTION_OPTIONAL: 'true' }
    expect(loadConfig(optional).mfa.encryptionKeys.current).to.equal(undefined)
  })

  it('refuses production without a key unless MFA_ENCRYPTION_OPTIONAL=true says so', () => {
    for (const optional of [undefined, 'false']) {
      const env = { NODE_ENV: 'production', ...(optional ? { MFA_ENCRYPTION_OPTIONAL: optional } : {}) }
      const problems = problemsOf(env).join()
      expect(problems).to.include('MFA_ENCRYPTION_KEY is required in production')
      expect(problems).to.include('MFA_ENCRYPTION_OPTIONAL=true')
    }
    expect(() => loadConfig({ ...BASE, NODE_ENV: 'production' })).to.throw(ConfigError)
    const key = randomBytes(32).toString('base64')
    expect(problemsOf({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: key })).to.deep.equal([])
    expect(problemsOf({ NODE_ENV: 'production', MFA_ENCRYPTION_OPTIONAL: 'true' })).to.deep.equal([])
    expect(problemsOf({ NODE_ENV: 'production', MFA_ENCRYPTION_OPTIONAL: 'maybe' }).join()).to.include(
      'MFA_ENCRYPTION_OPTIONAL must be true or false',
    )
  })

  it('reads a 32-byte base64 key and old keys, and refuses anything else without echoing it', () => {
    const key = randomBytes(32)
    const old = [randomBytes(32), randomBytes(32)]
    const config = loadConfig({
      ...BASE,
      NODE_ENV: 'production',
      MFA_ENCRYPTION_KEY: key.toString('base64'),
      MFA_ENCRYPTION_KEYS_OLD: old.map((k) => k.toString('base64')).join(','),
    })
    expect(config.mfa.encryptionKeys.current?.equals(key)).to.equal(true)
    expect(config.mfa.encryptionKeys.old.map((k) => k.toString('hex'))).to.deep.equal(
      old.map((k) => k.toString('hex')),
    )
    const short = randomBytes(16).toString('base64')
    const problems = problemsOf({ MFA_ENCRYPTION_KEY: short })
    expect(problems.join()).to.include('MFA_ENCRYPTION_KEY must be 32-byte keys in base64')
    expect(problems.join()).not.to.include(short)
    expect(problemsOf({ MFA_ENCRYPTION_KEYS_OLD: 'not base64!' }).join()).to.include(
      'MFA_ENCRYPTION_KEYS_OLD',
    )
  })

  it('refuses the published development key in production', () => {
    const dev = loadConfig(BASE).mfa.encryptionKeys.current?.toString('base64') as string
    expect(problemsOf({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: dev }).join()).to.include(
      'published development key',
    )
    const key = randomBytes(32).toString('base64')
    const asOld = {
      NODE_ENV: 'production',
      MFA_ENCRYPTION_KEY: key,
      MFA_ENCRYPTION_KEYS_OLD: `${key},${dev}`,
    }
    expect(problemsOf(asOld).join()).to.include('MFA_ENCRYPTION_KEYS_OLD lists the published development key')
    // Outside production it is the default key anyway: an old-key listing of it is harmless there.
    expect(problemsOf({ MFA_ENCRYPTION_KEYS_OLD: dev })).to.deep.equal([])
  })
})

describe('TOTP seeds at rest, over HTTP', () => {
  const oldKey = randomBytes(32)
  const newKey = randomBytes(32)
  let before_: FastifyInstance
  let after_: FastifyInstance
  let unkeyed: FastifyInstance
  before(async () => {
    // Same database: the deploy before and after a key rotation, and one from before encryption.
    unkeyed = await buildTestApp({ NODE_ENV: 'production', MFA_ENCRYPTION_OPTIONAL: 'true' })
    before_ = await buildTestApp({ MFA_ENCRYPTION_KEY: oldKey.toString('base64') })
    after_ = await buildTestApp({
      MFA_ENCRYPTION_KEY: newKey.toString('base64'),
      MFA_ENCRYPTION_KEYS_OLD: oldKey.toString('base64'),
    })
  })
  after(async () => {
    await Promise.all([before_.close(), after_.close(), unkeyed.close()])
  })

  const stored = (app: FastifyInstance, userId: string) =>
    app.prisma.userMfa.findUniqueOrThrow({ where: { userId } }).then((r) => r.secret)
  const signIn = async (app: FastifyInstance, email: string, password: string, code: string) => {
    const step = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } })
    return app.inject({
      method: 'POST',
      url: '/v1/auth/login/mfa',
      payload: { challenge: step.json().challenge, code },
    })
  }

  it('stores a new enrolment sealed: the secret shown once is nowhere in the row', async () => {
    const user = await login(before_)
    const { secret, start } = await enrolMfa(before_, user.token, user.password)
    const row = await stored(before_, user.user.id)
    expect(row).to.match(new RegExp(`^v1:${keyIdOf(oldKey)}:`))
    expect(row).not.to.include(start.secret as string)
    expect((await signIn(before_, user.email, user.password, codeAt(secret, 1))).statusCode).to.equal(200)
  })

  it('keeps a plaintext seed from before encryption working and seals it at its next use', async () => {
    const user = await login(unkeyed)
    const { secret, start } = await enrolMfa(unkeyed, user.token, user.password)
    expect(await stored(unkeyed, user.user.id)).to.equal(start.secret)

    const res = await signIn(after_, user.email, user.password, codeAt(secret, 1))
    expect(res.statusCode, res.body).to.equal(200)
    const row = await stored(after_, user.user.id)
    expect(row).to.match(new RegExp(`^v1:${keyIdOf(newKey)}:`))
    expect(row).not.to.include(start.secret as string)
    // A wrong code proves nothing: an old-form seed is sealed only after a right one (above).
  })

  it('opens a seed under the previous key after a rotation and moves it to the new key at its next use', async () => {
    const user = await login(before_)
    const { secret } = await enrolMfa(before_, user.token, user.password)
    expect(await stored(before_, user.user.id)).to.match(new RegExp(`^v1:${keyIdOf(oldKey)}:`))
    const wrong = await signIn(after_, user.email, user.password, '000000')
    expect(wrong.statusCode).to.equal(401)
    expect(await stored(after_, user.user.id), 'not resealed on a wrong code').to.match(
      new RegExp(`^v1:${keyIdOf(oldKey)}:`),
    )
    expect((await signIn(after_, user.email, user.password, codeAt(secret, 1))).statusCode).to.equal(200)
    expect(await stored(after_, user.user.id)).to.match(new RegExp(`^v1:${keyIdOf(newKey)}:`))
    // The old deploy (old key only) can no longer read it: the rotation is complete for this seed
    // (a refusal, logged, not an exception).
    expect(await before_.mfa.authenticators.verify(user.user.id, { code: codeAt(secret, -1) })).to.equal(
      false,
    )
  })

  it('refuses a code against a seed that does not open (tampered) cleanly: 401 at login, 403 on a step-up, logged', async () => {
    const user = await login(after_)
    const { secret, token } = await enrolMfa(after_, user.token, user.password)
    // Someone with write access moves another user's sealed seed into this row.
    const other = await login(after_)
    await enrolMfa(after_, other.token, other.password)
    await after_.prisma.userMfa.update({
      where: { userId: user.user.id },
      data: { secret: await stored(after_, other.user.id) },
    })
    const atLogin = await signIn(after_, user.email, user.password, codeAt(secret, 1))
    expect(atLogin.statusCode, atLogin.body).to.equal(401)
    expect(atLogin.json().error.code).to.equal('INVALID_MFA_CODE')
    const stepUp = await after_.inject({
      method: 'POST',
      url: '/v1/me/email',
      headers: bearer(token),
      payload: { email: `x-${randomUUID()}@example.com`, password: user.password, code: codeAt(secret, 2) },
    })
    expect(stepUp.statusCode, stepUp.body).to.equal(403)
    expect(stepUp.json().error.code).to.equal('INVALID_MFA_CODE')

    const logged: { obj: object; msg: string }[] = []
    const authenticators = new Authenticators(() => after_.prisma, {
      enrolmentTtlSeconds: 600,
      recoveryCodeCount: 10,
      cipher: new SeedCipher({ current: newKey, old: [oldKey] }),
      log: { error: (obj, msg) => logged.push({ obj, msg }) },
    })
    expect(await authenticators.verify(user.user.id, { code: codeAt(secret, 3) })).to.equal(false)
    expect(logged).to.have.length(1)
    expect(logged[0]?.obj).to.include({ userId: user.user.id })
    expect(logged[0]?.msg).to.include('cannot be opened')
  })
})
