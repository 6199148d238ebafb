// The network of one or more stacks as AWS would route it, built from their inventories: VPCs, subnets, route
// tables (inline and aws:ec2/route), NAT and internet gateways, VPC endpoints, peering connections and their
// accepters, security groups (inline rules and the two rule-resource families) and network ACLs.
import type { Inventory, InventoryResource } from '../inventory.js'
import { mockId } from '../mocks.js'
import { overlaps } from './cidr.js'

/** One security-group or NACL match: protocol, port range and peers. */
export interface SgRule {
  protocol: string
  from: number
  to: number
  cidrs: string[]
  groups: string[]
  self: boolean
  prefixLists: string[]
}

export interface SecurityGroup {
  id: string
  name: string
  stack: string
  vpcId: string
  ingress: SgRule[]
  egress: SgRule[]
}

export interface Route {
  destination: string
  kind: 'igw' | 'nat' | 'peering' | 'tgw' | 'endpoint' | 'other'
  target: string
}

export interface RouteTable {
  id: string
  name: string
  vpcId: string
  routes: Route[]
}

export interface NaclRule {
  number: number
  egress: boolean
  allow: boolean
  protocol: string
  from: number
  to: number
  cidr: string
}

export interface Nacl {
  id: string
  name: string
  rules: NaclRule[]
}

export interface Subnet {
  id: string
  name: string
  stack: string
  vpcId: string
  cidr: string
  routeTable?: RouteTable
  /** Undefined: the VPC's default NACL, which allows everything. */
  nacl?: Nacl
}

export interface Vpc {
  id: string
  name: string
  stack: string
  region: string
  cidr: string
  internetGateways: string[]
}

export interface Endpoint {
  name: string
  vpcId: string
  service: string
  type: 'Gateway' | 'Interface'
  routeTableIds: string[]
  subnetIds: string[]
  securityGroupIds: string[]
  privateDns: boolean
}

/** A peering connection as both sides declare it; `active` only when the peer side accepted it. */
export interface Peering {
  name: string
  ids: Set<string>
  vpcs: [string, string]
  active: boolean
  /** Why it is not active (no accepter in the peer region, overlapping CIDRs, unknown peer VPC). */
  problem?: string
}

export interface NatGateway {
  id: string
  name: string
  subnetId: string
}

/** Everything the reachability checks look up, across all stacks given. */
export interface NetworkModel {
  stacks: Inventory[]
  vpcs: Map<string, Vpc>
  subnets: Map<string, Subnet>
  routeTables: Map<string, RouteTable>
  securityGroups: Map<string, SecurityGroup>
  nats: Map<string, NatGateway>
  endpoints: Endpoint[]
  peerings: Peering[]
  /** Every id the mocks gave a resource of these stacks: a reference outside it came from a stack output. */
  knownIds: Set<string>
}

type Inputs = Record<string, unknown>
const str = (v: unknown): string => (typeof v === 'string' ? v : '')
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [])
const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : Number(v ?? d))
const idOf = (r: InventoryResource) => mockId(r.type, r.name)

const T = {
  vpc: 'aws:ec2/vpc:Vpc',
  subnet: 'aws:ec2/subnet:Subnet',
  routeTable: 'aws:ec2/routeTable:RouteTable',
  route: 'aws:ec2/route:Route',
  association: 'aws:ec2/routeTableAssociation:RouteTableAssociation',
  mainAssociation: 'aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation',
  igw: 'aws:ec2/internetGateway:InternetGateway',
  igwAttachment: 'aws:ec2/internetGatewayAttachment:InternetGatewayAttachment',
  nat: 'aws:ec2/natGateway:NatGateway',
  endpoint: 'aws:ec2/vpcEndpoint:VpcEndpoint',
  endpointRouteTable: 'aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation',
  endpointSubnet: 'aws:ec2/vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation',
  peering: 'aws:ec2/vpcPeeringConnection:VpcPeeringConnection',
  accepter: 'aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter',
  sg: 'aws:ec2/securityGroup:SecurityGroup',
  sgRule: 'aws:ec2/securityGroupRule:SecurityGroupRule',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  egressRule: 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule',
  nacl: 'aws:ec2/networkAcl:NetworkAcl',
  defaultNacl: 'aws:ec2/defaultNetworkAcl:DefaultNetworkAcl',
  naclRule: 'aws:ec2/networkAclRule:NetworkAclRule',
  naclAssociation: 'aws:ec2/networkAclAssociation:NetworkAclAssociation',
} as const

