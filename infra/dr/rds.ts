import {
  type DBInstance,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  PromoteReadReplicaCommand,
} from '@aws-sdk/client-rds'
import { aws, type Context } from './context.js'
import { pollUntil } from './poll.js'
import type { Site } from './topology.js'

/** Backup retention a promoted primary gets, matching the primary's stack default. */
export const BACKUP_RETENTION_DAYS = 7

async function describe(ctx: Context, site: Site, id: string): Promise<DBInstance> {
  const { rds } = ctx.clients.forRegion(site.region)
  const result = await aws(ctx, `DescribeDBInstances ${id}`, () =>
    rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id })),
  )
  const instance = result.DBInstances?.[0]
  if (!instance) throw new Error(`DescribeDBInstances returned no instance for ${id}`)
  return instance
}

/**
 * Starts promotion. Backups are switched on in the same call: turning retention from 0 to non-zero
 * later reboots the instance, which would be a second outage after writers have moved.
 */
export async function promoteReplica(ctx: Context, site: Site, id: string): Promise<void> {
  const { rds } = ctx.clients.forRegion(site.region)
  await aws(ctx, `PromoteReadReplica ${id}`, () =>
    rds.send(
      new PromoteReadReplicaCommand({
        DBInstanceIdentifier: id,
        BackupRetentionPeriod: BACKUP_RETENTION_DAYS,
      }),
    ),
  )
}

/**
 * Waits until the instance is standalone and available. Right after the call RDS may still report the
 * old replica as "available" for a few seconds, so "no replication source" is part of the condition.
 */
export function waitPromoted(ctx: Context, site: Site, id: string, timeoutMs: number): Promise<DBInstance> {
  return pollUntil(ctx, id, timeoutMs, async () => {
    const instance = await describe(ctx, site, id)
    const standalone = !instance.ReadReplicaSourceDBInstanceIdentifier
    const status = instance.DBInstanceStatus ?? 'unknown'
    return {
      done: standalone && status === 'available',
      detail: `${status}${standalone ? ', standalone' : ', still a replica'}`,
      value: instance,
    }
  })
}

/** Turns on Multi-AZ and backups immediately (Multi-AZ conversion is online: no reboot). */
export async function hardenPrimary(ctx: Context, site: Site, id: string): Promise<void> {
  const { rds } = ctx.clients.forRegion(site.region)
  await aws(ctx, `ModifyDBInstance ${id}`, () =>
    rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: id,
        MultiAZ: true,
        BackupRetentionPeriod: BACKUP_RETENTION_DAYS,
        ApplyImmediately: true,
      }),
    ),
  )
}

/** Waits until Multi-AZ and backups are in effect and nothing is pending. */
export function waitHardened(ctx: Context, site: Site, id: string, timeoutMs: number): Promise<DBInstance> {
  return pollUntil(ctx, id, timeoutMs, async () => {
    const instance = await describe(ctx, site, id)
    const status = instance.DBInstanceStatus ?? 'unknown'
    const pending = Object.keys(instance.PendingModifiedValues ?? {})
    const done =
      status === 'available' &&
      instance.MultiAZ === true &&
      (instance.BackupRetentionPeriod ?? 0) >= BACKUP_RETENTION_DAYS &&
      pending.length === 0
    return {
      done,
      detail: `${status}, multi-AZ ${instance.MultiAZ ? 'on' : 'off'}, backups ${instance.BackupRetentionPeriod ?? 0} d${
        pending.length ? `, pending ${pending.join(',')}` : ''
      }`,
      value: instance,
    }
  })
}
