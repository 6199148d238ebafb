// Reachability: for each flow the service needs, a path through routes, gateways, peering, security groups and
// NACLs, proven from the inventories alone. A flow is ok only when every source subnet reaches every
// destination subnet (tasks run in all three AZs; a Multi-AZ database or Redis can fail over to any of its
// subnets), so a hop missing in one AZ is a failure, named in `missing`.
import type { Inventory, InventoryResource } from '../inventory.js'
import { covers, PUBLIC_IP, prefixLength } from './cidr.js'
import {
  type Nacl,
  type NetworkModel,
  networkModel,
  type Route,
  type SgRule,
  type Subnet,
} from './network-model.js'

/** `normal`: the writer is the primary stack's database; `promoted`: the other stack's (after `dr promote`). */
export type Topology = 'normal' | 'promoted'

/** One row of the flows table. */
export interface FlowResult {
  topology: Topology
  stack: string
  flow: string
  from: string
  to: string
  port: number
  /** The hops that carry it (route kinds, peering, rule matches), or what was tried. */
  path: string
  ok: boolean
  /** The first hop that is missing, with the resource to change. */
  missing?: string
}

/** A place traffic starts or ends: its subnets and security groups. */
interface Place {
  label: string
  stack: string
  subnets: Subnet[]
  groups: string[]
}

/** AWS APIs the tasks call (443): S3 (uploads, ECR layers), secrets, SSM writer endpoint, image pull, logs, traces. */
export const AWS_SERVICES = ['s3', 'secretsmanager', 'ssm', 'ecr.api', 'ecr.dkr', 'logs', 'xray'] as const

const EPHEMERAL = [1024, 32768, 65535]
const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [])

function portMatches(protocol: string, from: number, to: number, port: number): boolean {
  const p = protocol.toLowerCase()
  if (p === '-1' || p === 'all') return true
  return (p === 'tcp' || p === '6') && from <= port && port <= to
}

/** Whether some rule of `groups` (one direction) admits `port` to/from `peer` (a CIDR, plus its groups when in the same VPC). */
function sgAllows(
  m: NetworkModel,
  groups: string[],
  direction: 'ingress' | 'egress',
  port: number,
  peer: { cidr: string; groups: string[]; sameVpc: boolean; prefixList?: boolean },
): { ok: boolean; via?: string } {
  for (const id of groups) {
    const sg = m.securityGroups.get(id)
    if (!sg) continue
    for (const rule of sg[direction] as SgRule[]) {
      if (!portMatches(rule.protocol, rule.from, rule.to, port)) continue
      const cidr = rule.cidrs.find((c) => covers(c, peer.cidr))
      if (cidr) return { ok: true, via: `${sg.name} (${cidr === '0.0.0.0/0' ? 'any' : 'cidr'})` }
      // Security groups cannot reference a group in a peer VPC of another region: only same-VPC references count.
      if (peer.sameVpc && rule.groups.some((g) => peer.groups.includes(g)))
        return { ok: true, via: `${sg.name} (group)` }
      if (peer.sameVpc && rule.self && peer.groups.includes(sg.id))
        return { ok: true, via: `${sg.name} (self)` }
      if (peer.prefixList && rule.prefixLists.length) return { ok: true, via: `${sg.name} (prefix list)` }
    }
  }
  return { ok: false }
}

function naclAllows(nacl: Nacl | undefined, egress: boolean, cidr: string, ports: number[]): boolean {
  if (!nacl) return true
  const rules = nacl.rules.filter((r) => r.egress === egress).sort((a, b) => a.number - b.number)
  return ports.every((port) => {
    const hit = rules.find((r) => portMatches(r.protocol, r.from, r.to, port) && covers(r.cidr, cidr))
    return hit?.allow === true
  })
}

/** NACLs are stateless: the request and the reply on ephemeral ports must both pass, on both subnets. */
function naclHop(src: Subnet, dstCidr: string, dst: Subnet | undefined, port: number): string | undefined {
  if (!naclAllows(src.nacl, true, dstCidr, [port]))
    return `NACL ${src.nacl?.name} egress to ${dstCidr}:${port} from ${src.name}`
  if (!naclAllows(src.nacl, false, dstCidr, EPHEMERAL))
    return `NACL ${src.nacl?.name} ingress of replies (1024-65535) from ${dstCidr} into ${src.name}`
  if (dst && !naclAllows(dst.nacl, false, src.cidr, [port]))
    return `NACL ${dst.nacl?.name} ingress from ${src.cidr}:${port} into ${dst.name}`
  if (dst && !naclAllows(dst.nacl, true, src.cidr, EPHEMERAL))
    return `NACL ${dst.nacl?.name} egress of replies (1024-65535) to ${src.cidr} from ${dst.name}`
  return undefined
}

