// The deployed environment meets the app's own config loader: the client IP behind the ALB cannot
// be forged with X-Forwarded-For (rate limits and sign-in notifications depend on it).
import { expect } from 'chai'
import Fastify from 'fastify'
import { loadConfig } from '../../app/src/config.js'
import type { StackName } from '../src/config.js'
import { deployedEnv } from './helpers.js'

/** request.ip of a request the ALB (at `albAddress`) forwarded with `xff`, on a server built like build.ts. */
async function ipSeenBehind(env: Record<string, string>, albAddress: string, xff: string): Promise<string> {
  const config = loadConfig(env)
  // build.ts passes config.trustProxy to Fastify exactly like this.
  const server = Fastify({ trustProxy: config.trustProxy as boolean | string })
  server.get('/ip', async (request) => ({ ip: request.ip }))
  try {
    const res = await server.inject({
      url: '/ip',
      remoteAddress: albAddress,
      headers: { 'x-forwarded-for': xff },
    })
    return res.json().ip
  } finally {
    await server.close()
  }
}

for (const [name, albAddress] of [
  ['us-east', '10.10.3.17'],
  ['eu-west', '10.20.3.17'],
] as [StackName, string][]) {
  describe(`client IP behind the ALB (${name})`, () => {
    it('trusts only the VPC (the ALB), never any hop', async () => {
      const env = await deployedEnv(name)
      expect(env.TRUST_PROXY).to.not.equal('true')
      expect(env.TRUST_PROXY).to.match(/^10\.\d+\.0\.0\/16$/)
    })

    it('takes the address the ALB saw, whatever the client wrote into X-Forwarded-For', async () => {
      const env = await deployedEnv(name)
      // The ALB appends the peer it saw (203.0.113.9) to what the client sent.
      expect(await ipSeenBehind(env, albAddress, '203.0.113.9')).to.equal('203.0.113.9')
      expect(await ipSeenBehind(env, albAddress, '6.6.6.6, 203.0.113.9')).to.equal('203.0.113.9')
      expect(await ipSeenBehind(env, albAddress, '10.10.0.5, 203.0.113.9')).to.equal('203.0.113.9')
      expect(await ipSeenBehind(env, albAddress, '127.0.0.1, ::1, 203.0.113.9')).to.equal('203.0.113.9')
    })

    it('ignores X-Forwarded-For from a peer outside the VPC', async () => {
      const env = await deployedEnv(name)
      expect(await ipSeenBehind(env, '198.51.100.20', '6.6.6.6')).to.equal('198.51.100.20')
    })
  })
}
