// Shared fixtures of the offline-model specs: the real stacks built once, and mutations that add or break
// the resources a cross-region path needs (the shapes infra/plan/checks/network-model.ts reads).

import { covers } from '../plan/checks/cidr.js'
import { type BuiltStack, buildStack, type Inventory, type InventoryResource } from '../plan/inventory.js'
import { mockId } from '../plan/mocks.js'
import type { StackName } from '../src/config.js'

const built = new Map<StackName, Promise<BuiltStack>>()

/** A real stack under mocks, provider errors returned rather than thrown (the model checks judge them). */
export function real(name: StackName): Promise<BuiltStack> {
  let b = built.get(name)
  if (!b) {
    b = buildStack(name, { allowProviderErrors: true })
    built.set(name, b)
  }
  return b
}

/** Both region stacks' inventories, deep copies a test may mutate. */
export async function bothStacks(): Promise<[Inventory, Inventory]> {
  const us = (await real('us-east')).inventory
  const eu = (await real('eu-west')).inventory
  return [structuredClone(us), structuredClone(eu)]
}

const PEERING_TYPES = new Set([
  'aws:ec2/vpcPeeringConnection:VpcPeeringConnection',
  'aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter',
])

const RULE_TYPES = new Set([
  'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  'aws:ec2/securityGroupRule:SecurityGroupRule',
])

/**
 * Removes every peering connection, accepter, route over one and security-group rule admitting another VPC's
 * private addresses, so a variant starts from no peering at all.
 */
export function unpeer(inv: Inventory): Inventory {
  const own = String(inv.resources.find((r) => r.type === 'aws:ec2/vpc:Vpc')?.inputs.cidrBlock)
  const foreign = (cidrs: unknown) =>
    (Array.isArray(cidrs) ? cidrs : [cidrs]).some(
      (c) => typeof c === 'string' && covers('10.0.0.0/8', c) && !covers(own, c),
    )
  inv.resources = inv.resources.filter(
    (r) =>
      !PEERING_TYPES.has(r.type) &&
      !(r.type === 'aws:ec2/route:Route' && r.inputs.vpcPeeringConnectionId) &&
      !(RULE_TYPES.has(r.type) && foreign(r.inputs.cidrIpv4 ?? r.inputs.cidrBlocks)),
  )
  for (const sg of inv.resources.filter((x) => x.type === 'aws:ec2/securityGroup:SecurityGroup')) {
    if (Array.isArray(sg.inputs.ingress))
      sg.inputs.ingress = (sg.inputs.ingress as Record<string, unknown>[]).filter(
        (x) => !foreign(x.cidrBlocks),
      )
  }
  for (const r of inv.resources.filter((x) => x.type === 'aws:ec2/routeTable:RouteTable')) {
    if (Array.isArray(r.inputs.routes))
      r.inputs.routes = (r.inputs.routes as Record<string, unknown>[]).filter(
        (x) => !x.vpcPeeringConnectionId,
      )
  }
  return inv
}

/** Both stacks without any peering: the base of every variant (works before and after peering exists). */
export async function bareStacks(): Promise<[Inventory, Inventory]> {
  const [us, eu] = await bothStacks()
  return [unpeer(us), unpeer(eu)]
}

/** The resource of `type` whose name ends with `suffix`; throws when there is none. */
export function named(inv: Inventory, type: string, suffix: string): InventoryResource {
  const r = inv.resources.find((x) => x.type === type && x.name.endsWith(suffix))
  if (!r) throw new Error(`${inv.stack}: no ${type} named *${suffix}`)
  return r
}

/** Id the mocks gave a resource (what other resources' inputs hold). */
export const id = (r: InventoryResource) => mockId(r.type, r.name)

/** Adds a resource to an inventory as the program would have registered it. */
export function add(
  inv: Inventory,
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): InventoryResource {
  const r: InventoryResource = {
    type,
    name,
    urn: `urn:pulumi:${inv.stack}::blueprint::${type}::${name}`,
    custom: true,
    inputs,
  }
  inv.resources.push(r)
  return r
}

const SUBNET = 'aws:ec2/subnet:Subnet'
const RT = 'aws:ec2/routeTable:RouteTable'

