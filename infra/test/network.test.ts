import { expect } from 'chai'
import type { StackName } from '../src/config.js'
import { all, hasProps, idOf, one, stack } from './helpers.js'

const T = {
  vpc: 'aws:ec2/vpc:Vpc',
  subnet: 'aws:ec2/subnet:Subnet',
  nat: 'aws:ec2/natGateway:NatGateway',
  rt: 'aws:ec2/routeTable:RouteTable',
  rta: 'aws:ec2/routeTableAssociation:RouteTableAssociation',
  endpoint: 'aws:ec2/vpcEndpoint:VpcEndpoint',
  flowLog: 'aws:ec2/flowLog:FlowLog',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
}

const cases: [StackName, string, string, string][] = [
  ['us-east', 'us-east-1', '10.10.0.0/16', '10.20.0.0/16'],
  ['eu-west', 'eu-west-1', '10.20.0.0/16', '10.10.0.0/16'],
]
const PEERING = {
  request: 'aws:ec2/vpcPeeringConnection:VpcPeeringConnection',
  accept: 'aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter',
}

/** The peering resource this stack registered (requester or accepter); its id is what routes point at. */
function peeringOf(inventory: Parameters<typeof all>[0]) {
  const found = [...all(inventory, PEERING.request), ...all(inventory, PEERING.accept)]
  expect(found, 'one side of the peering per stack').to.have.length(1)
  return found[0] as (typeof found)[number]
}

