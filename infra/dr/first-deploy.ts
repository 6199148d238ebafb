// The first deploy of the two regions, as one ordered list of steps (docs/infrastructure.md, "Deploy order"):
// printed with the exact commands for the committed stack files, and checked against saved stack outputs.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import type { RegionOutputKey, RegionOutputName } from '../src/region.js'
import { configSet, upCommand } from './pulumi-steps.js'
import { CONFIG_KEYS, peerOf, type Site, type Topology } from './topology.js'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** One `pulumi config set|rm --path` of a step; `from` names the stack output the printed value is read from. */
export interface ConfigChange {
  key: string
  /** The value the committed stack file holds (what the step converges to); null: `pulumi config rm`. */
  value: string | null
  from?: { stack: string; output: RegionOutputName }
}

/** A step's state in saved outputs: done, not done, or not visible in outputs (verify as printed). */
export type StepState = boolean | undefined

/** Saved `pulumi stack output --json` per stack; a stack without outputs is absent. */
export type SavedOutputs = Record<string, Partial<Record<RegionOutputKey, unknown>> | undefined>

/** One step of the first deploy. */
export interface FirstDeployStep {
  id: number
  stack: string
  title: string
  /** Config the step changes before its apply (none for the AWS-only steps). */
  config: ConfigChange[]
  commands: string[]
  /** Whether the saved outputs show the step done; undefined when outputs cannot tell. */
  state(outputs: SavedOutputs): StepState
  /** How to tell when outputs cannot. */
  verify?: string
}

/** Structured config of a committed stack file, `<project>:<section>` -> object. */
function committedSection(stack: string, project: string, section: string): Record<string, unknown> {
  const doc = parse(readFileSync(join(repoRoot, `Pulumi.${stack}.yaml`), 'utf8')) as {
    config?: Record<string, unknown>
  }
  return (doc.config?.[`${project}:${section}`] as Record<string, unknown> | undefined) ?? {}
}

/** The committed value of `section.field` in a stack file, as the CLI would print it; null when unset. */
export function committedValue(stack: string, project: string, key: string): string | null {
  const [section, field] = key.split('.') as [string, string]
  const value = committedSection(stack, project, section)[field]
  return value === undefined ? null : String(value)
}

// What the writer stack cannot have on its first apply: the other region's buckets, peering request and health
// check do not exist yet, and RDS refuses a same-region reader while it manages the master password.
const ISOLATED_KEYS = ['storage.replicateTo', 'network.peeringConnectionId', 'dns.peerHealthCheckId'] as const
const OUTPUT_OF: Partial<Record<string, RegionOutputName>> = {
  'network.peeringConnectionId': 'peeringConnectionId',
  'dns.peerHealthCheckId': 'healthCheckId',
  'network.peerVpcId': 'vpcId',
}

/** The printed `pulumi config set|rm` line of a change. */
export function configLine(topology: Topology, site: Site, change: ConfigChange): string {
  if (change.value === null)
    return `pulumi config rm --stack ${site.stack} --path ${topology.project}:${change.key}`
  const value = change.from
    ? `"$(pulumi stack output ${change.from.output} --stack ${change.from.stack})"`
    : change.value
  return configSet(topology, site, change.key, value)
}

const has = (outputs: SavedOutputs, stack: string, key: RegionOutputKey): boolean => {
  const value = outputs[stack]?.[key]
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null && value !== ''
}