/** Longest-prefix route of a subnet's table for `cidr`; `local` when the VPC's own block wins. */
function lookup(m: NetworkModel, subnet: Subnet, cidr: string): Route | 'local' | undefined {
  const vpc = m.vpcs.get(subnet.vpcId)
  const candidates: (Route | 'local')[] = (subnet.routeTable?.routes ?? []).filter((r) =>
    covers(r.destination, cidr),
  )
  if (vpc && covers(vpc.cidr, cidr)) candidates.push('local')
  const len = (r: Route | 'local') =>
    r === 'local' ? prefixLength(vpc?.cidr ?? '/0') : prefixLength(r.destination)
  return candidates.sort((a, b) => len(b) - len(a))[0]
}

/** The route from `src` to `dst` and back, if any: local in one VPC, else an active peering both ways. */
function routeHop(m: NetworkModel, src: Subnet, dst: Subnet): { via?: string; missing?: string } {
  if (src.vpcId === dst.vpcId) return { via: 'local' }
  const there = lookup(m, src, dst.cidr)
  if (!there || there === 'local' || there.kind !== 'peering')
    return {
      missing: `route in ${src.routeTable?.name ?? `${src.name}'s main table`} to ${dst.cidr} (${dst.stack}) via a peering connection${there && there !== 'local' ? ` (found ${there.kind} ${there.destination})` : ''}`,
    }
  const pcx = peeringFor(m, there.target, src.vpcId, dst.vpcId)
  if (!pcx)
    return {
      missing: `peering connection ${there.target} between ${src.vpcId} and ${dst.vpcId} (route in ${src.routeTable?.name})`,
    }
  if (!pcx.active) return { missing: pcx.problem ?? `${pcx.name} not active` }
  const back = lookup(m, dst, src.cidr)
  if (
    !back ||
    back === 'local' ||
    back.kind !== 'peering' ||
    peeringFor(m, back.target, dst.vpcId, src.vpcId) !== pcx
  )
    return {
      missing: `return route in ${dst.routeTable?.name ?? `${dst.name}'s main table`} to ${src.cidr} (${src.stack}) via ${pcx.name}`,
    }
  return { via: `peering ${pcx.name}` }
}

function peeringFor(m: NetworkModel, target: string, a: string, b: string) {
  const joins = (p: { vpcs: [string, string] }) => p.vpcs.includes(a) && p.vpcs.includes(b)
  const exact = m.peerings.find((p) => p.ids.has(target) && joins(p))
  if (exact) return exact
  // A connection id that reached this stack as a (faked) stack output: the one connection between the two VPCs.
  if (m.knownIds.has(target)) return undefined
  const between = m.peerings.filter(joins)
  return between.length === 1 ? between[0] : undefined
}

/** Subnet-to-subnet flow on `port`: every source subnet to every destination subnet. */
function between(
  m: NetworkModel,
  from: Place,
  to: Place,
  port: number,
): Pick<FlowResult, 'path' | 'ok' | 'missing'> {
  if (!from.subnets.length) return { path: '-', ok: false, missing: `${from.label}: no subnets found` }
  if (!to.subnets.length) return { path: '-', ok: false, missing: `${to.label}: no subnets found` }
  const vias = new Set<string>()
  for (const s of from.subnets) {
    for (const d of to.subnets) {
      const route = routeHop(m, s, d)
      if (!route.via) return { path: [...vias].join('; ') || '-', ok: false, missing: route.missing }
      vias.add(route.via)
      const sameVpc = s.vpcId === d.vpcId
      const out = sgAllows(m, from.groups, 'egress', port, { cidr: d.cidr, groups: to.groups, sameVpc })
      if (!out.ok)
        return {
          path: [...vias].join('; '),
          ok: false,
          missing: `egress ${port} to ${d.cidr} on ${groupNames(m, from.groups)}`,
        }
      const inn = sgAllows(m, to.groups, 'ingress', port, { cidr: s.cidr, groups: from.groups, sameVpc })
      if (!inn.ok)
        return {
          path: [...vias].join('; '),
          ok: false,
          missing: `ingress ${port} from ${s.cidr} (${s.name}) on ${groupNames(m, to.groups)}${sameVpc ? '' : ' (cross-VPC: by CIDR, groups of a peer in another region cannot be referenced)'}`,
        }
      vias.add(`${out.via} > ${inn.via}`)
      const nacl = naclHop(s, d.cidr, d, port)
      if (nacl) return { path: [...vias].join('; '), ok: false, missing: nacl }
    }
  }
  return { path: [...vias].join('; '), ok: true }
}