for (const [name, region, cidr, peerCidr] of cases) {
  describe(`network (${name})`, () => {
    it('is one VPC from the stack config CIDR with DNS on', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, T.vpc), { cidrBlock: cidr, enableDnsHostnames: true, enableDnsSupport: true })
    })

    it('has a public, a private and an isolated subnet in each of 3 AZs', async () => {
      const { inventory } = await stack(name)
      const azs = [`${region}a`, `${region}b`, `${region}c`]
      for (const tier of ['public', 'private', 'isolated']) {
        const subnets = all(
          inventory,
          T.subnet,
          (r) => r.inputs.tags !== undefined && (r.inputs.tags as Record<string, string>).tier === tier,
        )
        expect(
          subnets.map((s) => s.inputs.availabilityZone),
          tier,
        ).to.have.members(azs)
        for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch).to.equal(false)
      }
      const cidrs = all(inventory, T.subnet).map((s) => s.inputs.cidrBlock)
      expect(new Set(cidrs).size, 'subnet CIDRs are distinct').to.equal(9)
    })

    it('runs one NAT gateway per AZ, each in that AZ public subnet, used by that AZ private route table', async () => {
      const { inventory } = await stack(name)
      const nats = all(inventory, T.nat)
      expect(nats).to.have.length(3)
      for (let i = 0; i < 3; i++) {
        const publicSubnet = one(inventory, T.subnet, `-public-${i}`)
        const nat = one(inventory, T.nat, `-nat-${i}`)
        expect(nat.inputs.subnetId).to.equal(idOf(publicSubnet))
        const privateRt = one(inventory, T.rt, `-private-rt-${i}`)
        expect(privateRt.inputs.routes).to.deep.include({ cidrBlock: '0.0.0.0/0', natGatewayId: idOf(nat) })
        const assoc = one(inventory, T.rta, `-private-${i}`)
        expect(assoc.inputs.subnetId).to.equal(idOf(one(inventory, T.subnet, `-private-${i}`)))
        expect(assoc.inputs.routeTableId).to.equal(idOf(privateRt))
      }
    })

    it('gives isolated subnets no route out of the VPC but the peer VPC (the database answers its writers)', async () => {
      const { inventory } = await stack(name)
      const peering = idOf(peeringOf(inventory))
      for (let i = 0; i < 3; i++) {
        const rt = one(inventory, T.rt, `-isolated-rt-${i}`)
        expect(rt.inputs.routes).to.deep.equal([{ cidrBlock: peerCidr, vpcPeeringConnectionId: peering }])
      }
    })

    it('routes the peer VPC CIDR from every task subnet route table over the peering', async () => {
      const { inventory } = await stack(name)
      const peering = idOf(peeringOf(inventory))
      for (let i = 0; i < 3; i++) {
        const rt = one(inventory, T.rt, `-private-rt-${i}`)
        expect(rt.inputs.routes).to.deep.include({ cidrBlock: peerCidr, vpcPeeringConnectionId: peering })
      }
      // The public tier (ALB, NAT) never needs the other region.
      expect(JSON.stringify(one(inventory, T.rt, '-public-rt').inputs.routes)).not.to.include(peerCidr)
    })

    it('has no peering, routes or peer ingress when peerCidr is unset (a single-region deploy)', async () => {
      const { inventory } = await stack(name, { 'blueprint:network': JSON.stringify({ cidr }) })
      expect([...all(inventory, PEERING.request), ...all(inventory, PEERING.accept)]).to.deep.equal([])
      expect(one(inventory, T.rt, '-isolated-rt-0').inputs.routes).to.deep.equal([])
    })

    it('has an S3 gateway endpoint and ECR, Secrets Manager and Logs interface endpoints', async () => {
      const { inventory } = await stack(name)
      const endpoints = all(inventory, T.endpoint)
      const byName = Object.fromEntries(
        endpoints.map((e) => [String(e.inputs.serviceName).replace(`com.amazonaws.${region}.`, ''), e]),
      )
      const byService = (svc: string) => {
        const e = byName[svc]
        if (!e) throw new Error(`no ${svc} endpoint`)
        return e
      }
      expect(Object.keys(byName)).to.have.members(['s3', 'ecr.api', 'ecr.dkr', 'secretsmanager', 'logs'])
      hasProps(byService('s3'), { vpcEndpointType: 'Gateway' })
      expect(byService('s3').inputs.routeTableIds).to.have.length(6)
      for (const svc of ['ecr.api', 'ecr.dkr', 'secretsmanager', 'logs']) {
        hasProps(byService(svc), { vpcEndpointType: 'Interface', privateDnsEnabled: true })
        expect(byService(svc).inputs.subnetIds).to.have.length(3)
      }
    })

    it('logs all VPC traffic to a retained, encrypted log group', async () => {
      const { inventory } = await stack(name)
      const flow = one(inventory, T.flowLog)
      const group = one(inventory, T.logGroup, 'flow-logs')
      hasProps(flow, { trafficType: 'ALL', logDestinationType: 'cloud-watch-logs' })
      expect(flow.inputs.logDestination).to.match(/^arn:aws:logs:/)
      hasProps(group, { retentionInDays: 90 })
      expect(group.inputs.kmsKeyId).to.match(new RegExp(`^arn:aws:kms:${region}:`))
    })

    it('strips every rule from the default security group', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, 'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup'), {
        ingress: [],
        egress: [],
      })
    })
  })
}

describe('inter-region peering', () => {
  it('eu-west requests it from eu-west-1 towards us-east-1 without auto-accept (refused cross-region)', async () => {
    const { inventory } = await stack('eu-west')
    hasProps(one(inventory, PEERING.request), {
      vpcId: idOf(one(inventory, T.vpc)),
      peerVpcId: 'vpc-0123456789abcdef0',
      peerRegion: 'us-east-1',
      autoAccept: false,
    })
    expect(all(inventory, PEERING.accept)).to.deep.equal([])
  })

  it('us-east accepts the connection eu-west requested, in its own region', async () => {
    const { inventory } = await stack('us-east')
    hasProps(one(inventory, PEERING.accept), {
      vpcPeeringConnectionId: 'pcx-0123456789abcdef0',
      autoAccept: true,
    })
    expect(all(inventory, PEERING.request)).to.deep.equal([])
  })

  it('the two stack CIDRs do not overlap', async () => {
    const us = one((await stack('us-east')).inventory, T.vpc).inputs.cidrBlock
    const eu = one((await stack('eu-west')).inventory, T.vpc).inputs.cidrBlock
    expect(us).to.not.equal(eu)
  })
})