/** The ordered first-deploy steps for the committed stack files (writer stack first). */
export function firstDeploySteps(topology: Topology): FirstDeployStep[] {
  const [home, dr] = [topology.sites[0], peerOf(topology, topology.sites[0])]
  const p = topology.project
  const h = home.stack
  const out = (name: RegionOutputName, json = false) =>
    `"$(pulumi stack output ${name} --stack ${h}${json ? ' --json' : ''})"`
  const [dbId] = home.dbCandidates as [string]
  const readers = committedValue(h, p, CONFIG_KEYS.readReplicas)
  const readersExist = (o: SavedOutputs): StepState =>
    has(o, h, 'dbReadReplicaIdentifiers') ? true : undefined
  const masterSecret = `aws rds describe-db-instances --region ${home.region} --db-instance-identifier ${dbId} --query 'DBInstances[0].MasterUserSecret.SecretArn' --output text`
  const task = (output: RegionOutputName, kind: string, extra = '') =>
    `AWS_REGION=${home.region} CLUSTER=${out('clusterName')} SUBNETS="$(pulumi stack output privateSubnetIds --stack ${h} --json | jq -r 'join(",")')" SECURITY_GROUP=${out('serviceSecurityGroupId')} scripts/ci/run-task.sh ${out(output)} ${kind}${extra}`
  const restart = (site: Site) => [
    `aws ecs update-service --region ${site.region} --cluster ${p}-${site.stack} --service "$(pulumi stack output serviceName --stack ${site.stack})" --force-new-deployment`,
    `aws ecs wait services-stable --region ${site.region} --cluster ${p}-${site.stack} --services "$(pulumi stack output serviceName --stack ${site.stack})"`,
  ]
  const withConfig = (site: Site, config: ConfigChange[], note: string) => [
    ...config.map((c) => configLine(topology, site, c)),
    `${upCommand(site, true)}   # expect: ${note}`,
    upCommand(site),
  ]
  const isolate: ConfigChange[] = [
    ...ISOLATED_KEYS.map((key) => ({ key, value: null })),
    { key: CONFIG_KEYS.readReplicas, value: '0' },
  ]
  const reader: ConfigChange[] = [{ key: CONFIG_KEYS.readReplicas, value: readers }]
  const peerDr: ConfigChange[] = [
    {
      key: 'network.peerVpcId',
      value: committedValue(dr.stack, p, 'network.peerVpcId'),
      from: { stack: h, output: 'vpcId' },
    },
  ]
  const accept: ConfigChange[] = ISOLATED_KEYS.map((key) => {
    const output = OUTPUT_OF[key]
    return { key, value: committedValue(h, p, key), ...(output ? { from: { stack: dr.stack, output } } : {}) }
  })
  return [
    {
      id: 1,
      stack: h,
      title: `${h} alone: no peer, no same-region reader`,
      config: isolate,
      commands: withConfig(
        home,
        isolate,
        'creates only; the whole region without the peering, replication or reader',
      ),
      state: (o) => has(o, h, 'dbArn'),
    },
    {
      id: 2,
      stack: h,
      title: 'bootstrap the database roles as the master (RDS-managed secret)',
      config: [],
      commands: [
        `export IMAGE=<ecr uri:tag>`,
        task(
          'bootstrapTaskDefinitionArn',
          'bootstrap',
          ` "DATABASE_MASTER_PASSWORD=$(${masterSecret}):password::"`,
        ),
      ],
      state: readersExist,
      verify: 'the bootstrap task exited 0 (scripts/ci/run-task.sh prints it)',
    },
    {
      id: 3,
      stack: h,
      title: 'migrate as the migrator (IAM token)',
      config: [],
      commands: [task('migrationTaskDefinitionArn', 'migration')],
      state: readersExist,
      verify: 'the migration task exited 0',
    },
    {
      id: 4,
      stack: h,
      title: 'release the master password (RDS deletes its secret)',
      config: [],
      commands: [
        `aws rds modify-db-instance --region ${home.region} --db-instance-identifier ${dbId} --no-manage-master-user-password --master-user-password "$(openssl rand -hex 32)" --apply-immediately`,
        // RDS applies it in the background and refuses a replica while it still manages the password.
        `aws rds wait db-instance-available --region ${home.region} --db-instance-identifier ${dbId}`,
        `${masterSecret}   # must print None before the next step`,
      ],
      state: readersExist,
      verify: `${masterSecret}   # None once released`,
    },
    {
      id: 5,
      stack: h,
      title: `the same-region reader (${CONFIG_KEYS.readReplicas} back to the committed ${readers ?? 'default'})`,
      config: reader,
      commands: withConfig(
        home,
        reader,
        'the reader(s) created, the DB updated in place at most, never a replace',
      ),
      state: (o) => (readers === null || readers === '0' ? undefined : has(o, h, 'dbReadReplicaIdentifiers')),
      verify: `aws rds describe-db-instances --region ${home.region} --db-instance-identifier ${dbId} --query 'DBInstances[0].ReadReplicaDBInstanceIdentifiers'`,
    },
    {
      id: 6,
      stack: h,
      title: 'restart the service: its first tasks failed before the roles and tables existed',
      config: [],
      commands: restart(home),
      state: (o) => (has(o, dr.stack, 'dbArn') ? true : undefined),
      verify: `aws ecs describe-services --region ${home.region} --cluster ${p}-${h} --services "$(pulumi stack output serviceName --stack ${h})" --query 'services[0].[runningCount,desiredCount]'`,
    },
    {
      id: 7,
      stack: dr.stack,
      title: `${dr.stack}: the replica, replication to ${h}, the peering request (accept it within 7 days)`,
      config: peerDr,
      commands: [...withConfig(dr, peerDr, 'creates only'), ...restart(dr)],
      state: (o) => has(o, dr.stack, 'peeringConnectionId'),
    },
    {
      id: 8,
      stack: h,
      title: `${h} accepts the peering, replicates to ${dr.stack}, alarms on its health check; commit both stack files`,
      config: accept,
      commands: withConfig(home, accept, 'the peering accepted, routes and replication added; no replace'),
      state: (o) => has(o, h, 'peeringConnectionId'),
    },
  ]
}