function groupNames(m: NetworkModel, ids: string[]): string {
  return ids.map((id) => m.securityGroups.get(id)?.name ?? id).join(',') || '(no security group)'
}

/** Internet -> the public subnets of `alb` on 443: IGW route, listener, SG and NACL. */
function internetToAlb(m: NetworkModel, inv: Inventory, alb: InventoryResource, place: Place) {
  if (alb.inputs.internal === true) return { path: '-', ok: false, missing: `${alb.name} is internal` }
  const listener = inv.resources.find(
    (r) =>
      r.type === 'aws:lb/listener:Listener' &&
      Number(r.inputs.port) === 443 &&
      str(r.inputs.loadBalancerArn).includes(`/${alb.name}/`),
  )
  if (!listener) return { path: '-', ok: false, missing: `HTTPS listener on 443 for ${alb.name}` }
  for (const s of place.subnets) {
    const route = lookup(m, s, PUBLIC_IP)
    const igws = m.vpcs.get(s.vpcId)?.internetGateways ?? []
    if (!route || route === 'local' || route.kind !== 'igw' || !igws.includes(route.target))
      return {
        path: '-',
        ok: false,
        missing: `0.0.0.0/0 -> internet gateway in ${s.routeTable?.name ?? s.name}`,
      }
    if (!sgAllows(m, place.groups, 'ingress', 443, { cidr: PUBLIC_IP, groups: [], sameVpc: false }).ok)
      return {
        path: 'igw',
        ok: false,
        missing: `ingress 443 from 0.0.0.0/0 on ${groupNames(m, place.groups)}`,
      }
    const nacl = naclHop(s, PUBLIC_IP, undefined, 443)
    if (nacl) return { path: 'igw', ok: false, missing: nacl.replace('egress to', 'path to') }
  }
  return { path: `igw > ${listener.name}:443`, ok: true }
}

/** Tasks -> an AWS API: an interface endpoint with private DNS wins, then a gateway endpoint, then NAT. */
function tasksToService(m: NetworkModel, tasks: Place, service: string, region: string) {
  const vpcId = tasks.subnets[0]?.vpcId
  const name = `com.amazonaws.${region}.${service}`
  const endpoints = m.endpoints.filter(
    (e) => e.vpcId === vpcId && (e.service === name || e.service.endsWith(`.${service}`)),
  )
  const iface = endpoints.find((e) => e.type === 'Interface' && e.privateDns)
  if (iface) {
    // Private DNS points the service's name at the endpoint: if its group refuses us, there is no fallback to NAT.
    const place: Place = {
      label: iface.name,
      stack: tasks.stack,
      subnets: iface.subnetIds.map((id) => m.subnets.get(id)).filter((s): s is Subnet => !!s),
      groups: iface.securityGroupIds,
    }
    const r = between(m, tasks, { ...place, subnets: place.subnets.slice(0, 1) }, 443)
    return r.ok ? { ...r, path: `interface endpoint ${iface.name}` } : r
  }
  const gateway = endpoints.find((e) => e.type === 'Gateway')
  const vias = new Set<string>()
  for (const s of tasks.subnets) {
    if (gateway && s.routeTable && gateway.routeTableIds.includes(s.routeTable.id)) {
      if (
        !sgAllows(m, tasks.groups, 'egress', 443, {
          cidr: PUBLIC_IP,
          groups: [],
          sameVpc: false,
          prefixList: true,
        }).ok
      )
        return {
          path: `gateway endpoint ${gateway.name}`,
          ok: false,
          missing: `egress 443 to the ${service} prefix list on ${groupNames(m, tasks.groups)}`,
        }
      vias.add(`gateway endpoint ${gateway.name}`)
    } else {
      const hop = natHop(m, s)
      if (hop.missing)
        return {
          path: [...vias].join('; ') || '-',
          ok: false,
          missing: `${service}: no endpoint, and ${hop.missing}`,
        }
      if (!sgAllows(m, tasks.groups, 'egress', 443, { cidr: PUBLIC_IP, groups: [], sameVpc: false }).ok)
        return {
          path: hop.via ?? '-',
          ok: false,
          missing: `egress 443 to 0.0.0.0/0 on ${groupNames(m, tasks.groups)}`,
        }
      vias.add(hop.via ?? 'nat')
    }
    const nacl = naclHop(s, PUBLIC_IP, undefined, 443)
    if (nacl) return { path: [...vias].join('; '), ok: false, missing: nacl }
  }
  return { path: [...vias].join('; '), ok: true }
}

