import type { DBInstance } from '@aws-sdk/client-rds'
import type { Context } from './context.js'
import { describeError, PreflightRefused, StepFailed } from './errors.js'
import { formatDuration } from './log.js'
import { endpointOf } from './observe.js'
import { type PreflightOptions, preflight, renderChecks } from './preflight.js'
import { promotionPulumiSteps } from './pulumi-steps.js'
import { BACKUP_RETENTION_DAYS, hardenPrimary, promoteReplica, waitHardened, waitPromoted } from './rds.js'
import { type Site, siteOf } from './topology.js'
import {
  parameterCommand,
  recordCommand,
  switchWriterParameter,
  switchWriterRecord,
} from './writer-endpoint.js'

/** Options of `promote`. */
export interface PromoteOptions extends PreflightOptions {
  /** Stack to promote (its replica becomes the writer). */
  region: string
  /** Enable Multi-AZ before moving writers (longer RTO, never writes to a single-AZ primary). */
  hardenBeforeSwitch: boolean
  /** @default 30 min: promotion itself takes a few minutes; the rest is margin. */
  promoteTimeoutMs: number
  /** @default 120 min: Multi-AZ conversion copies the volume; ~1 TB can take an hour. */
  hardenTimeoutMs: number
}

/** What a successful promotion measured. */
export interface PromoteResult {
  /** From command start to the last writer pointer switched. */
  rtoMs: number
  writer: string
  steps: { name: string; ms: number }[]
}

/** A promotion step and what the world looks like if it fails. */
interface Step {
  name: string
  run(): Promise<void>
  /** State left behind if this step fails, given everything before it succeeded. */
  stateLeft(): string
  /** What the operator does next if this step fails. */
  next(): string[]
}

