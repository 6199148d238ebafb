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
}

/** VPC over three AZs: public (ALB, NAT), private (tasks), isolated (RDS, Redis), endpoints and flow logs. */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>
  readonly cidr: string
  readonly publicSubnetIds: pulumi.Output<string>[]
  readonly privateSubnetIds: pulumi.Output<string>[]
  readonly isolatedSubnetIds: pulumi.Output<string>[]
  readonly endpointSecurityGroupId: pulumi.Output<string>

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
          routes: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nat.id }],
          tags: { Name: `${name}-private-${az}` },
        },
        parent,
      )
      new aws.ec2.RouteTableAssociation(
        `${name}-private-${i}`,
        { subnetId: priv.id, routeTableId: privRt.id },
        parent,
      )
      // Isolated subnets have no route out of the VPC at all.
      const isoRt = new aws.ec2.RouteTable(
        `${name}-isolated-rt-${i}`,
        { vpcId: vpc.id, tags: { Name: `${name}-isolated-${az}` } },
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
