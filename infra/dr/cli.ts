import { pathToFileURL } from 'node:url'
import { type Command, parseCommand, USAGE } from './args.js'
import { createClients, type DrClients } from './aws.js'
import { type Clock, systemClock } from './clock.js'
import type { Context } from './context.js'
import { describeError, EXIT, PreflightRefused, StepFailed, UsageError } from './errors.js'
import { failbackPlan } from './failback.js'
import { firstDeploySteps, readSavedOutputs, renderFirstDeploy, renderProgress } from './first-deploy.js'
import { type Output, processOutput, StepLog } from './log.js'
import { promote, reportFailure } from './promote.js'
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js'
import { collectStatus, renderStatus } from './status.js'
import { buildTopology, siteOf } from './topology.js'

/** What tests inject; the CLI uses real clients, the system clock and the process streams. */
export interface Dependencies {
  clients?: DrClients
  clock?: Clock
  output?: Output
  retry?: RetryPolicy
}

/** Runs one command line and returns the process exit code. */
export async function main(argv: string[], deps: Dependencies = {}): Promise<number> {
  const output = deps.output ?? processOutput
  let command: Command
  try {
    command = parseCommand(argv)
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${USAGE}`)
    return EXIT.usage
  }
  if (command.name === 'help') {
    output.out(USAGE)
    return EXIT.ok
  }
  let ctx: Context
  try {
    const topology = buildTopology(command.topology)
    const clock = deps.clock ?? systemClock
    ctx = {
      topology,
      // failback-plan and first-deploy make no AWS calls, so they work without credentials.
      clients:
        deps.clients ??
        (command.name === 'failback-plan' || command.name === 'first-deploy'
          ? offlineClients()
          : createClients()),
      clock,
      output,
      log: new StepLog(output, clock),
      retry: deps.retry ?? DEFAULT_RETRY,
      pollMs: command.name === 'promote' ? command.pollSeconds * 1000 : 15000,
    }
    if ('region' in command) siteOf(topology, command.region)
  } catch (error) {
    output.err(describeError(error))
    return EXIT.usage
  }
  return run(ctx, command)
}

async function run(ctx: Context, command: Exclude<Command, { name: 'help' }>): Promise<number> {
  switch (command.name) {
    case 'status': {
      const report = await collectStatus(ctx)
      ctx.output.out(command.json ? JSON.stringify(report, null, 2) : renderStatus(report))
      return EXIT.ok
    }
    case 'failback-plan':
      for (const line of failbackPlan(ctx.topology, siteOf(ctx.topology, command.region)))
        ctx.output.out(line)
      return EXIT.ok
    case 'first-deploy': {
      const steps = firstDeploySteps(ctx.topology)
      const lines = command.check
        ? renderProgress(steps, readSavedOutputs(command.check, ctx.topology))
        : renderFirstDeploy(ctx.topology, steps)
      for (const line of lines) ctx.output.out(line)
      return EXIT.ok
    }
    case 'promote':
      try {
        await promote(ctx, {
          region: command.region,
          drill: command.drill,
          force: command.force,
          maxLagSeconds: command.maxLagSeconds,
          hardenBeforeSwitch: command.hardenBeforeSwitch,
          promoteTimeoutMs: 30 * 60_000,
          hardenTimeoutMs: 120 * 60_000,
        })
        return EXIT.ok
      } catch (error) {
        if (error instanceof PreflightRefused) {
          ctx.log.info(`REFUSED: ${error.message}`)
          return EXIT.refused
        }
        if (error instanceof StepFailed) {
          reportFailure(ctx, error, siteOf(ctx.topology, command.region))
          return EXIT.failedMidway
        }
        throw error
      }
  }
}

function offlineClients(): DrClients {
  return {
    forRegion: () => {
      throw new Error('this subcommand makes no AWS calls')
    },
    get route53(): never {
      throw new Error('this subcommand makes no AWS calls')
    },
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(
        `dr: ${error instanceof UsageError ? '' : 'unexpected error: '}${describeError(error)}\n`,
      )
      process.exit(EXIT.unexpected)
    },
  )
}
