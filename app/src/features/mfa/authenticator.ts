/**
 * A user's second factor in PostgreSQL: the TOTP authenticator (`user_mfa`) and the recovery
 * codes (`mfa_recovery_codes`). Every check that accepts a code writes in the same statement that
 * decides it (compare-and-set), so a code is accepted once even when two requests race with it:
 *
 *   - a TOTP code is accepted only for a time step after the last accepted one (RFC 6238 5.2:
 *     a verifier must not accept the second attempt of an OTP); +/-1 step of drift is allowed;
 *   - a recovery code is spent by `UPDATE ... WHERE used_at IS NULL`.
 *
 * The TOTP seed is stored sealed (seed-cipher.ts); a plaintext or old-key seed is sealed again
 * under the current key when it next proves right.
 */
import type { PrismaClient } from '../../generated/prisma/client.js'
import { conflict, HttpError } from '../../platform/errors.js'
import { isUniqueViolation } from '../../platform/prisma-errors.js'
import { newRecoveryCode, recoveryCodeHash } from './recovery-codes.js'
import { type Opened, SealedSeedError, type SeedCipher } from './seed-cipher.js'
import { base32Decode, base32Encode, generateSecret, matchingStep } from './totp.js'

/** A second factor as a client presents it: a current TOTP code or one recovery code. */
export interface SecondFactor {
  code?: string | undefined
  recoveryCode?: string | undefined
}

/** What the user's MFA looks like from outside (never the secret). */
export interface MfaStatus {
  enabled: boolean
  enabledAt: Date | null
  recoveryCodesLeft: number
}

/** Options of the authenticator store. */
export interface AuthenticatorOptions {
  enrolmentTtlSeconds: number
  recoveryCodeCount: number
  /** Seals the TOTP seeds at rest. */
  cipher: SeedCipher
  /** Where a seed that cannot be opened is reported (error level, with the user id). */
  log: { error: (obj: object, msg: string) => void }
  /** The clock, in ms (tests move it); the server's own, never a client's (ASVS 6.5.8). */
  now?: () => number
}

/** Enrols, checks and removes second factors. */
export class Authenticators {
  private readonly now: () => number

  constructor(
    // A getter, not a client: app.prisma follows a writer switch (platform/prisma.ts).
    private readonly writer: () => PrismaClient,
    private readonly options: AuthenticatorOptions,
  ) {
    this.now = options.now ?? Date.now
  }

  private get db(): PrismaClient {
    return this.writer()
  }

  /** Whether login asks this user for a second factor. */
  async isEnabled(userId: string): Promise<boolean> {
    const row = await this.db.userMfa.findUnique({ where: { userId }, select: { enabledAt: true } })
    return row?.enabledAt != null
  }

  /** Enabled or not, since when, and how many recovery codes are unused. */
  async status(userId: string): Promise<MfaStatus> {
    const [row, recoveryCodesLeft] = await Promise.all([
      this.db.userMfa.findUnique({ where: { userId }, select: { enabledAt: true } }),
      this.db.mfaRecoveryCode.count({ where: { userId, usedAt: null } }),
    ])
    const enabledAt = row?.enabledAt ?? null
    return { enabled: enabledAt !== null, enabledAt, recoveryCodesLeft: enabledAt ? recoveryCodesLeft : 0 }
  }

  /**
   * Starts (or restarts) enrolment with a fresh 160-bit secret and returns it: the only time it
   * leaves the server. 409 when MFA is already on (disable it first).
   */
  async startEnrolment(userId: string): Promise<Buffer> {
    const secret = generateSecret()
    const encoded = this.options.cipher.seal(userId, base32Encode(secret))
    const { count } = await this.db.userMfa.updateMany({
      where: { userId, enabledAt: null },
      data: { secret: encoded, lastUsedStep: null, createdAt: new Date(this.now()) },
    })
    if (count === 0) {
      try {
        await this.db.userMfa.create({ data: { userId, secret: encoded, createdAt: new Date(this.now()) } })
      } catch (err) {
        // The row exists and is enabled (or a concurrent start created it): either way, not ours to replace.
        if (isUniqueViolation(err)) {
          throw conflict('MFA_ALREADY_ENABLED', 'Two-factor authentication is already on; disable it first')
        }
        throw err
      }
    }
    return secret
  }