function natHop(m: NetworkModel, s: Subnet): { via?: string; missing?: string } {
  const route = lookup(m, s, PUBLIC_IP)
  if (!route || route === 'local' || route.kind !== 'nat')
    return { missing: `no 0.0.0.0/0 -> NAT route in ${s.routeTable?.name ?? s.name}` }
  const nat = m.nats.get(route.target)
  const natSubnet = nat && m.subnets.get(nat.subnetId)
  if (!nat || !natSubnet)
    return { missing: `NAT gateway ${route.target} (route in ${s.routeTable?.name}) not found` }
  const out = lookup(m, natSubnet, PUBLIC_IP)
  const igws = m.vpcs.get(natSubnet.vpcId)?.internetGateways ?? []
  if (!out || out === 'local' || out.kind !== 'igw' || !igws.includes(out.target))
    return {
      missing: `${nat.name} sits in ${natSubnet.name}, which has no 0.0.0.0/0 -> internet gateway route`,
    }
  return { via: 'nat > igw' }
}

function subnetsOf(m: NetworkModel, ids: string[]): Subnet[] {
  return ids.map((id) => m.subnets.get(id)).filter((s): s is Subnet => !!s)
}

function dbSubnets(m: NetworkModel, inv: Inventory, type: string, groupName: string): Subnet[] {
  const group = inv.resources.find(
    (r) => r.type === type && (str(r.inputs.name) === groupName || r.name === groupName),
  )
  return subnetsOf(m, strs(group?.inputs.subnetIds))
}

interface StackPlaces {
  inv: Inventory
  tasks?: Place
  alb?: { r: InventoryResource; place: Place }
  containerPort: number
  redis?: Place & { port: number }
  /** The stack's own database (primary, or the cross-region replica) and its same-region readers. */
  main?: Place & { port: number }
  reader?: Place & { port: number }
  /** Whether `main` is the writer when nothing was promoted. */
  homeWriter: boolean
}

function places(m: NetworkModel, inv: Inventory): StackPlaces {
  const find = (type: string) => inv.resources.filter((r) => r.type === type)
  const service =
    find('aws:ecs/service:Service').find(
      (r) => Array.isArray(r.inputs.loadBalancers) && r.inputs.loadBalancers.length,
    ) ?? find('aws:ecs/service:Service')[0]
  const net = (service?.inputs.networkConfiguration ?? {}) as Record<string, unknown>
  const tasks = service && {
    label: `${inv.stack} tasks`,
    stack: inv.stack,
    subnets: subnetsOf(m, strs(net.subnets)),
    groups: strs(net.securityGroups),
  }
  const lb = find('aws:lb/loadBalancer:LoadBalancer').find(
    (r) => str(r.inputs.loadBalancerType || 'application') === 'application',
  )
  const balancers = service?.inputs.loadBalancers as Record<string, unknown>[] | undefined
  const containerPort = Number(balancers?.[0]?.containerPort ?? 0)
  const rg = find('aws:elasticache/replicationGroup:ReplicationGroup')[0]
  const redis = rg && {
    label: `${inv.stack} redis`,
    stack: inv.stack,
    subnets: dbSubnets(m, inv, 'aws:elasticache/subnetGroup:SubnetGroup', str(rg.inputs.subnetGroupName)),
    groups: strs(rg.inputs.securityGroupIds),
    port: Number(rg.inputs.port ?? 6379),
  }
  const instances = find('aws:rds/instance:Instance')
  const place = (r: InventoryResource | undefined, label: string) =>
    r && {
      label: `${inv.stack} ${label} (${str(r.inputs.identifier) || r.name})`,
      stack: inv.stack,
      subnets: dbSubnets(m, inv, 'aws:rds/subnetGroup:SubnetGroup', str(r.inputs.dbSubnetGroupName)),
      groups: strs(r.inputs.vpcSecurityGroupIds),
      port: Number(r.inputs.port ?? 5432),
    }
  const source = (r: InventoryResource) => str(r.inputs.replicateSourceDb)
  // A cross-region replica names its source by ARN in another region; a same-region reader by identifier or local ARN.
  const crossRegion = (r: InventoryResource) =>
    source(r).startsWith('arn:') && !source(r).includes(`:${inv.region}:`)
  const primary = instances.find((r) => !source(r))
  const main = primary ?? instances.find(crossRegion) ?? instances[0]
  const reader =
    instances.find((r) => r !== main && source(r) && !crossRegion(r)) ??
    (main && crossRegion(main) ? main : undefined)
  return {
    inv,
    ...(tasks ? { tasks } : {}),
    ...(lb
      ? {
          alb: {
            r: lb,
            place: {
              label: `${inv.stack} alb`,
              stack: inv.stack,
              subnets: subnetsOf(m, strs(lb.inputs.subnets)),
              groups: strs(lb.inputs.securityGroups),
            },
          },
        }
      : {}),
    containerPort,
    ...(redis ? { redis } : {}),
    ...(main ? { main: place(main, primary ? 'writer' : 'replica') as Place & { port: number } } : {}),
    ...(reader
      ? { reader: readerPlace(place(reader, 'reader'), reader === main ? undefined : place(main, '')) }
      : {}),
    homeWriter: !!primary,
  }
}

