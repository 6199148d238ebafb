import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import {
  hashPassword,
  hashPasswordScrypt,
  needsRehash,
  OWASP_ARGON2ID,
  verifyPassword,
} from '../../src/features/auth/password.js'
import { checkPassword } from '../../src/features/auth/password-policy.js'
import { buildTestApp } from '../helpers/app.js'
import { services } from '../helpers/services.js'
import { GOOD_PASSWORD, register, uniqueEmail } from '../helpers/users.js'

const CHEAP = { memoryKiB: 64, passes: 1, parallelism: 1 }
const CHEAP_SCRYPT = { logN: 10, r: 8, p: 1 }

describe('password hashing (argon2id)', () => {
  it('stores algorithm and parameters with the hash (PHC format), and salts every hash', async () => {
    const a = await hashPassword(GOOD_PASSWORD, CHEAP)
    const b = await hashPassword(GOOD_PASSWORD, CHEAP)
    expect(a).to.match(/^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    expect(a).not.to.equal(b)
    expect(await verifyPassword(GOOD_PASSWORD, a)).to.equal(true)
    expect(await verifyPassword(`${GOOD_PASSWORD}!`, a)).to.equal(false)
    expect(await verifyPassword(GOOD_PASSWORD, 'garbage')).to.equal(false)
    expect(await verifyPassword(GOOD_PASSWORD, a.replace('m=64', 'm=128'))).to.equal(false)
  })

  it('uses OWASP parameters in production (m=19 MiB, t=2, p=1), far cheaper than the old scrypt', async function () {
    this.timeout(20_000)
    expect(OWASP_ARGON2ID).to.deep.equal({ memoryKiB: 19_456, passes: 2, parallelism: 1 })
    const started = process.hrtime.bigint()
    const hash = await hashPassword(GOOD_PASSWORD, OWASP_ARGON2ID)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    expect(hash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(await verifyPassword(GOOD_PASSWORD, hash)).to.equal(true)
    expect(ms).to.be.within(5, 2000)
    console.log(`      (one production-cost argon2id hash took ${ms.toFixed(0)} ms)`)
  })

  it('still verifies scrypt hashes of the previous scheme, and flags them for rehashing', async () => {
    const legacy = await hashPasswordScrypt(GOOD_PASSWORD, CHEAP_SCRYPT)
    expect(legacy).to.match(/^\$scrypt\$ln=10,r=8,p=1\$/)
    expect(await verifyPassword(GOOD_PASSWORD, legacy)).to.equal(true)
    expect(await verifyPassword('wrong password here', legacy)).to.equal(false)
    expect(needsRehash(legacy, CHEAP)).to.equal(true)
  })

  it('flags argon2id hashes made with weaker parameters for rehashing', async () => {
    const weak = await hashPassword(GOOD_PASSWORD, CHEAP)
    expect(needsRehash(weak, { ...CHEAP, memoryKiB: 128 })).to.equal(true)
    expect(needsRehash(weak, { ...CHEAP, passes: 2 })).to.equal(true)
    expect(needsRehash(weak, CHEAP)).to.equal(false)
  })

  describe('at login', () => {
    let db: pg.Client
    const stored = async (id: string) =>
      (await db.query('SELECT password_hash FROM users WHERE id = $1', [id])).rows[0].password_hash as string
    before(async () => {
      db = new pg.Client({ connectionString: services.databaseUrl })
      await db.connect()
    })
    after(async () => {
      await db.end()
    })

    it('replaces a scrypt hash with argon2id at the next successful login, and the new hash logs in', async () => {
      const app = await buildTestApp()
      try {
        const account = await register(app)
        const legacy = await hashPasswordScrypt(account.password, CHEAP_SCRYPT)
        await db.query('UPDATE users SET password_hash = $1 WHERE id = $2', [legacy, account.user.id])
        const credentials = { email: account.email, password: account.password }
        const wrong = { ...credentials, password: 'not the password at all' }
        expect(
          (await app.inject({ method: 'POST', url: '/v1/auth/login', payload: wrong })).statusCode,
        ).to.equal(401)
        expect(await stored(account.user.id)).to.equal(legacy)
        const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
        expect(res.statusCode).to.equal(200)
        expect(await stored(account.user.id)).to.match(/^\$argon2id\$v=19\$m=64,t=1,p=1\$/)
        const again = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
        expect(again.statusCode).to.equal(200)
      } finally {
        await app.close()
      }
    })

    /**
     * Logs in with a legacy scrypt hash stored, and writes `landing` (a hash of what `password` returns for the account's own) in
     * the middle of the login's upgrade. Returns the status and the hash stored afterwards.
     */
    async function loginWhileAnotherHashLands(password: (own: string) => string) {
      const app = await buildTestApp()
      try {
        const account = await register(app)
        const legacy = await hashPasswordScrypt(account.password, CHEAP_SCRYPT)
        await db.query('UPDATE users SET password_hash = $1 WHERE id = $2', [legacy, account.user.id])
        const landing = await hashPassword(password(account.password), CHEAP)
        const hash = app.passwords.hash.bind(app.passwords)
        app.passwords.hash = async (plain: string) => {
          const upgraded = await hash(plain)
          await db.query('UPDATE users SET password_hash = $1 WHERE id = $2', [landing, account.user.id])
          return upgraded
        }
        const res = await app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: account.email, password: account.password },
        })
        return { status: res.statusCode, landing, stored: await stored(account.user.id) }
      } finally {
        await app.close()
      }
    }

    it('never writes the upgrade over a password changed while the login was hashing', async () => {
      // The owner changes the password while this login (with the old one) computes the upgrade.
      const { status, landing, stored } = await loginWhileAnotherHashLands(() => 'a brand new passphrase')
      expect(status).to.equal(401)
      expect(stored).to.equal(landing)
    })

    it('lets both of two simultaneous logins in when the other one upgraded the hash first', async () => {
      // A double submit: the other login's upgrade lands while this one computes its own.
      const { status, landing, stored } = await loginWhileAnotherHashLands((own) => own)
      expect(status).to.equal(200)
      expect(stored).to.equal(landing)
    })

    it('rehashes when the configured cost went up, and the new hash still logs in', async () => {
      const before = await buildTestApp({ PASSWORD_ARGON2_MEMORY_KIB: '64' })
      const after = await buildTestApp({ PASSWORD_ARGON2_MEMORY_KIB: '128' })
      try {
        const account = await register(before)
        expect(await stored(account.user.id)).to.match(/m=64,/)
        const credentials = { email: account.email, password: account.password }
        const res = await after.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
        expect(res.statusCode).to.equal(200)
        expect(await stored(account.user.id)).to.match(/m=128,/)
        const again = await before.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
        expect(again.statusCode).to.equal(200)
      } finally {
        await before.close()
        await after.close()
      }
    })
  })
})

