import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { appPerSuite } from '../helpers/app.js'
import { register, uniqueEmail } from '../helpers/users.js'

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

describe('login timing', () => {
  let app: FastifyInstance
  // Production's argon2id cost: hashing dominates the request, as in production.
  appPerSuite(
    {
      PASSWORD_ARGON2_MEMORY_KIB: '19456',
      PASSWORD_ARGON2_PASSES: '2',
      LOGIN_MAX_PER_IP: '1000',
      LOGIN_MAX_PER_ACCOUNT: '1000',
    },
    (built) => {
      app = built
    },
  )

  it('takes about as long for an unknown email as for a wrong password', async function () {
    this.timeout(60_000)
    const account = await register(app)
    const time = async (email: string) => {
      const started = process.hrtime.bigint()
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: 'wrong guess 123' },
      })
      expect(res.statusCode).to.equal(401)
      return Number(process.hrtime.bigint() - started) / 1e6
    }
    await time(uniqueEmail()) // warm-up, also builds the dummy hash
    const wrong: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 9; i++) {
      wrong.push(await time(account.email))
      unknown.push(await time(uniqueEmail('nobody')))
    }
    const ratio = median(unknown) / median(wrong)
    console.log(
      `      (median wrong password ${median(wrong).toFixed(1)} ms, unknown email ${median(unknown).toFixed(1)} ms)`,
    )
    expect(median(wrong)).to.be.above(10)
    // Without the dummy hash the ratio is near 0.01; the band leaves room for a busy CI machine.
    expect(ratio).to.be.within(0.5, 2)
  })
})
