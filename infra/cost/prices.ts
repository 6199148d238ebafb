// On-demand list prices, USD, for the two regions this project deploys to.
//
// Recorded: 2025-06-01. Sources (AWS public pricing pages, Linux/x86, on-demand, no free tier, no
// Savings Plans or reserved capacity):
//   Fargate            https://aws.amazon.com/fargate/pricing/
//   ELB (ALB)          https://aws.amazon.com/elasticloadbalancing/pricing/
//   VPC (NAT, IPv4,    https://aws.amazon.com/vpc/pricing/  and  https://aws.amazon.com/privatelink/pricing/
//        endpoints)
//   RDS PostgreSQL     https://aws.amazon.com/rds/postgresql/pricing/
//   ElastiCache        https://aws.amazon.com/elasticache/pricing/  (node-based, Redis OSS)
//   S3                 https://aws.amazon.com/s3/pricing/
//   CloudWatch         https://aws.amazon.com/cloudwatch/pricing/
//   KMS / Secrets Mgr  https://aws.amazon.com/kms/pricing/  and  https://aws.amazon.com/secrets-manager/pricing/
//   WAF                https://aws.amazon.com/waf/pricing/
//   Route 53           https://aws.amazon.com/route53/pricing/
//   Data transfer      https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer
//   CloudFront         https://aws.amazon.com/cloudfront/pricing/  (US/Europe edges, first 10 TB)
// The table is transcribed by hand, not fetched: this code never touches the network. Prices change;
// re-check with the AWS Pricing Calculator or `aws pricing get-products` before committing a budget,
// and update PRICES_AS_OF with the table.

/** Date the table below was recorded. */
export const PRICES_AS_OF = '2025-06-01'

/** Hourly, per-GB and monthly list prices for one region. */
export interface RegionPrices {
  /** Fargate Linux/x86, per vCPU-hour. */
  fargateVcpuHour: number
  /** Fargate Linux/x86, per GB-hour of task memory. */
  fargateGbHour: number
  /** Application Load Balancer, per hour. */
  albHour: number
  /** Application Load Balancer, per LCU-hour. */
  albLcuHour: number
  /** NAT gateway, per hour. */
  natHour: number
  /** NAT gateway, per GB processed. */
  natGb: number
  /** Public IPv4 address (Elastic IP or ALB node), per hour. */
  publicIpv4Hour: number
  /** Interface VPC endpoint, per hour per AZ. */
  interfaceEndpointAzHour: number
  /** Interface VPC endpoint, per GB processed. */
  interfaceEndpointGb: number
  /** RDS for PostgreSQL Single-AZ instance, per hour, by class (Multi-AZ instance deployments cost 2x). */
  rdsInstanceHour: Record<string, number>
  /** RDS gp3 storage Single-AZ, per GB-month (Multi-AZ 2x). */
  rdsGp3GbMonth: number
  /** ElastiCache node (Redis OSS), per hour, by node type. */
  cacheNodeHour: Record<string, number>
  /** S3 Standard, per GB-month (first 50 TB). */
  s3StandardGbMonth: number
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logsIngestGb: number
  /** CloudWatch Logs archived storage, per GB-month (compressed). */
  logsStorageGbMonth: number
  /** CloudWatch standard-resolution alarm, per alarm-month. */
  alarmMonth: number
  /** CloudWatch dashboard, per month (beyond the 3 free ones, which a production account has used). */
  dashboardMonth: number
  /** KMS customer-managed key, per month. */
  kmsKeyMonth: number
  /** Secrets Manager secret, per month. */
  secretMonth: number
  /** WAF web ACL, per month. */
  wafAclMonth: number
  /** WAF rule or rule group in a web ACL, per month. */
  wafRuleMonth: number
  /** WAF requests, per million. */
  wafMillionRequests: number
  /** Route 53 health check (AWS endpoint), per month. */
  healthCheckMonth: number
  /** Data transfer out to the internet, per GB (first 10 TB tier). */
  egressGb: number
  /** Data transfer between AZs, per GB, counted once per direction. */
  interAzGb: number
  /** Data transfer to another AWS region (S3 replication), per GB. */
  interRegionGb: number
  /** CloudFront data transfer out from US/Europe edges, per GB; billed by edge, not by stack region. */
  cloudfrontGb: number
  /** CloudFront HTTPS requests from US/Europe edges, per million. */
  cloudfrontMillionRequests: number
}