describe('password policy (NIST SP 800-63B: length, blocklist, no composition rules)', () => {
  it('accepts long passphrases with no digits or symbols, and any Unicode', () => {
    expect(checkPassword('correct horse battery staple')).to.deep.equal([])
    expect(checkPassword('пароль-для-теста')).to.deep.equal([])
    expect(checkPassword(`${'a'.repeat(127)}b`)).to.deep.equal([])
  })

  it('counts length in characters, not bytes', () => {
    expect(checkPassword('ééééééé')).to.have.length(1) // 7 characters, 14 bytes
    expect(checkPassword('😀😀😀😀😀😀😀😀')).to.deep.equal([]) // 8 characters
  })

  it('refuses short, over-long, common and self-referencing passwords', () => {
    expect(checkPassword('short')[0]?.message).to.include('at least 8')
    expect(checkPassword('x'.repeat(129))[0]?.message).to.include('at most 128')
    expect(checkPassword('Password123')[0]?.message).to.include('too common')
    expect(checkPassword('aaaaaaaaaa')[0]?.message).to.include('too common')
    expect(checkPassword('ada.lovelace', { email: 'ada.lovelace@example.com' })[0]?.message).to.include(
      'email',
    )
  })

  describe('at registration', () => {
    let app: FastifyInstance
    before(async () => {
      app = await buildTestApp()
    })
    after(async () => {
      await app.close()
    })

    for (const [label, password] of [
      ['too short', 'abc123'],
      ['too long', 'x'.repeat(129)],
      ['common', 'iloveyou1'],
    ]) {
      it(`answers 400 naming the password field when it is ${label}`, async () => {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/auth/register',
          payload: { email: uniqueEmail(), password, name: 'P' },
        })
        expect(res.statusCode).to.equal(400)
        expect(res.json().error.details[0].field).to.equal('password')
      })
    }
  })
})
