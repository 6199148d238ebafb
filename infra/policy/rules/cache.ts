// ElastiCache: Redis/Valkey replication groups encrypt at rest and in transit. A standalone cache
// cluster cannot, so it is only allowed as a member of a replication group (or for memcached).
import type * as aws from '@pulumi/aws'
import type { ResourceValidationPolicy } from '@pulumi/policy'
import type * as pulumi from '@pulumi/pulumi'
import { isTrue, ofType, T } from '../resources.js'

type Group = pulumi.Unwrap<aws.elasticache.ReplicationGroupArgs>
type Cluster = pulumi.Unwrap<aws.elasticache.ClusterArgs>

const standaloneRedis = ofType<Cluster>([T.redisCluster], (c, args, report) => {
  if (!c.replicationGroupId && c.engine !== 'memcached') {
    report(`${args.name}: a standalone cache cluster cannot encrypt; use a replication group`)
  }
})

/** Replication groups encrypt data at rest. */
export const elasticacheEncryptionAtRest: ResourceValidationPolicy = {
  name: 'elasticache-encryption-at-rest',
  description: 'ElastiCache replication groups encrypt at rest.',
  enforcementLevel: 'mandatory',
  validateResource: [
    ofType<Group>([T.redisGroup], (g, args, report) => {
      if (!isTrue(g.atRestEncryptionEnabled)) report(`${args.name}: atRestEncryptionEnabled must be true`)
    }),
    standaloneRedis,
  ],
}

/** Replication groups encrypt client and replication traffic (TLS). */
export const elasticacheEncryptionInTransit: ResourceValidationPolicy = {
  name: 'elasticache-encryption-in-transit',
  description: 'ElastiCache replication groups encrypt in transit.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<Group>([T.redisGroup], (g, args, report) => {
    if (!isTrue(g.transitEncryptionEnabled)) report(`${args.name}: transitEncryptionEnabled must be true`)
    else if (g.transitEncryptionMode === 'preferred') {
      report(
        `${args.name}: transitEncryptionMode "preferred" still accepts plain connections; use "required"`,
      )
    }
  }),
}
