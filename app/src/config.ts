/**
 * Service configuration: read from the environment once at boot, validated, then passed down.
 * Nothing else in the service reads process.env.
 */

import { createHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { getHeapStatistics } from 'node:v8'
import { ENV, hashConcurrencyFor, LIBUV_DEFAULT_THREADS } from './contract.js'
import { writerSourceProblem } from './db/writer-endpoint.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Validated, typed configuration of one service instance. */
export interface Config {
  host: string
  port: number
  logLevel: LogLevel
  /** Fastify `trustProxy`: true, a hop count, or a comma-separated list of addresses/CIDRs/names. */
  trustProxy: boolean | number | string
  keepAliveTimeoutMs: number
  shutdownTimeoutMs: number
  bodyLimitBytes: number
  database: {
    url: string
    poolMax: number
    connectTimeoutMs: number
    queryTimeoutMs: number
    /** Read replicas (same credentials and database as the writer); empty: reads go to the writer. */
    replicaUrls: string[]
    /** `file:/path` or `ssm:/name` holding the writer's host:port; unset: DATABASE_URL's host for good. */
    writerEndpointSource: string | undefined
    writerPollMs: number
    /** Authenticate with IAM tokens signed for the URL's user (RDS); the URL then carries no password. */
    iamAuth: boolean
    replicaCheckMs: number
    /** A replica lagging more than this stops taking reads until it catches up. */
    replicaMaxLagMs: number
    /** How long a user's reads stay on the writer after they wrote (longer than typical replica lag). */
    readYourWritesMs: number
  }
  redis: {
    url: string
    cluster: boolean
    keyPrefix: string
    connectTimeoutMs: number
    commandTimeoutMs: number
    /**
     * ElastiCache IAM authentication (REDIS_IAM_AUTH): every connection AUTHs as REDIS_URL's user with a token
     * signed for this replication group in this region; the URL then carries no password. Unset: the URL's own.
     */
    iam?: { replicationGroupId: string; region: string } | undefined
  }
  healthTimeoutMs: number
  session: {
    /** Idle timeout: a session unused this long ends (every authenticated request slides it). */
    idleSeconds: number
    /** Absolute lifetime: a session ends this long after login, however busy. */
    absoluteSeconds: number
    /**
     * Longest a session check is answered from this instance's memory (features/auth/session-cache.ts);
     * revocations reach every instance at once through Redis pub/sub. 0 checks every request in Redis.
     */
    localCacheSeconds: number
    /** `__Host-sid` when cookies are Secure (browsers refuse the prefix otherwise), `sid` when not. */
    cookieName: string
    cookieSecure: boolean
    /** Origins besides the service's own whose cookie-authenticated state changes are accepted. */
    allowedOrigins: string[]
  }
  /** Login throttling (OWASP device cookies): a stranger's guesses cannot lock the owner out. */
  lockout: {
    /** Failed logins per account from clients without a valid device cookie, per window. */
    untrustedFailuresPerAccount: number
    /** Failed logins per device cookie, per window (the owner's own typos). */
    failuresPerDevice: number
    windowSeconds: number
    /** Lifetime of a device cookie, renewed at every successful login. */
    deviceCookieDays: number
  }
  /** Mail for password reset and email verification. */
  mail: {
    /** `smtp` (local, tests) or `ses` (AWS: SESv2 API with the task role). */
    transport: 'smtp' | 'ses'
    smtpUrl: string
    sesRegion: string | undefined
    /** SES configuration set whose event destination reports bounces and complaints. */
    sesConfigurationSet: string | undefined
    from: string
    /** Where links in mails point: the web app that calls the reset and verify endpoints. */
    appBaseUrl: string
  }
  account: {
    passwordResetTtlSeconds: number
    emailVerificationTtlSeconds: number
    /** true: an account cannot log in until its email is verified; false: it can, fully. */
    requireVerifiedEmail: boolean
  }
  /** TOTP multi-factor authentication (features/mfa). */
  mfa: {
    /** The issuer authenticator apps show next to the account (otpauth:// URI). */
    issuer: string
    /** How long the second login step may follow a correct password. */
    challengeTtlSeconds: number
    /** Wrong codes one challenge survives; the next wrong one ends it (log in again). */
    challengeMaxFailures: number
    /** How long a started enrolment waits for its confirming code. */
    enrolmentTtlSeconds: number
    /**
     * Wrong second-factor answers an account takes in 24 h; past it, no authenticator codes until
     * the window ends, a password reset or a recovery-code sign-in, and the owner is mailed once.
     */
    maxFailuresPerDay: number
    /** Recovery codes issued at enrolment and at every regeneration. */
    recoveryCodeCount: number
    /** true: admins without MFA get 403 MFA_REQUIRED on /v1/admin/ routes until they enrol. */
    requireForAdmin: boolean
    /** true: every user must enrol; until then a login gives a session that can only enrol. */
    requireForAll: boolean
    /**
     * AES-256-GCM keys of the TOTP seeds at rest (features/mfa/seed-cipher.ts): MFA_ENCRYPTION_KEY
     * seals, it and every MFA_ENCRYPTION_KEYS_OLD key open (rotation). `current` is unset only in
     * production without MFA_ENCRYPTION_KEY, which needs MFA_ENCRYPTION_OPTIONAL=true: seeds are then
     * stored as they are (a boot warning says so).
     */
    encryptionKeys: { current: Buffer | undefined; old: Buffer[] }
  }
  /** argon2id cost of new hashes and the bound on concurrent hashing (features/auth/password.ts). */
  passwords: {
    argon2: { memoryKiB: number; passes: number; parallelism: number }
    limits: { concurrency: number; queueMax: number; queueTimeoutMs: number }
  }
  preferencesMaxBytes: number
  /** Load shedding (platform/load-shedding.ts): beyond these, requests answer 503 + Retry-After. */
  shedding: {
    /** Mean event-loop delay over one sample; 0 disables the signal. */
    maxEventLoopDelayMs: number
    /** Consecutive samples over `maxEventLoopDelayMs` that shed (platform/loop-delay.ts). */
    eventLoopDelaySamples: number
    /** V8 heap in use; 0 disables the signal. */
    maxHeapUsedBytes: number
    /** Queries waiting for a pooled PostgreSQL connection, over all pools; 0 disables the signal. */
    maxPoolWaiting: number
    /** How often the event loop and heap are sampled. */
    sampleIntervalMs: number
    /** Seconds a shed client is told to wait. */
    retryAfterSeconds: number
    /** The adaptive limit on requests in flight (platform/concurrency-limit.ts); max 0 disables it. */
    concurrency: {
      initial: number
      min: number
      max: number
      targetMs: number
      windowMs: number
      minSamples: number
      warmupMs: number
    }
  }
  rateLimit: {
    windowSeconds: number
    loginPerIp: number
    loginPerAccount: number
    registerPerIp: number
    registerPerAccount: number
  }
  transactions: {
    /** Attempts of one request when PostgreSQL reports a deadlock or serialization failure. */
    maxAttempts: number
    /** Idempotency records older than this are deleted; a retry must come within it. */
    idempotencyRetentionHours: number
    /** Time between sweeps of expired idempotency records. */
    idempotencySweepIntervalMs: number
  }
  /** Money entering the ledger (features/accounts/funding-routes.ts). */
  funding: {
    /** HMAC-SHA256 key shared with the payment provider; unset: the webhook route does not exist. */
    webhookSecret: string | undefined
    /** A webhook signed longer ago (or further ahead) than this is refused: a captured one cannot be replayed later. */
    webhookToleranceSeconds: number
    /** Largest single funding, in minor units. */
    maxAmount: bigint
    /** Most a user's accounts may receive through funding per UTC day, in minor units. */
    dailyLimit: bigint
  }
  notifications: {
    /** SSE comment interval; the ALB drops connections idle for 60 s. */
    heartbeatMs: number
    /** Most events replayed on reconnect with Last-Event-ID. */
    replayLimit: number
    /** Open SSE streams one user may hold across every instance (tabs, devices). */
    maxStreamsPerUser: number
    relay: {
      /** Run the outbox relay in this instance (every instance may; they share work safely). */
      enabled: boolean
      intervalMs: number
      batchSize: number
      /** Least time between two runs' starts while writes keep kicking the relay. */
      kickGapMs: number
    }
  }
  /** Uploads bucket; credentials come from the AWS SDK's default provider chain. */
  s3: {
    /** Custom endpoint (MinIO, s3rver); unset on AWS. */
    endpoint: string | undefined
    /** Endpoint presigned URLs name, when browsers reach the store by another name (compose). */
    publicEndpoint: string | undefined
    region: string
    bucket: string
    forcePathStyle: boolean
    uploadMaxBytes: number
    allowedContentTypes: string[]
    uploadUrlTtlSeconds: number
    downloadUrlTtlSeconds: number
  }
  cache: {
    /** TTL of cached profile and preferences. */
    profileTtlSeconds: number
    /** TTL of cached reports. */
    reportsTtlSeconds: number
  }
  /** The web client and API contract (docs/web.md). */
  web: {
    /** Browser origins allowed by CORS with credentials and for cookie-authenticated writes. */
    origins: string[]
    /** Serve the API reference UI at /docs (the document at /docs/json is always served). */
    docsUi: boolean
    /** The `servers` URL of the OpenAPI document; unset: `/`. */
    publicApiUrl: string | undefined
  }
}

/** Thrown when the environment is unusable; the message lists every problem at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/**
 * The TOTP seed key outside production, like the other local defaults (SMTP_URL, APP_BASE_URL):
 * derived from a published string, so it protects nothing; production refuses it.
 */
const DEV_MFA_ENCRYPTION_KEY = createHash('sha256')
  .update('blueprint: dev-only MFA seed key, not a secret')
  .digest()

/** Reads and validates the configuration; throws a ConfigError naming every bad or missing variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  const read = new Reader(env, problems)
  const cookieSecure = read.bool('COOKIE_SECURE', true)
  const production = read.optional('NODE_ENV') === 'production'
  const mfaKey = read.keys(ENV.mfaEncryptionKey, 32)[0]
  const mfaOldKeys = read.keys('MFA_ENCRYPTION_KEYS_OLD', 32)
  const mfaOptional = read.bool(ENV.mfaEncryptionOptional, false)
  // libuv's own bounds; it reads the variable itself, this only judges the hashing share of it.
  const poolProblems = problems.length
  const threadPool = read.int(ENV.uvThreadPoolSize, LIBUV_DEFAULT_THREADS, 1, 1024)
  if (env[ENV.uvThreadPoolSize]?.trim() === '') {
    // libuv reads an empty value as 0 and starts one thread, not its default four.
    problems.push(
      `${ENV.uvThreadPoolSize} is set but empty (libuv then runs one thread); unset it or give a number`,
    )
  }
  const poolKnown = problems.length === poolProblems

  const config: Config = {
    host: read.string('HOST', '0.0.0.0'),
    port: read.int('PORT', 3000, 0, 65535),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    trustProxy: read.trustProxy('TRUST_PROXY', 'loopback,linklocal,uniquelocal'),
    keepAliveTimeoutMs: read.int('KEEP_ALIVE_TIMEOUT_MS', 65_000, 1),
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 25_000, 1),
    bodyLimitBytes: read.int('BODY_LIMIT_BYTES', 1_048_576, 1024),
    database: {
      url: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
      poolMax: read.int('DATABASE_POOL_MAX', 10, 1),
      connectTimeoutMs: read.int('DATABASE_CONNECT_TIMEOUT_MS', 1000, 1),
      queryTimeoutMs: read.int('DATABASE_QUERY_TIMEOUT_MS', 5000, 1),
      replicaUrls: read.urlList('DATABASE_REPLICA_URL', ['postgres:', 'postgresql:']),
      writerEndpointSource: read.writerSource('DATABASE_WRITER_ENDPOINT_SOURCE'),
      writerPollMs: read.int('DATABASE_WRITER_POLL_MS', 5000, 100),
      iamAuth: read.bool('DATABASE_IAM_AUTH', false),
      replicaCheckMs: read.int('DATABASE_REPLICA_CHECK_MS', 5000, 100),
      replicaMaxLagMs: read.int('DATABASE_REPLICA_MAX_LAG_MS', 30_000, 0),
      readYourWritesMs: read.int('DATABASE_READ_YOUR_WRITES_MS', 10_000, 1),
    },
    redis: {
      url: read.redisUrls('REDIS_URL'),
      cluster: read.bool('REDIS_CLUSTER', false),
      keyPrefix: read.string('REDIS_KEY_PREFIX', ''),
      connectTimeoutMs: read.int('REDIS_CONNECT_TIMEOUT_MS', 1000, 1),
      commandTimeoutMs: read.int('REDIS_COMMAND_TIMEOUT_MS', 1000, 1),
      iam: read.redisIam(read.bool('REDIS_IAM_AUTH', false), {
        replicationGroupId: read.string('REDIS_IAM_REPLICATION_GROUP_ID', ''),
        region: read.string('REDIS_IAM_REGION', ''),
      }),
    },
    healthTimeoutMs: read.int('HEALTH_TIMEOUT_MS', 1000, 1),
    session: {
      idleSeconds: read.int('SESSION_TTL_SECONDS', 1800, 1),
      absoluteSeconds: read.int('SESSION_ABSOLUTE_TTL_SECONDS', 43_200, 1),
      localCacheSeconds: read.int('SESSION_LOCAL_CACHE_SECONDS', 10, 0),
      cookieName: read.string('SESSION_COOKIE_NAME', cookieSecure ? '__Host-sid' : 'sid'),
      cookieSecure,
      // The web client's origins (CORS) are trusted for cookie-authenticated writes too: one list for both checks.
      allowedOrigins: [
        ...new Set([
          ...(read.optional('ALLOWED_ORIGINS') ?? '')
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean),
          ...read.origins('WEB_ORIGINS'),
        ]),
      ],
    },
    lockout: {
      untrustedFailuresPerAccount: read.int('LOGIN_MAX_PER_ACCOUNT', 10, 1),
      failuresPerDevice: read.int('LOGIN_MAX_PER_DEVICE', 10, 1),
      windowSeconds: read.int('AUTH_RATE_LIMIT_WINDOW_SECONDS', 900, 1),
      deviceCookieDays: read.int('DEVICE_COOKIE_DAYS', 90, 1, 400),
    },
    mail: {
      transport: read.oneOf('MAIL_TRANSPORT', ['smtp', 'ses'] as const, 'smtp'),
      smtpUrl: read.string('SMTP_URL', 'smtp://127.0.0.1:1025'),
      sesRegion: read.optional('SES_REGION'),
      sesConfigurationSet: read.optional('SES_CONFIGURATION_SET'),
      from: read.string('MAIL_FROM', 'Blueprint <no-reply@example.com>'),
      appBaseUrl: read.string('APP_BASE_URL', 'http://localhost:3000'),
    },
    account: {
      passwordResetTtlSeconds: read.int('PASSWORD_RESET_TTL_SECONDS', 1800, 60, 86_400),
      emailVerificationTtlSeconds: read.int('EMAIL_VERIFICATION_TTL_SECONDS', 86_400, 60, 604_800),
      requireVerifiedEmail: read.bool('REQUIRE_VERIFIED_EMAIL', false),
    },
    mfa: {
      issuer: read.string('MFA_ISSUER', 'Blueprint'),
      challengeTtlSeconds: read.int('MFA_CHALLENGE_TTL_SECONDS', 300, 1, 900),
      challengeMaxFailures: read.int('MFA_CHALLENGE_MAX_FAILURES', 5, 1, 20),
      enrolmentTtlSeconds: read.int('MFA_ENROLMENT_TTL_SECONDS', 600, 60, 3600),
      // 50 a day: far above an owner's typos, a 1-in-20,000 chance for a guesser (of 10^6 codes).
      maxFailuresPerDay: read.int('MFA_MAX_FAILURES_PER_DAY', 50, 1, 10_000),
      recoveryCodeCount: read.int('MFA_RECOVERY_CODES', 10, 1, 50),
      // On by default: an admin account moves money (treasury) and sees every user's data.
      requireForAdmin: read.bool('REQUIRE_MFA_FOR_ADMIN', true),
      // Off by default: turning it on changes what every existing client's login gives (docs/api.md).
      requireForAll: read.bool('REQUIRE_MFA', false),
      encryptionKeys: {
        current: mfaKey ?? (production ? undefined : DEV_MFA_ENCRYPTION_KEY),
        old: mfaOldKeys,
      },
    },
    passwords: {
      // OWASP's first argon2id recommendation: m=19 MiB, t=2, p=1.
      argon2: {
        memoryKiB: read.int('PASSWORD_ARGON2_MEMORY_KIB', 19_456, 64, 4_194_304),
        passes: read.int('PASSWORD_ARGON2_PASSES', 2, 1, 64),
        parallelism: read.int('PASSWORD_ARGON2_PARALLELISM', 1, 1, 8),
      },
      limits: {
        // Half the cores (contract.ts): the other routes keep the rest through a sign-in storm. By
        // default one libuv thread at least stays free of hashes (see the check below).
        concurrency: read.int(
          ENV.passwordHashConcurrency,
          Math.max(1, Math.min(hashConcurrencyFor(availableParallelism()), threadPool - 1)),
          1,
          64,
        ),
        queueMax: read.int('PASSWORD_HASH_QUEUE_MAX', 32, 0, 10_000),
        queueTimeoutMs: read.int('PASSWORD_HASH_QUEUE_TIMEOUT_MS', 50, 1, 60_000),
      },
    },
    preferencesMaxBytes: read.int('PREFERENCES_MAX_BYTES', 16_384, 2),
    shedding: {
      maxEventLoopDelayMs: read.int('SHED_EVENT_LOOP_DELAY_MS', 100, 0, 60_000),
      eventLoopDelaySamples: read.int('SHED_EVENT_LOOP_DELAY_SAMPLES', 2, 1, 100),
      // 90% of V8's heap limit: past it, garbage collection takes the time requests need.
      maxHeapUsedBytes: read.int('SHED_HEAP_USED_BYTES', Math.floor(heapLimitBytes() * 0.9), 0),
      maxPoolWaiting: read.int('SHED_POOL_WAITING', 50, 0),
      // Two samples of 100 ms: overload in turns up to 100 ms long is refused as soon as one 200 ms sample refused it.
      sampleIntervalMs: read.int('SHED_SAMPLE_INTERVAL_MS', 100, 10, 10_000),
      retryAfterSeconds: read.int('SHED_RETRY_AFTER_SECONDS', 1, 1, 3600),
      concurrency: {
        initial: read.int('SHED_CONCURRENCY_INITIAL', 32, 1, 100_000),
        min: read.int('SHED_CONCURRENCY_MIN', 8, 1, 100_000),
        max: read.int('SHED_CONCURRENCY_MAX', 0, 0, 100_000),
        targetMs: read.int('SHED_LATENCY_TARGET_MS', 50, 1, 60_000),
        windowMs: read.int('SHED_LATENCY_WINDOW_MS', 100, 10, 60_000),
        minSamples: read.int('SHED_LATENCY_MIN_SAMPLES', 20, 1, 100_000),
        warmupMs: read.int('SHED_CONCURRENCY_WARMUP_MS', 1000, 0, 600_000),
      },
    },
    rateLimit: {
      windowSeconds: read.int('AUTH_RATE_LIMIT_WINDOW_SECONDS', 900, 1),
      loginPerIp: read.int('LOGIN_MAX_PER_IP', 100, 1),
      loginPerAccount: read.int('LOGIN_MAX_PER_ACCOUNT', 10, 1),
      registerPerIp: read.int('REGISTER_MAX_PER_IP', 20, 1),
      registerPerAccount: read.int('REGISTER_MAX_PER_ACCOUNT', 5, 1),
    },
    transactions: {
      maxAttempts: read.int('TRANSACTION_MAX_ATTEMPTS', 3, 1, 10),
      idempotencyRetentionHours: read.int('IDEMPOTENCY_RETENTION_HOURS', 168, 1, 8760),
      idempotencySweepIntervalMs: read.int('IDEMPOTENCY_SWEEP_INTERVAL_MS', 3_600_000, 100),
    },
    funding: {
      webhookSecret: read.secret('FUNDING_WEBHOOK_SECRET', 32),
      webhookToleranceSeconds: read.int('FUNDING_WEBHOOK_TOLERANCE_SECONDS', 300, 1, 3600),
      maxAmount: BigInt(read.int('FUNDING_MAX_AMOUNT', 1_000_000, 1, 1e15)),
      dailyLimit: BigInt(read.int('FUNDING_DAILY_LIMIT', 5_000_000, 1)),
    },
    notifications: {
      heartbeatMs: read.int('NOTIFICATIONS_HEARTBEAT_MS', 20_000, 10, 25_000),
      replayLimit: read.int('NOTIFICATIONS_REPLAY_LIMIT', 500, 1, 10_000),
      maxStreamsPerUser: read.int('NOTIFICATIONS_MAX_STREAMS_PER_USER', 5, 1, 1000),
      relay: {
        enabled: read.bool('OUTBOX_RELAY_ENABLED', true),
        intervalMs: read.int('OUTBOX_RELAY_INTERVAL_MS', 500, 10, 60_000),
        batchSize: read.int('OUTBOX_RELAY_BATCH_SIZE', 100, 1, 1000),
        kickGapMs: read.int('OUTBOX_RELAY_KICK_GAP_MS', 20, 0, 1000),
      },
    },
    s3: {
      endpoint: read.optionalUrl('S3_ENDPOINT', ['http:', 'https:']),
      publicEndpoint: read.optionalUrl('S3_PUBLIC_ENDPOINT', ['http:', 'https:']),
      region: read.string('S3_REGION', 'us-east-1'),
      bucket: read.string('S3_BUCKET', 'uploads'),
      forcePathStyle: read.bool('S3_FORCE_PATH_STYLE', false),
      // A presigned POST's content-length-range works up to S3's 5 GB single-request limit.
      uploadMaxBytes: read.int('UPLOAD_MAX_BYTES', 10_485_760, 1, 2_147_483_647),
      allowedContentTypes: read.list(
        'UPLOAD_CONTENT_TYPES',
        'image/png,image/jpeg,image/webp,application/pdf,text/plain,text/csv',
      ),
      uploadUrlTtlSeconds: read.int('UPLOAD_URL_TTL_SECONDS', 900, 1, 604_800),
      downloadUrlTtlSeconds: read.int('DOWNLOAD_URL_TTL_SECONDS', 300, 1, 604_800),
    },
    cache: {
      profileTtlSeconds: read.int('CACHE_PROFILE_TTL_SECONDS', 300, 1),
      reportsTtlSeconds: read.int('CACHE_REPORTS_TTL_SECONDS', 600, 1),
    },
    web: {
      origins: read.origins('WEB_ORIGINS'),
      docsUi: read.bool('API_DOCS_UI', true),
      publicApiUrl: read.optionalUrl('PUBLIC_API_URL', ['http:', 'https:']),
    },
  }

  const hashing = config.passwords.limits.concurrency
  if (poolKnown && hashing >= threadPool) {
    problems.push(
      `${ENV.passwordHashConcurrency} (${hashing}) must be below ${ENV.uvThreadPoolSize} (${threadPool}` +
        `${env[ENV.uvThreadPoolSize] === undefined ? ", libuv's default" : ''}): hashes would hold every libuv thread ` +
        `and DNS lookups, file reads and zlib would wait behind them; set ${ENV.uvThreadPoolSize}=${hashing + LIBUV_DEFAULT_THREADS}`,
    )
  }
  if (config.session.cookieName.startsWith('__Host-') && !config.session.cookieSecure) {
    problems.push(
      'SESSION_COOKIE_NAME: a __Host- cookie needs COOKIE_SECURE=true (browsers refuse it otherwise)',
    )
  }
  if (production && mfaKey?.equals(DEV_MFA_ENCRYPTION_KEY)) {
    problems.push(
      `${ENV.mfaEncryptionKey} is the published development key; generate one: openssl rand -base64 32`,
    )
  }
  // Anyone can open a seed sealed under the published key: listing it as an old key in production
  // would keep such seeds readable instead of forcing their re-enrolment.
  if (production && mfaOldKeys.some((k) => k.equals(DEV_MFA_ENCRYPTION_KEY))) {
    problems.push('MFA_ENCRYPTION_KEYS_OLD lists the published development key; remove it')
  }
  // Unsealed seeds in production only by an explicit choice (infra sets it until the key exists).
  if (production && !mfaKey && !mfaOptional && read.optional(ENV.mfaEncryptionKey) === undefined) {
    problems.push(
      `${ENV.mfaEncryptionKey} is required in production (TOTP seeds at rest, openssl rand -base64 32); ` +
        `set ${ENV.mfaEncryptionOptional}=true to store them unencrypted until it is`,
    )
  }
  if (read.optional(ENV.mfaEncryptionKey)?.includes(',')) {
    problems.push(`${ENV.mfaEncryptionKey} takes one key; list previous ones in MFA_ENCRYPTION_KEYS_OLD`)
  }
  if (config.mail.transport === 'ses' && !config.mail.sesRegion) {
    problems.push('SES_REGION is required when MAIL_TRANSPORT=ses')
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === '' ? undefined : value
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback
  }

  /** A string with no default. */
  optional(name: string): string | undefined {
    return this.raw(name)
  }

  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const n = Number(value)
    if (!/^\d+$/.test(value) || n < min || n > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max} (got "${value}")`)
      return fallback
    }
    return n
  }

  /** An optional secret of at least `minLength` characters; never echoed in the problem. */
  secret(name: string, minLength: number): string | undefined {
    const value = this.raw(name)
    if (value !== undefined && value.length < minLength) {
      this.problems.push(`${name} must be at least ${minLength} characters`)
    }
    return value
  }

  /** Comma-separated base64 keys of exactly `bytes` bytes each; never echoed in the problem. */
  keys(name: string, bytes: number): Buffer[] {
    const items = (this.raw(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    const keys = items.map((item) => Buffer.from(item, 'base64'))
    if (items.some((item, i) => !/^[A-Za-z0-9+/_-]+={0,2}$/.test(item) || keys[i]?.length !== bytes)) {
      this.problems.push(`${name} must be ${bytes}-byte keys in base64 (openssl rand -base64 ${bytes})`)
      return []
    }
    return keys
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase()
    if (value === undefined) return fallback
    if (value === 'true' || value === '1') return true
    if (value === 'false' || value === '0') return false
    this.problems.push(`${name} must be true or false (got "${value}")`)
    return fallback
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if ((allowed as readonly string[]).includes(value)) return value as T
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`)
    return fallback
  }

  url(name: string, protocols: string[]): string {
    const value = this.raw(name)
    if (value === undefined) {
      this.problems.push(`${name} is required (for example ${protocols[0]}//host:port/...)`)
      return ''
    }
    if (!validUrl(value, protocols)) {
      this.problems.push(`${name} must be a ${protocols.join(' or ')}// URL`)
    }
    return value
  }

  /** An optional comma-separated list of URLs. */
  urlList(name: string, protocols: string[]): string[] {
    const urls = (this.raw(name) ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean)
    if (urls.some((u) => !validUrl(u, protocols))) {
      this.problems.push(`${name} must be a comma-separated list of ${protocols.join(' or ')}// URLs`)
    }
    return urls
  }

  /** A comma-separated list of browser origins (scheme://host[:port], no path). */
  origins(name: string): string[] {
    const urls = this.urlList(name, ['http:', 'https:'])
    const bad = urls.filter(
      (u) => validUrl(u, ['http:', 'https:']) && new URL(u).origin !== u.replace(/\/$/, ''),
    )
    if (bad.length > 0)
      this.problems.push(`${name} lists origins only, without a path (got "${bad.join(', ')}")`)
    return urls.map((u) => u.replace(/\/$/, ''))
  }

  /** Where the database writer endpoint is read at run time (optional). */
  writerSource(name: string): string | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    const problem = writerSourceProblem(value)
    if (problem) this.problems.push(`${name} ${problem} (got "${value}")`)
    return value
  }

  optionalUrl(name: string, protocols: string[]): string | undefined {
    const value = this.raw(name)
    if (value !== undefined && !validUrl(value, protocols)) {
      this.problems.push(`${name} must be a ${protocols.join(' or ')}// URL`)
    }
    return value
  }

  /** A comma-separated list; empty entries are dropped. */
  list(name: string, fallback: string): string[] {
    const items = (this.raw(name) ?? fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    if (items.length === 0) this.problems.push(`${name} must list at least one value`)
    return items
  }

  /** One redis:// or rediss:// URL, or a comma-separated list of cluster seed nodes. */
  redisUrls(name: string): string {
    const value = this.raw(name)
    if (value === undefined) {
      this.problems.push(`${name} is required (for example redis://127.0.0.1:6379)`)
      return ''
    }
    const bad = value.split(',').filter((u) => !validUrl(u.trim(), ['redis:', 'rediss:']))
    if (bad.length > 0) this.problems.push(`${name} must be redis:// or rediss:// URL(s)`)
    return value
  }

  /**
   * ElastiCache IAM authentication when `on`: the replication group and region to sign for (both required), and a
   * REDIS_URL (rediss://, TLS is required) that names the user and holds no password.
   */
  redisIam(
    on: boolean,
    target: { replicationGroupId: string; region: string },
  ): { replicationGroupId: string; region: string } | undefined {
    if (!on) return undefined
    const when = 'when REDIS_IAM_AUTH=true'
    if (!target.replicationGroupId) this.problems.push(`REDIS_IAM_REPLICATION_GROUP_ID is required ${when}`)
    if (!target.region) this.problems.push(`REDIS_IAM_REGION is required ${when}`)
    const first = this.raw('REDIS_URL')?.split(',')[0]?.trim() ?? ''
    if (validUrl(first, ['redis:', 'rediss:'])) {
      const u = new URL(first)
      if (u.protocol !== 'rediss:') this.problems.push(`REDIS_URL must be rediss:// ${when} (IAM needs TLS)`)
      if (!u.username)
        this.problems.push(`REDIS_URL must name the ElastiCache user (rediss://<user>@host:port) ${when}`)
      if (u.password)
        this.problems.push(`REDIS_URL must hold no password ${when} (the IAM token is the password)`)
    }
    return target
  }

  trustProxy(name: string, fallback: string): boolean | number | string {
    const value = this.raw(name) ?? fallback
    if (value === 'true') return true
    if (value === 'false') return false
    if (/^\d+$/.test(value)) return Number(value)
    return value
  }
}

function heapLimitBytes(): number {
  return getHeapStatistics().heap_size_limit
}

function validUrl(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol)
  } catch {
    return false
  }
}
