import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { Authenticators } from './authenticator.js'
import { MfaChallenges } from './challenges.js'
import { MfaFailures } from './failures.js'
import { SeedCipher } from './seed-cipher.js'
import { StepUp, type StepUpOptions } from './step-up.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Second factors (PostgreSQL) and second-step login challenges (Redis). */
    mfa: {
      authenticators: Authenticators
      challenges: MfaChallenges
      failures: MfaFailures
      /** The fresh second factor of account-takeover actions (step-up.ts). */
      stepUp: StepUp
      config: Config['mfa']
    }
  }
}

async function mfaPlugin(app: FastifyInstance, opts: { config: Config['mfa'] } & StepUpOptions) {
  const { config } = opts
  if (!config.encryptionKeys.current) {
    app.log.warn(
      'MFA_ENCRYPTION_KEY is not set: TOTP seeds are stored unencrypted until it is (docs/security.md)',
    )
  }
  app.decorate('mfa', {
    authenticators: new Authenticators(() => app.prisma, {
      enrolmentTtlSeconds: config.enrolmentTtlSeconds,
      recoveryCodeCount: config.recoveryCodeCount,
      cipher: new SeedCipher(config.encryptionKeys),
      log: app.log,
    }),
    challenges: new MfaChallenges(app.redis, {
      ttlSeconds: config.challengeTtlSeconds,
      maxFailures: config.challengeMaxFailures,
    }),
    failures: new MfaFailures(app.redis, config.maxFailuresPerDay),
    stepUp: new StepUp(app, { lockout: opts.lockout, cookieSecure: opts.cookieSecure }),
    config,
  })
}

/** The `mfa` plugin: `app.mfa`. */
export default fp(mfaPlugin, {
  name: 'mfa',
  fastify: '5.x',
  dependencies: ['prisma', 'redis', 'auth', 'mail'],
})
