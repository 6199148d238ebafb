// The DR command's view of the two regions. Every name it shares with the Pulumi program and the service (project,
// stacks and regions, SSM paths, tags, config keys, DB identifiers) comes from the contract module, so a rename is
// one edit (docs/runbooks/dr-drill.md lists them).
import {
  CONFIG_KEYS,
  DB_PORT,
  dbIdentifiers,
  PROJECT,
  STACK_REGIONS,
  ssmParameters,
  TAG_KEYS,
} from '../../app/src/contract.js'

export { CONFIG_KEYS, TAG_KEYS }

/** The Pulumi project every stack belongs to. */
export const DEFAULT_PROJECT = PROJECT

/** Placeholder for the Pulumi organisation in printed commands, unless `--pulumi-org` names it. */
export const DEFAULT_PULUMI_ORG = '<org>'

/** PostgreSQL port on RDS; part of the writer endpoint value (`host:port`). */
export const DEFAULT_DB_PORT = DB_PORT

/** One region's stack and the AWS names that belong to it. */
export interface Site {
  /** Pulumi stack name, e.g. `eu-west`. */
  stack: string
  /** AWS region, e.g. `eu-west-1`. */
  region: string
  /** DB identifiers to look for, in order; a stack's instance is named by its role at creation. */
  dbCandidates: string[]
  /** SSM parameter (in this site's region) holding the writer endpoint the services use, `host:port`. */
  writerParameter: string
  /** Route 53 health check of this region's `/health/ready`; discovered by tags when absent. */
  healthCheckId?: string
}

/** The two-region layout the command works on. */
export interface Topology {
  project: string
  /** Pulumi organisation, for fully qualified stack names in StackReference config. */
  pulumiOrg: string
  sites: [Site, Site]
  /** Optional Route 53 CNAME (`writer.<zone>`) switched alongside the SSM parameters. */
  writerRecord?: { hostedZoneId: string; name: string; ttl: number }
}

/** Overrides an operator can pass as flags; everything else follows the naming convention. */
export interface TopologyOverrides {
  project?: string
  pulumiOrg?: string
  regions?: Record<string, string | undefined>
  dbIds?: Record<string, string | undefined>
  healthChecks?: Record<string, string | undefined>
  writerParameters?: Record<string, string | undefined>
  hostedZoneId?: string
  writerRecordName?: string
}

/** The stacks and regions of the reference design, in their normal roles (primary first). */
export const DEFAULT_SITES: ReadonlyArray<{ stack: string; region: string }> = Object.entries(
  STACK_REGIONS,
).map(([stack, region]) => ({ stack, region }))

/** DB identifiers by convention: the primary is `<project>-<stack>-db`, a replica adds `-replica`. */
export function conventionalDbIds(project: string, stack: string): string[] {
  return dbIdentifiers(project, stack)
}

/** SSM parameter the services of `stack` read their writer endpoint from. */
export function writerParameterName(project: string, stack: string): string {
  return ssmParameters.writerEndpoint(project, stack)
}

/** Builds the topology from the convention plus the operator's overrides. */
export function buildTopology(overrides: TopologyOverrides = {}): Topology {
  const project = overrides.project ?? DEFAULT_PROJECT
  const [first, second] = DEFAULT_SITES.map(({ stack, region }): Site => {
    const dbId = overrides.dbIds?.[stack]
    const healthCheckId = overrides.healthChecks?.[stack]
    return {
      stack,
      region: overrides.regions?.[stack] ?? region,
      dbCandidates: dbId ? [dbId] : conventionalDbIds(project, stack),
      writerParameter: overrides.writerParameters?.[stack] ?? writerParameterName(project, stack),
      ...(healthCheckId ? { healthCheckId } : {}),
    }
  }) as [Site, Site]
  const topology: Topology = {
    project,
    pulumiOrg: overrides.pulumiOrg ?? DEFAULT_PULUMI_ORG,
    sites: [first, second],
  }
  if (overrides.hostedZoneId || overrides.writerRecordName) {
    if (!overrides.hostedZoneId || !overrides.writerRecordName) {
      throw new Error(
        'the writer CNAME needs both --hosted-zone-id and --writer-record (e.g. writer.example.com)',
      )
    }
    topology.writerRecord = {
      hostedZoneId: overrides.hostedZoneId,
      name: overrides.writerRecordName,
      ttl: 30,
    }
  }
  return topology
}

/** The site for a stack name, or an error listing the valid ones. */
export function siteOf(topology: Topology, stack: string): Site {
  const site = topology.sites.find((s) => s.stack === stack)
  if (!site) {
    throw new Error(`unknown region "${stack}"; use one of: ${topology.sites.map((s) => s.stack).join(', ')}`)
  }
  return site
}

/** `<org>/<project>/<stack>`, the form StackReference and `database.sourceStack` take. */
export function qualifiedStack(topology: Topology, site: Site): string {
  return `${topology.pulumiOrg}/${topology.project}/${site.stack}`
}

/** The other site of the pair. */
export function peerOf(topology: Topology, site: Site): Site {
  return topology.sites[0] === site ? topology.sites[1] : topology.sites[0]
}
