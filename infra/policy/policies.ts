// The guard-rail policies, in one list shared by the pack entry (index.ts) and the offline runner.
import type { Policies } from '@pulumi/policy'
import { elasticacheEncryptionAtRest, elasticacheEncryptionInTransit } from './rules/cache.js'
import { ebsEncryption, ecsCircuitBreaker } from './rules/compute.js'
import {
  rdsBackupRetention,
  rdsDeletionProtection,
  rdsEncryptionAtRest,
  rdsEncryptionInTransit,
  rdsMultiAz,
} from './rules/database.js'
import { albListenerHttps, albWaf, cloudfrontHttps, cloudfrontWaf } from './rules/edge.js'
import { logGroupEncryption, logGroupRetention } from './rules/logs.js'
import { noOpenIngress } from './rules/network.js'
import { s3EncryptionAtRest, s3PublicAccessBlocked, s3TlsOnly } from './rules/storage.js'
import { requiredTags } from './rules/tags.js'

/** Name the pack is published and reported under. */
export const PACK_NAME = 'two-region-guardrails'

/** Every mandatory guard rail of this project. */
export const guardrails: Policies = [
  rdsEncryptionAtRest,
  rdsEncryptionInTransit,
  rdsMultiAz,
  rdsBackupRetention,
  rdsDeletionProtection,
  s3EncryptionAtRest,
  s3PublicAccessBlocked,
  s3TlsOnly,
  elasticacheEncryptionAtRest,
  elasticacheEncryptionInTransit,
  ebsEncryption,
  logGroupRetention,
  logGroupEncryption,
  noOpenIngress,
  albListenerHttps,
  albWaf,
  cloudfrontWaf,
  cloudfrontHttps,
  ecsCircuitBreaker,
  requiredTags,
]
