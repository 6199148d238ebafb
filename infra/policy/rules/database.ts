// RDS: encrypted storage, TLS enforced by the parameter group, and for primaries Multi-AZ, at least
// a week of backups and deletion protection. Read replicas inherit backups and storage from their
// source, so the primary-only rules skip them.
import type * as aws from '@pulumi/aws'
import type { ResourceValidationPolicy } from '@pulumi/policy'
import type * as pulumi from '@pulumi/pulumi'
import { isTrue, ofType, T } from '../resources.js'

type Instance = pulumi.Unwrap<aws.rds.InstanceArgs>
type ParameterGroup = pulumi.Unwrap<aws.rds.ParameterGroupArgs>

/** Minimum automated-backup retention in days. */
export const MIN_BACKUP_DAYS = 7

const isReplica = (db: { replicateSourceDb?: string }) => Boolean(db.replicateSourceDb)

/** RDS instances and clusters must encrypt storage. */
export const rdsEncryptionAtRest: ResourceValidationPolicy = {
  name: 'rds-encryption-at-rest',
  description: 'RDS instances and clusters encrypt their storage.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<Instance>([T.rdsInstance, T.rdsCluster], (db, args, report) => {
    if (isTrue(db.storageEncrypted)) return
    // A same-region replica (source by identifier, not ARN) inherits its source's encryption;
    // a cross-region one needs a key of its own region.
    if (isReplica(db) && (db.kmsKeyId || !String(db.replicateSourceDb).startsWith('arn:'))) return
    report(`${args.name}: storageEncrypted must be true`)
  }),
}

/** PostgreSQL parameter groups must force TLS, and PostgreSQL instances must use one of ours. */
export const rdsEncryptionInTransit: ResourceValidationPolicy = {
  name: 'rds-encryption-in-transit',
  description: 'PostgreSQL parameter groups set rds.force_ssl=1 and PostgreSQL instances use a custom group.',
  enforcementLevel: 'mandatory',
  validateResource: [
    ofType<ParameterGroup>([T.rdsParameterGroup, T.rdsClusterParameterGroup], (pg, args, report) => {
      if (!String(pg.family ?? '').startsWith('postgres')) return
      const force = (pg.parameters ?? []).find((p) => p.name === 'rds.force_ssl')
      if (String(force?.value) !== '1') report(`${args.name}: parameter rds.force_ssl must be 1`)
    }),
    ofType<Instance>([T.rdsInstance], (db, args, report) => {
      if (!String(db.engine ?? '').startsWith('postgres') || isReplica(db)) return
      if (!db.parameterGroupName || String(db.parameterGroupName).startsWith('default.')) {
        report(`${args.name}: use a parameter group that sets rds.force_ssl=1, not the default`)
      }
    }),
  ],
}

/** Primary RDS instances must be Multi-AZ. */
export const rdsMultiAz: ResourceValidationPolicy = {
  name: 'rds-multi-az',
  description: 'Primary RDS instances run Multi-AZ.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<Instance>([T.rdsInstance], (db, args, report) => {
    if (!isReplica(db) && !isTrue(db.multiAz)) report(`${args.name}: multiAz must be true on a primary`)
  }),
}

/** Primary RDS instances and clusters keep automated backups for at least a week. */
export const rdsBackupRetention: ResourceValidationPolicy = {
  name: 'rds-backup-retention',
  description: `Primary RDS instances and clusters keep backups for at least ${MIN_BACKUP_DAYS} days.`,
  enforcementLevel: 'mandatory',
  validateResource: ofType<Instance>([T.rdsInstance, T.rdsCluster], (db, args, report) => {
    if (isReplica(db)) return
    const days = Number(db.backupRetentionPeriod ?? 0)
    if (!(days >= MIN_BACKUP_DAYS)) {
      report(`${args.name}: backupRetentionPeriod is ${days}, must be at least ${MIN_BACKUP_DAYS}`)
    }
  }),
}

/** Primary RDS instances and clusters refuse deletion. */
export const rdsDeletionProtection: ResourceValidationPolicy = {
  name: 'rds-deletion-protection',
  description: 'Primary RDS instances and clusters have deletion protection on.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<Instance>([T.rdsInstance, T.rdsCluster], (db, args, report) => {
    if (!isReplica(db) && !isTrue(db.deletionProtection))
      report(`${args.name}: deletionProtection must be true`)
  }),
}