/** Resource types the model reads; a test mutating an inventory adds resources of these types. */
export const NETWORK_TYPES = T

function routeOf(destination: string, r: Inputs): Route {
  if (str(r.vpcPeeringConnectionId))
    return { destination, kind: 'peering', target: str(r.vpcPeeringConnectionId) }
  if (str(r.natGatewayId)) return { destination, kind: 'nat', target: str(r.natGatewayId) }
  if (str(r.transitGatewayId)) return { destination, kind: 'tgw', target: str(r.transitGatewayId) }
  if (str(r.vpcEndpointId)) return { destination, kind: 'endpoint', target: str(r.vpcEndpointId) }
  const gw = str(r.gatewayId)
  if (gw) return { destination, kind: gw.startsWith('vpce-') ? 'endpoint' : 'igw', target: gw }
  return { destination, kind: 'other', target: str(r.networkInterfaceId) || str(r.egressOnlyGatewayId) }
}

function inlineSgRule(r: Inputs): SgRule {
  return {
    protocol: str(r.protocol) || '-1',
    from: num(r.fromPort, 0),
    to: num(r.toPort, 0),
    cidrs: strs(r.cidrBlocks),
    groups: strs(r.securityGroups),
    self: r.self === true,
    prefixLists: strs(r.prefixListIds),
  }
}

function vpcRule(r: Inputs): SgRule {
  return {
    protocol: str(r.ipProtocol) || '-1',
    from: num(r.fromPort, 0),
    to: num(r.toPort, 0),
    cidrs: str(r.cidrIpv4) ? [str(r.cidrIpv4)] : [],
    groups: str(r.referencedSecurityGroupId) ? [str(r.referencedSecurityGroupId)] : [],
    self: false,
    prefixLists: str(r.prefixListId) ? [str(r.prefixListId)] : [],
  }
}

function naclRule(r: Inputs, egress: boolean): NaclRule {
  return {
    number: num(r.ruleNo ?? r.ruleNumber, 32766),
    egress,
    allow: str(r.action ?? r.ruleAction).toLowerCase() === 'allow',
    protocol: String(r.protocol ?? '-1'),
    from: num(r.fromPort, 0),
    to: num(r.toPort, 0),
    cidr: str(r.cidrBlock),
  }
}