  /**
   * Turns MFA on when `code` is valid for the pending secret, and issues the recovery codes
   * (returned once, stored hashed). 400 when nothing is pending or the enrolment expired.
   */
  async confirmEnrolment(userId: string, code: string): Promise<string[] | undefined> {
    const pending = await this.db.userMfa.findUnique({ where: { userId } })
    if (!pending || pending.enabledAt) {
      throw new HttpError(400, 'MFA_NOT_PENDING', 'Start the enrolment first (POST /v1/me/mfa/enrolment)')
    }
    if (pending.createdAt.getTime() + this.options.enrolmentTtlSeconds * 1000 < this.now()) {
      throw new HttpError(400, 'MFA_ENROLMENT_EXPIRED', 'The enrolment expired; start it again')
    }
    const opened = this.open(userId, pending.secret)
    if (!opened) return undefined
    const step = matchingStep(base32Decode(opened.seed), code, this.now())
    if (step === undefined) return undefined
    const codes = this.newCodes()
    const enabled = await this.db.$transaction(async (tx) => {
      // Compare-and-set on the secret: a restarted enrolment meanwhile wins, this code was for the old one.
      const { count } = await tx.userMfa.updateMany({
        where: { userId, secret: pending.secret, enabledAt: null },
        data: {
          enabledAt: new Date(this.now()),
          lastUsedStep: BigInt(step),
          ...(opened.stale ? { secret: this.options.cipher.seal(userId, opened.seed) } : {}),
        },
      })
      if (count !== 1) return false
      await this.replaceCodes(tx, userId, codes)
      return true
    })
    return enabled ? codes : undefined
  }

  /**
   * The seed of a stored value, or undefined (logged at error level) when it does not open: the
   * code is then refused like a wrong one, never a 500, and recovery codes (hashed, no seed) still work.
   */
  private open(userId: string, stored: string): Opened | undefined {
    try {
      return this.options.cipher.open(userId, stored)
    } catch (err) {
      if (!(err instanceof SealedSeedError)) throw err
      this.options.log.error({ userId, reason: err.message }, 'TOTP seed cannot be opened: code refused')
      return undefined
    }
  }

  /** True when the factor is valid for an enabled authenticator; a valid one is spent. */
  async verify(userId: string, factor: SecondFactor): Promise<boolean> {
    if (factor.recoveryCode !== undefined) {
      const { count } = await this.db.mfaRecoveryCode.updateMany({
        where: { userId, codeHash: recoveryCodeHash(factor.recoveryCode), usedAt: null },
        data: { usedAt: new Date(this.now()) },
      })
      return count === 1
    }
    if (factor.code === undefined) return false
    const row = await this.db.userMfa.findUnique({ where: { userId } })
    if (!row?.enabledAt) return false
    const opened = this.open(userId, row.secret)
    if (!opened) return false
    const step = matchingStep(base32Decode(opened.seed), factor.code, this.now())
    if (step === undefined) return false
    // Only a step after the last accepted one: the same code twice, or an older one, is refused.
    const { count } = await this.db.userMfa.updateMany({
      where: {
        userId,
        enabledAt: { not: null },
        OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: BigInt(step) } }],
      },
      data: { lastUsedStep: BigInt(step) },
    })
    if (count === 1 && opened.stale) await this.reseal(userId, row.secret, opened.seed)
    return count === 1
  }

  /**
   * Seals a plaintext or old-key seed under the current key, once it proved right. Conditional on
   * the stored value: a concurrent reseal (or re-enrolment) wins, and nothing is lost either way.
   */
  private async reseal(userId: string, stored: string, seed: string): Promise<void> {
    await this.db.userMfa.updateMany({
      where: { userId, secret: stored },
      data: { secret: this.options.cipher.seal(userId, seed) },
    })
  }

  /** Replaces every recovery code with new ones (the old ones stop working) and returns them. */
  async regenerateRecoveryCodes(userId: string): Promise<string[]> {
    const codes = this.newCodes()
    await this.db.$transaction((tx) => this.replaceCodes(tx, userId, codes))
    return codes
  }

  /** Removes the authenticator and every recovery code; login asks for the password only again. */
  async disable(userId: string): Promise<void> {
    await this.db.$transaction([
      this.db.mfaRecoveryCode.deleteMany({ where: { userId } }),
      this.db.userMfa.deleteMany({ where: { userId } }),
    ])
  }

  private newCodes(): string[] {
    return Array.from({ length: this.options.recoveryCodeCount }, newRecoveryCode)
  }

  private async replaceCodes(
    tx: Pick<PrismaClient, 'mfaRecoveryCode'>,
    userId: string,
    codes: string[],
  ): Promise<void> {
    await tx.mfaRecoveryCode.deleteMany({ where: { userId } })
    await tx.mfaRecoveryCode.createMany({
      data: codes.map((code) => ({ userId, codeHash: recoveryCodeHash(code) })),
    })
  }
}
