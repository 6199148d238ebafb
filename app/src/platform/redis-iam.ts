/**
 * ElastiCache IAM authentication: each connection AUTHs as an IAM-enabled ElastiCache user with a token signed
 * by the task role's credentials instead of a password. Signing is local SigV4 (no AWS call), so there is no
 * Redis secret to store, rotate or leak, and nothing in Pulumi state that a preview could read.
 *
 * A token is valid for 15 minutes and ElastiCache closes IAM-authenticated connections after 12 hours, so every
 * (re)connect must present a fresh one. ioredis reads `options.password` of each connection when it connects
 * (the standalone client, every cluster node, the slot refresher and the cluster subscriber, which copy a
 * node's options), so `keepIamPassword` keeps that field on every connection a fresh token.
 */
import { formatUrl } from '@aws-sdk/core/util'
import { fromNodeProviderChain } from '@aws-sdk/credential-providers'
import { Sha256 } from '@smithy/core/checksum'
import { HttpRequest } from '@smithy/core/protocols'
import { SignatureV4 } from '@smithy/signature-v4'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types'
import { Cluster, type Redis } from 'ioredis'

/** Lifetime of a token ElastiCache accepts (the most it allows). */
export const IAM_TOKEN_EXPIRES_SECONDS = 900
/** How often a fresh token replaces the current one: well inside its 15 minutes. */
export const IAM_TOKEN_REFRESH_MS = 5 * 60_000
/** Retry delay after a failed signing (credentials endpoint briefly unreachable). */
export const IAM_TOKEN_RETRY_MS = 5_000

/** Who connects to which cache: the replication group, the IAM-enabled user (id = name) and the cache's region. */
export interface IamTarget {
  replicationGroupId: string
  userId: string
  region: string
}

/** Returns a fresh AUTH password (an IAM token) for every call. */
export type RedisTokenSigner = () => Promise<string>

/** Signing inputs tests pin; by default the SDK's credential chain (the ECS task role) and the current time. */
export interface SignOptions {
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider
  signingDate?: Date
}

let defaultCredentials: AwsCredentialIdentityProvider | undefined

/**
 * An ElastiCache IAM auth token: the presigned URL `<group>/?Action=connect&User=<user>&X-Amz-...` (scheme
 * stripped) for service `elasticache` in the cache's region, valid 900 s. Replication group and user ids are
 * lowercase in ElastiCache; the signature covers them as given.
 */
export async function elastiCacheIamToken(target: IamTarget, opts: SignOptions = {}): Promise<string> {
  // The SDK's chain caches credentials and refreshes them before they expire.
  defaultCredentials ??= fromNodeProviderChain()
  const signer = new SignatureV4({
    service: 'elasticache',
    region: target.region,
    credentials: opts.credentials ?? defaultCredentials,
    sha256: Sha256,
  })
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'http:',
    hostname: target.replicationGroupId,
    path: '/',
    query: { Action: 'connect', User: target.userId },
    headers: { host: target.replicationGroupId },
  })
  const presigned = await signer.presign(request, {
    expiresIn: IAM_TOKEN_EXPIRES_SECONDS,
    ...(opts.signingDate ? { signingDate: opts.signingDate } : {}),
  })
  return formatUrl(presigned).replace(/^http:\/\//, '')
}

/** A signer for one target with the default credential chain. */
export function iamTokenSigner(target: IamTarget): RedisTokenSigner {
  return () => elastiCacheIamToken(target)
}

/** Refresh timing; tests shorten it. */
export interface RefreshTiming {
  refreshMs: number
  retryMs: number
}

/**
 * Keeps the AUTH password of `client` (created with `lazyConnect`) a fresh token: signs one, connects, then
 * re-signs every `refreshMs`. A signing failure is reported as the client's `error` event (the plugins log those)
 * and retried after `retryMs`; it never throws. Stops when the client ends. Returns a stop function.
 * `reauthenticate: false` (a subscriber) only updates the password its next connect uses.
 */
export function keepIamPassword(
  client: Redis | Cluster,
  sign: RedisTokenSigner,
  timing: RefreshTiming = { refreshMs: IAM_TOKEN_REFRESH_MS, retryMs: IAM_TOKEN_RETRY_MS },
  { reauthenticate = true }: { reauthenticate?: boolean } = {},
): () => void {
  let token: string | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const applyTo = (redis: Redis) => {
    redis.options.password = token
    // ElastiCache closes an IAM connection 12 h after its AUTH unless it authenticates again with a
    // fresh token: a task's connections all open at boot and would otherwise drop together.
    if (reauthenticate && redis.status === 'ready' && token !== undefined && redis.options.username) {
      redis.auth(redis.options.username, token).catch((err: unknown) => report(client, err))
    }
  }
  const applyAll = () => {
    if (client instanceof Cluster) {
      // Nodes created later copy these options (the pool's copy is stale: each new node is set on `+node`).
      if (client.options.redisOptions) client.options.redisOptions.password = token
      for (const node of client.nodes('all')) applyTo(node)
    } else {
      applyTo(client)
    }
  }
  if (client instanceof Cluster) {
    // Emitted when the pool creates a node connection, before it connects (nodes connect lazily).
    client.on('+node', (node: Redis) => {
      if (token !== undefined) applyTo(node)
    })
  }
  const schedule = (ms: number) => {
    if (stopped) return
    timer = setTimeout(() => void refresh(), ms)
    timer.unref()
  }
  async function refresh(): Promise<void> {
    try {
      token = await sign()
    } catch (err) {
      report(client, err)
      schedule(timing.retryMs)
      return
    }
    if (stopped) return
    applyAll()
    // Connection errors surface as `error` events; ioredis keeps retrying by itself.
    if (client.status === 'wait') client.connect().catch(() => {})
    schedule(timing.refreshMs)
  }
  const stop = () => {
    stopped = true
    if (timer) clearTimeout(timer)
  }
  client.once('end', stop)
  void refresh()
  return stop
}

function report(client: Redis | Cluster, err: unknown): void {
  const error = new Error(`redis IAM token signing failed: ${(err as Error)?.message ?? String(err)}`)
  // An `error` event without a listener would throw; both plugins listen, a bare client only warns.
  if (client.listenerCount('error') > 0) client.emit('error', error)
  else process.emitWarning(error.message)
}
