import { expect } from 'chai'
import type { FastifyInstance } from 'fastify'
import { devicesKey } from '../../src/features/auth/lockout.js'
import { buildTestApp } from '../helpers/app.js'
import { startS3, type TestS3 } from '../helpers/s3.js'
import { bearer, login } from '../helpers/users.js'

// Found in review: with the session and the device's trust written side by side, a login refused
// because an erasure landed during its hash still wrote the known-devices hash back (90 days).
describe('a login racing an erasure', () => {
  let s3: TestS3
  let app: FastifyInstance
  before(async () => {
    s3 = await startS3()
    app = await buildTestApp({ ...s3.env })
  })
  after(async () => {
    await app?.close()
    await s3?.close()
  })

  it('is refused and leaves nothing of the erased user in Redis (no known devices written back)', async () => {
    const user = await login(app)
    const device = user.response.json().deviceToken as string
    const original = app.passwords.verify.bind(app.passwords)
    let armed = true
    let erasure: number | undefined
    app.passwords.verify = async (password, stored) => {
      const valid = await original(password, stored)
      if (!armed) return valid
      armed = false
      const res = await app.inject({
        method: 'DELETE',
        url: '/v1/me',
        headers: bearer(user.token),
        payload: { password: user.password },
      })
      erasure = res.statusCode
      return valid
    }
    let status: number
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'x-device-token': device },
        payload: { email: user.email, password: user.password },
      })
      status = res.statusCode
    } finally {
      app.passwords.verify = original
    }
    expect(erasure, 'the erasure ran inside the login').to.be.within(200, 299)
    expect(status).to.equal(401)
    expect(await app.redis.exists(devicesKey(user.user.id))).to.equal(0)
  })
})