/** Builds the model of every stack given; evaluate two region stacks together to see peering. */
export function networkModel(stacks: Inventory[]): NetworkModel {
  const m: NetworkModel = {
    stacks,
    vpcs: new Map(),
    subnets: new Map(),
    routeTables: new Map(),
    securityGroups: new Map(),
    nats: new Map(),
    endpoints: [],
    peerings: [],
    knownIds: new Set(),
  }
  const of = (inv: Inventory, type: string) => inv.resources.filter((r) => r.type === type)

  for (const inv of stacks) {
    for (const r of inv.resources) m.knownIds.add(idOf(r))
    for (const r of of(inv, T.vpc)) {
      m.vpcs.set(idOf(r), {
        id: idOf(r),
        name: r.name,
        stack: inv.stack,
        region: inv.region,
        cidr: str(r.inputs.cidrBlock),
        internetGateways: [],
      })
    }
    for (const r of of(inv, T.igw)) m.vpcs.get(str(r.inputs.vpcId))?.internetGateways.push(idOf(r))
    for (const r of of(inv, T.igwAttachment)) {
      m.vpcs.get(str(r.inputs.vpcId))?.internetGateways.push(str(r.inputs.internetGatewayId))
    }
    for (const r of of(inv, T.routeTable)) {
      const routes = (Array.isArray(r.inputs.routes) ? (r.inputs.routes as Inputs[]) : []).map((x) =>
        routeOf(str(x.cidrBlock), x),
      )
      m.routeTables.set(idOf(r), { id: idOf(r), name: r.name, vpcId: str(r.inputs.vpcId), routes })
    }
    for (const r of of(inv, T.route)) {
      m.routeTables
        .get(str(r.inputs.routeTableId))
        ?.routes.push(routeOf(str(r.inputs.destinationCidrBlock), r.inputs))
    }
    for (const r of of(inv, T.subnet)) {
      m.subnets.set(idOf(r), {
        id: idOf(r),
        name: r.name,
        stack: inv.stack,
        vpcId: str(r.inputs.vpcId),
        cidr: str(r.inputs.cidrBlock),
      })
    }
    // A subnet without an explicit association uses its VPC's main route table.
    const mainTables = new Map(
      of(inv, T.mainAssociation).map((r) => [str(r.inputs.vpcId), str(r.inputs.routeTableId)]),
    )
    const associations = new Map(
      of(inv, T.association).map((r) => [str(r.inputs.subnetId), str(r.inputs.routeTableId)]),
    )
    for (const s of m.subnets.values()) {
      if (s.stack !== inv.stack) continue
      const table = associations.get(s.id) ?? mainTables.get(s.vpcId)
      s.routeTable = table ? m.routeTables.get(table) : undefined
    }
    for (const r of of(inv, T.nat)) {
      m.nats.set(idOf(r), { id: idOf(r), name: r.name, subnetId: str(r.inputs.subnetId) })
    }
    for (const r of of(inv, T.endpoint)) {
      const type = str(r.inputs.vpcEndpointType) === 'Interface' ? 'Interface' : 'Gateway'
      m.endpoints.push({
        name: r.name,
        vpcId: str(r.inputs.vpcId),
        service: str(r.inputs.serviceName),
        type,
        routeTableIds: strs(r.inputs.routeTableIds),
        subnetIds: strs(r.inputs.subnetIds),
        securityGroupIds: strs(r.inputs.securityGroupIds),
        // The provider's default for private_dns_enabled is false.
        privateDns: r.inputs.privateDnsEnabled === true,
      })
    }
    const endpointById = new Map(of(inv, T.endpoint).map((r) => [idOf(r), r.name]))
    for (const r of of(inv, T.endpointRouteTable)) {
      const e = m.endpoints.find((x) => x.name === endpointById.get(str(r.inputs.vpcEndpointId)))
      e?.routeTableIds.push(str(r.inputs.routeTableId))
    }
    for (const r of of(inv, T.endpointSubnet)) {
      const e = m.endpoints.find((x) => x.name === endpointById.get(str(r.inputs.vpcEndpointId)))
      e?.subnetIds.push(str(r.inputs.subnetId))
    }
    for (const r of of(inv, T.sg)) {
      const ingress = Array.isArray(r.inputs.ingress) ? (r.inputs.ingress as Inputs[]).map(inlineSgRule) : []
      // Terraform revokes AWS's default allow-all egress on create: no egress input means no egress.
      const egress = Array.isArray(r.inputs.egress) ? (r.inputs.egress as Inputs[]).map(inlineSgRule) : []
      m.securityGroups.set(idOf(r), {
        id: idOf(r),
        name: r.name,
        stack: inv.stack,
        vpcId: str(r.inputs.vpcId),
        ingress,
        egress,
      })
    }
  }
  // Rule resources may name a group of the same stack only; resolve after every group is known.
  for (const inv of stacks) {
    for (const r of of(inv, T.sgRule)) {
      const sg = m.securityGroups.get(str(r.inputs.securityGroupId))
      if (!sg) continue
      const rule: SgRule = {
        ...inlineSgRule(r.inputs),
        groups: str(r.inputs.sourceSecurityGroupId) ? [str(r.inputs.sourceSecurityGroupId)] : [],
      }
      ;(str(r.inputs.type) === 'egress' ? sg.egress : sg.ingress).push(rule)
    }
    for (const r of of(inv, T.ingressRule))
      m.securityGroups.get(str(r.inputs.securityGroupId))?.ingress.push(vpcRule(r.inputs))
    for (const r of of(inv, T.egressRule))
      m.securityGroups.get(str(r.inputs.securityGroupId))?.egress.push(vpcRule(r.inputs))
    readNacls(m, inv)
  }
  m.peerings = readPeerings(m)
  return m
}

