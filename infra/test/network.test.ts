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

const cases: [StackName, string, string][] = [
  ['us-east', 'us-east-1', '10.10.0.0/16'],
  ['eu-west', 'eu-west-1', '10.20.0.0/16'],
]

for (const [name, region, cidr] of cases) {
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
        expect(privateRt.inputs.routes).to.deep.equal([{ cidrBlock: '0.0.0.0/0', natGatewayId: idOf(nat) }])
        const assoc = one(inventory, T.rta, `-private-${i}`)
        expect(assoc.inputs.subnetId).to.equal(idOf(one(inventory, T.subnet, `-private-${i}`)))
        expect(assoc.inputs.routeTableId).to.equal(idOf(privateRt))
      }
    })

    it('gives isolated subnets no route out of the VPC', async () => {
      const { inventory } = await stack(name)
      for (let i = 0; i < 3; i++) {
        const rt = one(inventory, T.rt, `-isolated-rt-${i}`)
        expect(rt.inputs.routes ?? []).to.deep.equal([])
      }
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