/** The steps as an operator reads them. */
export function renderFirstDeploy(topology: Topology, steps = firstDeploySteps(topology)): string[] {
  return [
    `First deploy of ${topology.sites.map((s) => s.stack).join(' and ')} (docs/infrastructure.md, "Deploy order"). Run in order:`,
    ...steps.flatMap((s) => ['', `${s.id}. [${s.stack}] ${s.title}`, ...s.commands.map((c) => `   ${c}`)]),
  ]
}

/** Where the first deploy stands given saved outputs: the steps done (shown or implied) and the next one. */
export function firstDeployProgress(steps: FirstDeployStep[], outputs: SavedOutputs) {
  const states = steps.map((s) => s.state(outputs))
  // Steps run in order, so a later step shown done implies every earlier one.
  const lastDone = states.lastIndexOf(true)
  const next = steps[lastDone + 1]
  return {
    done: steps.slice(0, lastDone + 1).map((s) => s.id),
    next,
    /** The next step may have run already, but outputs cannot show it. */
    unsure: next !== undefined && states[lastDone + 1] === undefined,
  }
}

/** The `--check` report. */
export function renderProgress(steps: FirstDeployStep[], outputs: SavedOutputs): string[] {
  const { done, next, unsure } = firstDeployProgress(steps, outputs)
  const lines = steps.map(
    (s) =>
      `${done.includes(s.id) ? '[done]' : s === next ? '[next]' : '[    ]'} ${s.id}. [${s.stack}] ${s.title}`,
  )
  if (!next)
    return [
      ...lines,
      '',
      'The first deploy is complete: from now on the deploy workflow runs (docs/delivery.md).',
    ]
  return [
    ...lines,
    '',
    `At step ${next.id}: ${next.title}.`,
    ...(unsure ? [`Saved outputs cannot show whether it ran; check: ${next.verify ?? 'its commands'}`] : []),
    ...next.commands.map((c) => `   ${c}`),
  ]
}

/** Reads `<dir>/<stack>.json` (saved `pulumi stack output --json`) for each stack; a missing file means none. */
export function readSavedOutputs(dir: string, topology: Topology): SavedOutputs {
  const saved: SavedOutputs = {}
  for (const { stack } of topology.sites) {
    const file = join(dir, `${stack}.json`)
    if (existsSync(file)) saved[stack] = JSON.parse(readFileSync(file, 'utf8')) as SavedOutputs[string]
  }
  return saved
}