// A same-region read replica lives in its source's subnet group (RDS does not take another one for it).
function readerPlace(
  reader: (Place & { port: number }) | undefined,
  source: (Place & { port: number }) | undefined,
): Place & { port: number } {
  const r = reader as Place & { port: number }
  return r.subnets.length || !source ? r : { ...r, subnets: source.subnets }
}

/** Every flow of every stack, for both topologies; evaluate the two region stacks together. */
export function reachability(
  stacks: Inventory[],
  topologies: Topology[] = ['normal', 'promoted'],
): FlowResult[] {
  const m = networkModel(stacks)
  const all = stacks.map((inv) => places(m, inv))
  const home = all.find((p) => p.homeWriter) ?? all[0]
  const other = all.find((p) => p !== home)
  const results: FlowResult[] = []
  for (const topology of topologies) {
    const writer = topology === 'normal' ? home : (other ?? home)
    for (const p of all) {
      const row = (
        flow: string,
        from: string,
        to: string,
        port: number,
        r: Pick<FlowResult, 'path' | 'ok' | 'missing'>,
      ) => results.push({ topology, stack: p.inv.stack, flow, from, to, port, ...r })
      const missing = (what: string) => ({ path: '-', ok: false, missing: what })
      if (!p.alb)
        row(
          'internet -> alb',
          'internet',
          'alb',
          443,
          missing(`${p.inv.stack}: no application load balancer`),
        )
      else
        row('internet -> alb', 'internet', p.alb.r.name, 443, internetToAlb(m, p.inv, p.alb.r, p.alb.place))
      if (!p.tasks) {
        row('tasks', '-', '-', 0, missing(`${p.inv.stack}: no ECS service with a network configuration`))
        continue
      }
      if (p.alb)
        row(
          'alb -> tasks',
          p.alb.place.label,
          p.tasks.label,
          p.containerPort,
          between(m, p.alb.place, p.tasks, p.containerPort),
        )
      if (p.redis)
        row(
          'tasks -> redis',
          p.tasks.label,
          p.redis.label,
          p.redis.port,
          between(m, p.tasks, p.redis, p.redis.port),
        )
      else
        row(
          'tasks -> redis',
          p.tasks.label,
          '-',
          6379,
          missing(`${p.inv.stack}: no ElastiCache replication group`),
        )
      const replica = topology === 'promoted' && p === writer ? p.main : (p.reader ?? p.main)
      if (replica)
        row(
          'tasks -> local replica',
          p.tasks.label,
          replica.label,
          replica.port,
          between(m, p.tasks, replica, replica.port),
        )
      const w = writer?.main
      if (w) {
        const flow = w.stack === p.inv.stack ? 'tasks -> writer' : 'tasks -> writer (other region)'
        row(flow, p.tasks.label, w.label, w.port, between(m, p.tasks, w, w.port))
      } else row('tasks -> writer', p.tasks.label, '-', 5432, missing('no writer database in any stack'))
      // AWS API flows do not depend on the topology: listed once, under `normal`.
      if (topology === 'normal') {
        for (const svc of AWS_SERVICES)
          row(`tasks -> ${svc}`, p.tasks.label, svc, 443, tasksToService(m, p.tasks, svc, p.inv.region))
      }
    }
  }
  return results
}

/** The flows table as aligned text, failures with their missing hop. */
export function flowsTable(rows: FlowResult[]): string {
  const head = ['topology', 'stack', 'flow', 'from', 'to', 'port', 'path', 'ok']
  const body = rows.map((r) => [
    r.topology,
    r.stack,
    r.flow,
    r.from,
    r.to,
    String(r.port),
    r.path,
    r.ok ? 'ok' : 'FAIL',
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  const lines = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)]
  const failed = rows.filter((r) => !r.ok)
  if (failed.length) {
    lines.push('', 'missing hops:')
    for (const r of failed) lines.push(`  [${r.topology}] ${r.stack} ${r.flow}: ${r.missing}`)
  }
  return lines.join('\n')
}