/** Price tables by AWS region. */
export const PRICES: Record<string, RegionPrices> = {
  'us-east-1': {
    fargateVcpuHour: 0.04048,
    fargateGbHour: 0.004445,
    albHour: 0.0225,
    albLcuHour: 0.008,
    natHour: 0.045,
    natGb: 0.045,
    publicIpv4Hour: 0.005,
    interfaceEndpointAzHour: 0.01,
    interfaceEndpointGb: 0.01,
    rdsInstanceHour: {
      'db.r6g.large': 0.225,
      'db.r6g.xlarge': 0.449,
      'db.r6g.2xlarge': 0.899,
      'db.r6g.4xlarge': 1.798,
      'db.r7g.large': 0.239,
      'db.r7g.xlarge': 0.478,
      'db.r7g.2xlarge': 0.956,
    },
    rdsGp3GbMonth: 0.115,
    cacheNodeHour: {
      'cache.r6g.large': 0.206,
      'cache.r6g.xlarge': 0.411,
      'cache.r6g.2xlarge': 0.821,
      'cache.r7g.large': 0.219,
      'cache.r7g.xlarge': 0.437,
      'cache.r7g.2xlarge': 0.873,
    },
    s3StandardGbMonth: 0.023,
    logsIngestGb: 0.5,
    logsStorageGbMonth: 0.03,
    alarmMonth: 0.1,
    dashboardMonth: 3,
    kmsKeyMonth: 1,
    secretMonth: 0.4,
    wafAclMonth: 5,
    wafRuleMonth: 1,
    wafMillionRequests: 0.6,
    healthCheckMonth: 0.5,
    egressGb: 0.09,
    interAzGb: 0.01,
    interRegionGb: 0.02,
    cloudfrontGb: 0.085,
    cloudfrontMillionRequests: 1,
  },
  'eu-west-1': {
    fargateVcpuHour: 0.04456,
    fargateGbHour: 0.004865,
    albHour: 0.0252,
    albLcuHour: 0.008,
    natHour: 0.048,
    natGb: 0.048,
    publicIpv4Hour: 0.005,
    interfaceEndpointAzHour: 0.011,
    interfaceEndpointGb: 0.01,
    rdsInstanceHour: {
      'db.r6g.large': 0.248,
      'db.r6g.xlarge': 0.496,
      'db.r6g.2xlarge': 0.992,
      'db.r6g.4xlarge': 1.984,
      'db.r7g.large': 0.263,
      'db.r7g.xlarge': 0.527,
      'db.r7g.2xlarge': 1.054,
    },
    rdsGp3GbMonth: 0.127,
    cacheNodeHour: {
      'cache.r6g.large': 0.228,
      'cache.r6g.xlarge': 0.456,
      'cache.r6g.2xlarge': 0.912,
      'cache.r7g.large': 0.243,
      'cache.r7g.xlarge': 0.486,
      'cache.r7g.2xlarge': 0.971,
    },
    s3StandardGbMonth: 0.023,
    logsIngestGb: 0.57,
    logsStorageGbMonth: 0.03,
    alarmMonth: 0.1,
    dashboardMonth: 3,
    kmsKeyMonth: 1,
    secretMonth: 0.4,
    wafAclMonth: 5,
    wafRuleMonth: 1,
    wafMillionRequests: 0.6,
    healthCheckMonth: 0.5,
    egressGb: 0.09,
    interAzGb: 0.01,
    interRegionGb: 0.02,
    cloudfrontGb: 0.085,
    cloudfrontMillionRequests: 1,
  },
}

/** The price table for a region, or an error naming the regions it has. */
export function pricesFor(region: string): RegionPrices {
  const p = PRICES[region]
  if (!p)
    throw new Error(
      `no price table for ${region}; infra/cost/prices.ts has ${Object.keys(PRICES).join(', ')}`,
    )
  return p
}