function readNacls(m: NetworkModel, inv: Inventory): void {
  const of = (type: string) => inv.resources.filter((r) => r.type === type)
  const nacls = new Map<string, Nacl>()
  const subnetsOf = new Map<string, string[]>()
  for (const r of [...of(T.nacl), ...of(T.defaultNacl)]) {
    const rules = [
      ...(Array.isArray(r.inputs.ingress)
        ? (r.inputs.ingress as Inputs[]).map((x) => naclRule(x, false))
        : []),
      ...(Array.isArray(r.inputs.egress) ? (r.inputs.egress as Inputs[]).map((x) => naclRule(x, true)) : []),
    ]
    nacls.set(idOf(r), { id: idOf(r), name: r.name, rules })
    subnetsOf.set(idOf(r), strs(r.inputs.subnetIds))
  }
  for (const r of of(T.naclRule)) {
    nacls.get(str(r.inputs.networkAclId))?.rules.push(naclRule(r.inputs, r.inputs.egress === true))
  }
  for (const r of of(T.naclAssociation)) {
    subnetsOf.get(str(r.inputs.networkAclId))?.push(str(r.inputs.subnetId))
  }
  for (const [id, subnets] of subnetsOf) {
    for (const s of subnets) {
      const subnet = m.subnets.get(s)
      const nacl = nacls.get(id)
      if (subnet && nacl) subnet.nacl = nacl
    }
  }
}

/**
 * Pairs each requester with its accepter. Inter-region peering is only active once a
 * VpcPeeringConnectionAccepter (autoAccept) in the peer region accepts it; `autoAccept` on the requester works
 * within one region only. Ids that crossed stacks as StackReference outputs are fakes under mocks, so an
 * accepter whose connection id is not an id of these stacks matches the requester aimed at its region.
 */
function readPeerings(m: NetworkModel): Peering[] {
  const out: Peering[] = []
  const accepters = m.stacks.flatMap((inv) =>
    inv.resources.filter((r) => r.type === T.accepter).map((r) => ({ inv, r, used: false })),
  )
  for (const inv of m.stacks) {
    for (const r of inv.resources.filter((x) => x.type === T.peering)) {
      const id = idOf(r)
      const vpc = m.vpcs.get(str(r.inputs.vpcId))
      const peerRegion = str(r.inputs.peerRegion) || inv.region
      const peerStack =
        m.stacks.find((s) => s.region === peerRegion && s !== inv) ??
        (peerRegion === inv.region ? inv : undefined)
      const peerVpc =
        m.vpcs.get(str(r.inputs.peerVpcId)) ??
        [...m.vpcs.values()].find((v) => peerStack && v.stack === peerStack.stack && v.id !== vpc?.id)
      const accepter = accepters.find(
        (a) =>
          !a.used &&
          a.r.inputs.autoAccept === true &&
          (str(a.r.inputs.vpcPeeringConnectionId) === id ||
            (a.inv.region === peerRegion && !m.knownIds.has(str(a.r.inputs.vpcPeeringConnectionId)))),
      )
      if (accepter) accepter.used = true
      const ids = new Set([id])
      if (accepter) {
        ids.add(idOf(accepter.r))
        ids.add(str(accepter.r.inputs.vpcPeeringConnectionId))
      }
      let problem: string | undefined
      if (!vpc) problem = `${r.name}: requester VPC ${str(r.inputs.vpcId)} unknown`
      else if (!peerVpc) problem = `${r.name}: no VPC in peer region ${peerRegion} among the stacks evaluated`
      else if (vpc.cidr && peerVpc.cidr && overlaps(vpc.cidr, peerVpc.cidr))
        problem = `${r.name}: VPC CIDRs ${vpc.cidr} and ${peerVpc.cidr} overlap (AWS refuses the peering)`
      else if (peerRegion !== inv.region && !accepter)
        problem = `${r.name}: inter-region peering to ${peerRegion} has no VpcPeeringConnectionAccepter (autoAccept: true) there; it stays pending-acceptance`
      else if (peerRegion === inv.region && r.inputs.autoAccept !== true && !accepter)
        problem = `${r.name}: same-region peering is neither autoAccept nor accepted`
      out.push({
        name: r.name,
        ids,
        vpcs: [vpc?.id ?? '', peerVpc?.id ?? ''],
        active: !problem,
        ...(problem ? { problem } : {}),
      })
    }
  }
  return out
}
