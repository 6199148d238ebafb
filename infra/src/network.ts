import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import { subnetCidr } from './cidr.js'

export interface NetworkArgs {
  /** VPC CIDR, a /16. */
  cidr: string
  /** Exactly three availability zones: one public, private and isolated subnet and one NAT gateway each. */
  azs: string[]
  /** Flow-log retention in days. @default 90 */
  flowLogRetentionDays?: number
  /** KMS key that encrypts the flow-log group. */
  kmsKeyArn: pulumi.Input<string>
  /** Inter-region peering with the other stack's VPC; none when unset. */
  peer?: PeerArgs
}

/**
 * One side of the inter-region VPC peering. Cross-region, the requester cannot auto-accept: the request is
 * created in the requester's region and accepted in the accepter's, each by its own stack.
 */
export interface PeerArgs {
  /** The other VPC's CIDR; private (tasks) and isolated (databases) route tables send it over the peering. */
  cidr: string
  /** Requester side: the other VPC's id and region. */
  request?: { vpcId: string; region: string }
  /** Accepter side: the connection id the other stack requested. */
  accept?: { connectionId: string }
}

/** CIDRs of the private (task) subnets a VPC of `cidr` has: the peer's databases admit exactly these. */
export function taskSubnetCidrs(cidr: string): string[] {
  return [0, 1, 2].map((i) => subnetCidr(cidr, 20, 4 + i))
}