/** Runs preflight and, when it passes, the promotion; throws PreflightRefused or StepFailed. */
export async function promote(ctx: Context, options: PromoteOptions): Promise<PromoteResult> {
  const started = ctx.clock.now()
  const target = siteOf(ctx.topology, options.region)
  ctx.log.info(
    `promote ${target.stack} (${target.region})${options.drill ? ' [drill]' : ''}${options.force ? ' [force]' : ''}, max lag ${options.maxLagSeconds}s`,
  )
  const pf = await ctx.log.step('preflight: observe both regions', () => preflight(ctx, target, options))
  for (const line of renderChecks(pf.checks)) ctx.log.info(`   ${line}`)
  if (!pf.ok) throw new PreflightRefused('preflight refused the promotion; nothing was changed')
  ctx.log.info('preflight passed')

  const id = pf.target.db.id as string
  const source = pf.sourceSite
  const oldWriter = pf.target.writer.value ?? '?'
  let promoted: DBInstance | undefined
  let writer = ''
  let writerSwitchedAt: Date | undefined
  const host = () => writer.split(':')[0] ?? writer
  const drillNote = options.drill
    ? ''
    : ` (skip ${source.stack} if its region is down; do it when it is back)`

  const steps: Step[] = [
    {
      name: `PromoteReadReplica ${id} (backups ${BACKUP_RETENTION_DAYS} d)`,
      run: () => promoteReplica(ctx, target, id),
      stateLeft: () =>
        `${id} is probably still a replica (the call failed; RDS changes nothing on a rejected call). Services still write to ${oldWriter}.`,
      next: () => [
        'npm run dr -- status   # if it shows a standalone primary, the promotion went through: continue by hand below',
        `fix the cause (${target.region} RDS console/events), then rerun this promote command`,
      ],
    },
    {
      name: `wait until ${id} is a standalone, available primary`,
      run: async () => {
        promoted = await waitPromoted(ctx, target, id, options.promoteTimeoutMs)
        const endpoint = endpointOf(promoted)
        if (!endpoint) throw new Error(`${id} has no endpoint after promotion`)
        writer = endpoint
      },
      stateLeft: () =>
        `PromoteReadReplica was accepted: ${id} is leaving replication (it no longer follows ${source.stack}). Services still write to ${oldWriter}.`,
      next: () => [
        `watch: aws rds describe-db-instances --region ${target.region} --db-instance-identifier ${id} --query 'DBInstances[0].[DBInstanceStatus,ReadReplicaSourceDBInstanceIdentifier]'`,
        `once "available" with no source, switch writers: ${parameterCommand(target, `<${id} endpoint>:5432`)}`,
        `and: ${parameterCommand(source, `<${id} endpoint>:5432`)}${drillNote}`,
      ],
    },
  ]

  const switchSteps: Step[] = [
    {
      name: `switch ${target.stack} writer parameter`,
      run: () => switchWriterParameter(ctx, target, writer),
      stateLeft: () => `${id} is a standalone primary at ${writer}, but no service writes to it yet.`,
      next: () => [parameterCommand(target, writer), `${parameterCommand(source, writer)}${drillNote}`],
    },
    {
      name: `switch ${source.stack} writer parameter`,
      run: async () => {
        try {
          await switchWriterParameter(ctx, source, writer)
        } catch (error) {
          // In a real outage the old region's API may be down with it; its services cannot write anyway.
          if (options.drill) throw error
          ctx.log.warn(
            `${source.stack} parameter not switched (${describeError(error)}); when ${source.region} is back run: ${parameterCommand(source, writer)}`,
          )
        }
      },
      stateLeft: () =>
        `${target.stack} services write to ${writer}; ${source.stack} services still write to the old primary (two writers).`,
      next: () => [parameterCommand(source, writer), `or stop ${source.stack} writes until it is switched`],
    },
  ]
  const record = ctx.topology.writerRecord
  if (record) {
    switchSteps.push({
      name: `switch CNAME ${record.name}`,
      run: async () => {
        try {
          await switchWriterRecord(ctx, record, host(), options.promoteTimeoutMs)
        } catch (error) {
          // Route 53's API is served from us-east-1: in an outage there the UPSERT fails while DNS keeps answering
          // the old record. Services follow the writer parameters, so the promotion goes on (Multi-AZ included).
          if (options.drill) throw error
          ctx.log.warn(
            `CNAME ${record.name} not switched (${describeError(error)}); when Route 53's API answers again run: ${recordCommand(record, host())}`,
          )
        }
      },
      stateLeft: () =>
        `Both writer parameters point at ${writer}; ${record.name} still resolves to the old primary.`,
      next: () => [recordCommand(record, host())],
    })
  }
  const markSwitched: Step = {
    name: 'writers switched',
    run: async () => {
      writerSwitchedAt = ctx.clock.now()
    },
    stateLeft: () => '',
    next: () => [],
  }

  const hardenSteps: Step[] = [
    {
      name: `ModifyDBInstance ${id}: Multi-AZ on, backups ${BACKUP_RETENTION_DAYS} d (apply immediately)`,
      run: () => hardenPrimary(ctx, target, id),
      stateLeft: () =>
        `${id} is a standalone primary (single-AZ)${writerSwitchedAt ? ` serving writes at ${writer}` : `; services still write to ${oldWriter}`}.`,
      next: () => [
        `aws rds modify-db-instance --region ${target.region} --db-instance-identifier ${id} --multi-az --backup-retention-period ${BACKUP_RETENTION_DAYS} --apply-immediately`,
        ...(writerSwitchedAt ? [] : [parameterCommand(target, writer), parameterCommand(source, writer)]),
      ],
    },
    {
      name: `wait until ${id} is Multi-AZ with backups`,
      run: async () => {
        await waitHardened(ctx, target, id, options.hardenTimeoutMs)
      },
      stateLeft: () =>
        `${id} is a standalone primary, Multi-AZ conversion requested but not confirmed${writerSwitchedAt ? `; writes go to ${writer}` : `; services still write to ${oldWriter}`}.`,
      next: () => [
        `aws rds describe-db-instances --region ${target.region} --db-instance-identifier ${id} --query 'DBInstances[0].[DBInstanceStatus,MultiAZ,BackupRetentionPeriod,PendingModifiedValues]'`,
        ...(writerSwitchedAt ? [] : [parameterCommand(target, writer), parameterCommand(source, writer)]),
      ],
    },
  ]

  // Default order moves writers first: Multi-AZ conversion is online but can take an hour on 1 TB,
  // and every minute of it would count against RTO.
  steps.push(
    ...(options.hardenBeforeSwitch
      ? [...hardenSteps, ...switchSteps, markSwitched]
      : [...switchSteps, markSwitched, ...hardenSteps]),
  )

  const timings: { name: string; ms: number }[] = []
  for (const step of steps) {
    const t0 = ctx.clock.now().getTime()
    try {
      await ctx.log.step(step.name, step.run)
    } catch (error) {
      throw new StepFailed(step.name, error, step.stateLeft(), step.next())
    }
    timings.push({ name: step.name, ms: ctx.clock.now().getTime() - t0 })
  }

  const rtoMs = (writerSwitchedAt ?? ctx.clock.now()).getTime() - started.getTime()
  ctx.log.info(`new writer: ${writer} (${id} in ${target.region})`)
  ctx.log.info('bring IaC in line:')
  for (const line of promotionPulumiSteps(ctx.topology, target, source)) ctx.log.info(`   ${line}`)
  ctx.log.info(
    `RTO ${formatDuration(rtoMs)} (${Math.round(rtoMs / 1000)} s) from command start to writers switched`,
  )
  if (pf.target.lag?.seconds !== undefined) {
    ctx.log.info(`RPO bound: replica lag at preflight was ${pf.target.lag.seconds}s`)
  }
  return { rtoMs, writer, steps: timings }
}

/** Prints a StepFailed so the operator knows exactly where things stand. */
export function reportFailure(ctx: Context, failure: StepFailed, target: Site): void {
  ctx.log.info(`STOPPED: ${failure.message}`)
  ctx.log.info(`state left: ${failure.stateLeft}`)
  ctx.log.info('next:')
  for (const line of failure.nextSteps) ctx.log.info(`   ${line}`)
  ctx.log.info(`then check: npm run dr -- status   (promotion target ${target.stack})`)
}
