import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { hashPassword, needsRehash, OWASP_SCRYPT, verifyPassword } from '../../src/features/auth/password.js'
import { checkPassword } from '../../src/features/auth/password-policy.js'
import { buildTestApp } from '../helpers/app.js'
import { services } from '../helpers/services.js'
import { GOOD_PASSWORD, register, uniqueEmail } from '../helpers/users.js'

const CHEAP = { logN: 10, r: 8, p: 1 }

describe('password hashing (scrypt)', () => {
  it('stores algorithm and parameters with the hash, and salts every hash', async () => {
    const a = await hashPassword(GOOD_PASSWORD, CHEAP)
    const b = await hashPassword(GOOD_PASSWORD, CHEAP)
    expect(a).to.match(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
    expect(a).not.to.equal(b)
    expect(await verifyPassword(GOOD_PASSWORD, a)).to.equal(true)
    expect(await verifyPassword(`${GOOD_PASSWORD}!`, a)).to.equal(false)
    expect(await verifyPassword(GOOD_PASSWORD, 'garbage')).to.equal(false)
  })

  it('uses OWASP parameters in production (N=2^17, r=8, p=1) and they run within Node limits', async function () {
    this.timeout(20_000)
    expect(OWASP_SCRYPT).to.deep.equal({ logN: 17, r: 8, p: 1 })
    const started = process.hrtime.bigint()
    const hash = await hashPassword(GOOD_PASSWORD, OWASP_SCRYPT)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    expect(hash).to.match(/^\$scrypt\$ln=17,r=8,p=1\$/)
    expect(await verifyPassword(GOOD_PASSWORD, hash)).to.equal(true)
    // Slow on purpose: well above a cheap hash, yet usable for a login.
    expect(ms).to.be.within(20, 5000)
    console.log(`      (one production-cost scrypt hash took ${ms.toFixed(0)} ms)`)
  })

  it('flags hashes made with weaker parameters for rehashing', async () => {
    const weak = await hashPassword(GOOD_PASSWORD, CHEAP)
    expect(needsRehash(weak, { logN: 11, r: 8, p: 1 })).to.equal(true)
    expect(needsRehash(weak, CHEAP)).to.equal(false)
  })

  it('rehashes at login when the configured cost went up, and the new hash still logs in', async () => {
    const before = await buildTestApp({ SCRYPT_LOG_N: '10' })
    const after = await buildTestApp({ SCRYPT_LOG_N: '11' })
    const db = new pg.Client({ connectionString: services.databaseUrl })
    await db.connect()
    try {
      const account = await register(before)
      const stored = async () =>
        (await db.query('SELECT password_hash FROM users WHERE id = $1', [account.user.id])).rows[0]
          .password_hash
      expect(await stored()).to.match(/ln=10,/)
      const credentials = { email: account.email, password: account.password }
      const res = await after.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
      expect(res.statusCode).to.equal(200)
      expect(await stored()).to.match(/ln=11,/)
      const again = await before.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials })
      expect(again.statusCode).to.equal(200)
    } finally {
      await db.end()
      await before.close()
      await after.close()
    }
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