/** VPC over three AZs: public (ALB, NAT), private (tasks), isolated (RDS, Redis), endpoints and flow logs. */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>
  readonly cidr: string
  readonly publicSubnetIds: pulumi.Output<string>[]
  readonly privateSubnetIds: pulumi.Output<string>[]
  readonly isolatedSubnetIds: pulumi.Output<string>[]
  readonly endpointSecurityGroupId: pulumi.Output<string>
  /** The inter-region peering connection's id, once this stack requested or accepted it. */
  readonly peeringConnectionId?: pulumi.Output<string>

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:network:Network', name, {}, opts)
    const parent = { parent: this }
    if (args.azs.length !== 3) throw new Error(`${name}: expected 3 AZs, got ${args.azs.length}`)
    this.cidr = args.cidr

    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: args.cidr,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { Name: `${name}-vpc` },
      },
      parent,
    )
    this.vpcId = vpc.id

    // The default security group allows all traffic between its members; strip every rule so nothing relies on it.
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, ingress: [], egress: [] }, parent)

    const igw = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: vpc.id, tags: { Name: `${name}-igw` } },
      parent,
    )
    const publicRt = new aws.ec2.RouteTable(
      `${name}-public-rt`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
        tags: { Name: `${name}-public` },
      },
      parent,
    )

    this.peeringConnectionId = args.peer && peering(name, vpc.id, args.peer, this)
    // Routes are inline on each table (a table with inline routes deletes separately managed ones). A route to a
    // connection still pending acceptance is accepted by EC2 as a blackhole and works once it is accepted.
    const peerRoutes = this.peeringConnectionId
      ? [{ cidrBlock: args.peer?.cidr as string, vpcPeeringConnectionId: this.peeringConnectionId }]
      : []
    const privateRts: aws.ec2.RouteTable[] = []
    const isolatedRts: aws.ec2.RouteTable[] = []
    this.publicSubnetIds = []
    this.privateSubnetIds = []
    this.isolatedSubnetIds = []
    args.azs.forEach((az, i) => {
      // /20 blocks: 0-2 public, 4-6 private, 8-10 isolated; the gaps leave room for a fourth AZ.
      const subnet = (tier: string, block: number, mapPublicIp: boolean) =>
        new aws.ec2.Subnet(
          `${name}-${tier}-${i}`,
          {
            vpcId: vpc.id,
            availabilityZone: az,
            cidrBlock: subnetCidr(args.cidr, 20, block),
            mapPublicIpOnLaunch: mapPublicIp,
            tags: { Name: `${name}-${tier}-${az}`, tier },
          },
          parent,
        )
      const pub = subnet('public', i, false)
      const priv = subnet('private', 4 + i, false)
      const iso = subnet('isolated', 8 + i, false)
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${i}`,
        { subnetId: pub.id, routeTableId: publicRt.id },
        parent,
      )

      const eip = new aws.ec2.Eip(
        `${name}-nat-${i}`,
        { domain: 'vpc', tags: { Name: `${name}-nat-${az}` } },
        parent,
      )
      // One NAT per AZ so losing a zone does not cut the other zones' egress.
      const nat = new aws.ec2.NatGateway(
        `${name}-nat-${i}`,
        { allocationId: eip.id, subnetId: pub.id, tags: { Name: `${name}-nat-${az}` } },
        { parent: this, dependsOn: [igw] },
      )
      const privRt = new aws.ec2.RouteTable(
        `${name}-private-rt-${i}`,
        {
          vpcId: vpc.id,
          routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }, ...peerRoutes],
          tags: { Name: `${name}-private-${az}` },
        },
        parent,
      )
      new aws.ec2.RouteTableAssociation(
        `${name}-private-${i}`,
        { subnetId: priv.id, routeTableId: privRt.id },
        parent,
      )
      // Isolated subnets have no route to the internet; only the peer VPC (the database answers its writers).
      const isoRt = new aws.ec2.RouteTable(
        `${name}-isolated-rt-${i}`,
        { vpcId: vpc.id, routes: peerRoutes, tags: { Name: `${name}-isolated-${az}` } },
        parent,
      )
      new aws.ec2.RouteTableAssociation(
        `${name}-isolated-${i}`,
        { subnetId: iso.id, routeTableId: isoRt.id },
        parent,
      )
      privateRts.push(privRt)
      isolatedRts.push(isoRt)
      this.publicSubnetIds.push(pub.id)
      this.privateSubnetIds.push(priv.id)
      this.isolatedSubnetIds.push(iso.id)
    })

    const region = aws.getRegionOutput({}, parent).region
    new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId: vpc.id,
        serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: [...privateRts, ...isolatedRts].map((rt) => rt.id),
        tags: { Name: `${name}-s3` },
      },
      parent,
    )
    const endpointSg = new aws.ec2.SecurityGroup(
      `${name}-endpoints-sg`,
      {
        vpcId: vpc.id,
        description: 'Interface endpoints: HTTPS from inside the VPC',
        ingress: [
          { protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [args.cidr], description: 'VPC' },
        ],
        tags: { Name: `${name}-endpoints` },
      },
      parent,
    )
    this.endpointSecurityGroupId = endpointSg.id
    for (const svc of ['ecr.api', 'ecr.dkr', 'secretsmanager', 'logs']) {
      new aws.ec2.VpcEndpoint(
        `${name}-${svc.replace('.', '-')}`,
        {
          vpcId: vpc.id,
          serviceName: pulumi.interpolate`com.amazonaws.${region}.${svc}`,
          vpcEndpointType: 'Interface',
          privateDnsEnabled: true,
          subnetIds: this.privateSubnetIds,
          securityGroupIds: [endpointSg.id],
          tags: { Name: `${name}-${svc}` },
        },
        parent,
      )
    }

    const flowLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-flow-logs`,
      {
        name: pulumi.interpolate`/vpc/${name}/flow-logs`,
        retentionInDays: args.flowLogRetentionDays ?? 90,
        kmsKeyId: args.kmsKeyArn,
      },
      parent,
    )
    const flowRole = new aws.iam.Role(
      `${name}-flow-logs`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
      },
      parent,
    )
    new aws.iam.RolePolicy(
      `${name}-flow-logs`,
      {
        role: flowRole.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
              Resource: [flowLogGroup.arn, pulumi.interpolate`${flowLogGroup.arn}:*`],
            },
          ],
        }),
      },
      parent,
    )
    new aws.ec2.FlowLog(
      `${name}-flow-logs`,
      {
        vpcId: vpc.id,
        trafficType: 'ALL',
        logDestinationType: 'cloud-watch-logs',
        logDestination: flowLogGroup.arn,
        iamRoleArn: flowRole.arn,
        maxAggregationInterval: 60,
      },
      parent,
    )
    this.registerOutputs({ vpcId: this.vpcId })
  }
}

/** Requests or accepts the inter-region peering (never both: each side lives in its own region's stack). */
function peering(
  name: string,
  vpcId: pulumi.Output<string>,
  peer: PeerArgs,
  parent: pulumi.Resource,
): pulumi.Output<string> | undefined {
  if (peer.request) {
    // Cross-region the requester may not set autoAccept (the provider rejects it); the other region accepts.
    return new aws.ec2.VpcPeeringConnection(
      `${name}-peering`,
      {
        vpcId,
        peerVpcId: peer.request.vpcId,
        peerRegion: peer.request.region,
        autoAccept: false,
        tags: { Name: `${name}-peering`, side: 'requester' },
      },
      { parent },
    ).id
  }
  if (peer.accept) {
    return new aws.ec2.VpcPeeringConnectionAccepter(
      `${name}-peering`,
      {
        vpcPeeringConnectionId: peer.accept.connectionId,
        autoAccept: true,
        tags: { Name: `${name}-peering`, side: 'accepter' },
      },
      { parent },
    ).id
  }
  return undefined
}