/** CIDRs of a stack's subnets of one tier (`private`, `isolated`, `public`). */
export function tierCidrs(inv: Inventory, tier: string): string[] {
  return inv.resources
    .filter((r) => r.type === SUBNET && r.name.includes(`-${tier}-`))
    .map((r) => String(r.inputs.cidrBlock))
}

export interface PeeringOptions {
  /** Leave out the accepter in eu-west (inter-region peering then stays pending-acceptance). */
  accepter?: boolean
  /** Route tables (name suffixes) that get no route to the peer. */
  skipRoutes?: string[]
  /** Open the database security groups by CIDR (default), by a group id of the peer (invalid), or not at all. */
  dbIngress?: 'cidr' | 'group' | 'us-only' | 'none'
  /** Shape of the database rules: the vpc rule resource (default) or aws:ec2/securityGroupRule. */
  ruleShape?: 'vpc' | 'ec2'
}

/**
 * Peers the two VPCs the way infra-fixes is expected to: requester in us-east (peer VPC and region from
 * eu-west's stack output), accepter in eu-west, a route to the peer VPC in every private and isolated table on
 * both sides, and database ingress on 5432 from the peer's task-subnet CIDRs.
 */
export function peer(us: Inventory, eu: Inventory, o: PeeringOptions = {}): void {
  const usVpc = named(us, 'aws:ec2/vpc:Vpc', '-vpc')
  const euVpc = named(eu, 'aws:ec2/vpc:Vpc', '-vpc')
  // Ids that cross stacks through StackReference outputs: fakes under mocks.
  const pcx = add(us, 'aws:ec2/vpcPeeringConnection:VpcPeeringConnection', 'blueprint-us-east-peer-eu-west', {
    vpcId: id(usVpc),
    peerVpcId: 'vpc-0from-eu-west-output',
    peerRegion: 'eu-west-1',
  })
  if (o.accepter !== false) {
    add(
      eu,
      'aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter',
      'blueprint-eu-west-peer-us-east',
      {
        vpcPeeringConnectionId: 'pcx-0from-us-east-output',
        autoAccept: true,
      },
    )
  }
  const routes = (inv: Inventory, to: string, via: string) => {
    for (const rt of inv.resources.filter((r) => r.type === RT && /-(private|isolated)-rt-/.test(r.name))) {
      if (o.skipRoutes?.some((s) => rt.name.endsWith(s))) continue
      add(inv, 'aws:ec2/route:Route', `${rt.name}-to-peer`, {
        routeTableId: id(rt),
        destinationCidrBlock: to,
        vpcPeeringConnectionId: via,
      })
    }
  }
  routes(us, String(euVpc.inputs.cidrBlock), id(pcx))
  routes(eu, String(usVpc.inputs.cidrBlock), 'pcx-0from-us-east-output')
  const ingress = (inv: Inventory, from: Inventory) => {
    const sg = named(inv, 'aws:ec2/securityGroup:SecurityGroup', '-db-sg')
    const peerTasks = named(from, 'aws:ec2/securityGroup:SecurityGroup', '-tasks-sg')
    const mode = o.dbIngress ?? 'cidr'
    if (mode === 'none') return
    if (mode === 'group') {
      add(inv, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', `${sg.name}-from-peer`, {
        securityGroupId: id(sg),
        ipProtocol: 'tcp',
        fromPort: 5432,
        toPort: 5432,
        referencedSecurityGroupId: id(peerTasks),
      })
      return
    }
    tierCidrs(from, 'private').forEach((cidr, i) => {
      if (o.ruleShape === 'ec2') {
        add(inv, 'aws:ec2/securityGroupRule:SecurityGroupRule', `${sg.name}-from-peer-${i}`, {
          type: 'ingress',
          securityGroupId: id(sg),
          protocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
          cidrBlocks: [cidr],
        })
      } else {
        add(inv, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', `${sg.name}-from-peer-${i}`, {
          securityGroupId: id(sg),
          ipProtocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
          cidrIpv4: cidr,
        })
      }
    })
  }
  ingress(us, eu)
  if (o.dbIngress !== 'us-only') ingress(eu, us)
}
