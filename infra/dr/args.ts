import { type ParseArgsConfig, parseArgs } from 'node:util'
import { UsageError } from './errors.js'
import { DEFAULT_PROJECT, DEFAULT_SITES, type TopologyOverrides } from './topology.js'

/** A parsed command line. */
export type Command =
  | { name: 'status'; json: boolean; topology: TopologyOverrides }
  | {
      name: 'promote'
      topology: TopologyOverrides
      region: string
      drill: boolean
      force: boolean
      maxLagSeconds: number
      hardenBeforeSwitch: boolean
      pollSeconds: number
    }
  | { name: 'failback-plan'; topology: TopologyOverrides; region: string }
  | { name: 'first-deploy'; topology: TopologyOverrides; check?: string }
  | { name: 'help' }

const PER_STACK = ['db', 'region', 'health-check', 'writer-parameter']

const OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  region: { type: 'string' },
  drill: { type: 'boolean' },
  force: { type: 'boolean' },
  'max-lag-seconds': { type: 'string' },
  'harden-before-switch': { type: 'boolean' },
  'poll-seconds': { type: 'string' },
  check: { type: 'string' },
  project: { type: 'string' },
  'pulumi-org': { type: 'string' },
  'hosted-zone-id': { type: 'string' },
  'writer-record': { type: 'string' },
  ...Object.fromEntries(
    DEFAULT_SITES.flatMap(({ stack }) =>
      PER_STACK.map((suffix) => [`${stack}-${suffix}`, { type: 'string' }]),
    ),
  ),
}

/** Usage text; names and defaults match topology.ts. */
export const USAGE = `usage: npm run dr -- <status|promote|failback-plan|first-deploy> [options]

  status                      both regions: DB role, replica lag, health check, writer endpoint
    --json                    machine-readable output
  promote --region <stack>    promote that stack's read replica to the writer
    --drill                   allow it while the primary is healthy (rehearsal)
    --force                   allow unknown or excessive replica lag (accepts data loss)
    --max-lag-seconds <n>     lag threshold (default 60)
    --harden-before-switch    Multi-AZ before moving writers (safer, longer RTO)
    --poll-seconds <n>        RDS poll interval (default 15)
  failback-plan [--region <stack>]   steps to rebuild the other region and switch back
                              (--region = the stack that is the writer now; default eu-west)
  first-deploy                the ordered first deploy of both stacks (docs/infrastructure.md)
    --check <dir>             say which step they are at, from <dir>/<stack>.json
                              (pulumi stack output --json --stack <stack>; a missing file = no outputs yet)

names (defaults follow project "${DEFAULT_PROJECT}" and stacks ${DEFAULT_SITES.map((s) => `${s.stack} (${s.region})`).join(', ')}):
  --project <name>                  Pulumi project (default ${DEFAULT_PROJECT})
  --pulumi-org <org>                Pulumi organisation in printed stack names (default <org>)
  --<stack>-db <id>                 DB identifier (default <project>-<stack>-db or <project>-<stack>-db-replica)
  --<stack>-region <aws region>     region of the stack
  --<stack>-health-check <id>       Route 53 health check (default: found by tags project/stack)
  --<stack>-writer-parameter <name> SSM parameter (default /<project>/<stack>/db/writer-endpoint)
  --hosted-zone-id <id> --writer-record <writer.example.com>   also switch this CNAME

exit codes: 0 ok, 2 usage, 3 refused by preflight (nothing changed), 4 failed midway (state printed), 1 other`

function number(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`--${flag} must be a non-negative number, got "${value}"`)
  return n
}

/** Parses argv (without node and script) into a command; throws UsageError on anything invalid. */
export function parseCommand(argv: string[]): Command {
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
    values = parsed.values as Record<string, string | boolean | undefined>
    positionals = parsed.positionals
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const str = (flag: string) => values[flag] as string | undefined
  const bool = (flag: string) => values[flag] === true
  const [name, ...extra] = positionals
  if (bool('help') || !name) return { name: 'help' }
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`)
  const byStack = (suffix: string) =>
    Object.fromEntries(DEFAULT_SITES.map(({ stack }) => [stack, str(`${stack}-${suffix}`)]))
  const topology: TopologyOverrides = {
    ...(str('project') ? { project: str('project') } : {}),
    ...(str('pulumi-org') ? { pulumiOrg: str('pulumi-org') } : {}),
    regions: byStack('region'),
    dbIds: byStack('db'),
    healthChecks: byStack('health-check'),
    writerParameters: byStack('writer-parameter'),
    ...(str('hosted-zone-id') ? { hostedZoneId: str('hosted-zone-id') } : {}),
    ...(str('writer-record') ? { writerRecordName: str('writer-record') } : {}),
  }
  switch (name) {
    case 'status':
      return { name, json: bool('json'), topology }
    case 'promote': {
      const region = str('region')
      if (!region) throw new UsageError('promote needs --region <stack>, e.g. --region eu-west')
      return {
        name,
        topology,
        region,
        drill: bool('drill'),
        force: bool('force'),
        maxLagSeconds: number('max-lag-seconds', str('max-lag-seconds'), 60),
        hardenBeforeSwitch: bool('harden-before-switch'),
        pollSeconds: number('poll-seconds', str('poll-seconds'), 15),
      }
    }
    case 'failback-plan':
      return { name, topology, region: str('region') ?? 'eu-west' }
    case 'first-deploy':
      return { name, topology, ...(str('check') ? { check: str('check') } : {}) }
    default:
      throw new UsageError(`unknown subcommand "${name}"`)
  }
}
