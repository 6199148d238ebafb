import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import { API_PATH_PREFIX, HEALTH_READY_PATH } from '../../app/src/contract.js'
import type { Network } from './network.js'
import type { Storage } from './storage.js'
import { aclVisibility, webAclRules } from './wafRules.js'

/** Paths the ALB forwards to the service (its API prefix); everything else gets a 404 at the edge of the region. */
export const SERVICE_PATHS = [`${API_PATH_PREFIX}/*`] as const

/** What the ALB needs of the region's network: its VPC, the CIDR it may send into, one public subnet per AZ. */
export type IngressNetwork = Pick<Network, 'vpcId' | 'cidr' | 'publicSubnetIds'>

/** What the ALB needs of the region's storage: the logs bucket and its policy (which must admit ELB first). */
export type IngressLogs = Pick<Storage, 'logs' | 'logsPolicy'>

export interface IngressArgs {
  /** The region's network; the ALB sits in its public subnets and may only send traffic into its CIDR. */
  network: IngressNetwork
  /** Route 53 zone used for certificate DNS validation. */
  zoneId: string
  /** Certificate names: the region's own name first, then the shared latency-routed name. */
  domains: string[]
  /**
   * Names whose validation record this stack writes. ACM uses one validation CNAME per name and account, so
   * a name both stacks' certificates carry gets its record from one stack only. @default all of `domains`
   */
  validationRecordsFor?: string[]
  /** Port the service listens on. @default 3000 */
  targetPort?: number
  /** The storage receiving ALB access logs (SSE-S3): ALB creation fails unless the bucket policy already admits ELB. */
  storage: IngressLogs
  /** Seconds before an idle connection is closed. @default 60 */
  idleTimeoutSeconds?: number
  /** Requests per 5 minutes per IP before WAF blocks. @default 2000 */
  rateLimit?: number
  /** Refuse deletion of the ALB. @default true */
  deletionProtection?: boolean
}

/** Internet-facing ALB (HTTPS only, HTTP redirects), its certificate, target group and regional WAF. */
export class Ingress extends pulumi.ComponentResource {
  readonly securityGroupId: pulumi.Output<string>
  readonly dnsName: pulumi.Output<string>
  readonly zoneId: pulumi.Output<string>
  readonly arnSuffix: pulumi.Output<string>
  readonly targetGroupArn: pulumi.Output<string>
  readonly targetGroupArnSuffix: pulumi.Output<string>
  readonly httpsListenerArn: pulumi.Output<string>

  constructor(name: string, args: IngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:ingress:Ingress', name, {}, opts)
    const parent = { parent: this }
    const port = args.targetPort ?? 3000
    const [primaryDomain, ...sans] = args.domains
    if (!primaryDomain) throw new Error(`${name}: at least one certificate domain is required`)

    const sg = new aws.ec2.SecurityGroup(
      `${name}-alb-sg`,
      {
        vpcId: args.network.vpcId,
        description: 'ALB: HTTP and HTTPS from the internet',
        ingress: [80, 443].map((p) => ({
          protocol: 'tcp',
          fromPort: p,
          toPort: p,
          cidrBlocks: ['0.0.0.0/0'],
          ipv6CidrBlocks: ['::/0'],
          description: p === 80 ? 'HTTP, redirected' : 'HTTPS',
        })),
        egress: [
          {
            protocol: 'tcp',
            fromPort: port,
            toPort: port,
            cidrBlocks: [args.network.cidr],
            description: 'to service tasks',
          },
        ],
        tags: { Name: `${name}-alb` },
      },
      parent,
    )
    this.securityGroupId = sg.id

    const alb = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        internal: false,
        loadBalancerType: 'application',
        securityGroups: [sg.id],
        subnets: args.network.publicSubnetIds,
        enableCrossZoneLoadBalancing: true,
        dropInvalidHeaderFields: true,
        idleTimeout: args.idleTimeoutSeconds ?? 60,
        enableDeletionProtection: args.deletionProtection ?? true,
        enableHttp2: true,
        accessLogs: { bucket: args.storage.logs.name, prefix: 'alb', enabled: true },
      },
      { parent: this, dependsOn: [args.storage.logsPolicy] },
    )
    this.dnsName = alb.dnsName
    this.zoneId = alb.zoneId
    this.arnSuffix = alb.arnSuffix

    const tg = new aws.lb.TargetGroup(
      `${name}-tg`,
      {
        port,
        protocol: 'HTTP',
        targetType: 'ip',
        vpcId: args.network.vpcId,
        deregistrationDelay: 30,
        healthCheck: {
          path: HEALTH_READY_PATH,
          matcher: '200',
          interval: 15,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      },
      parent,
    )
    this.targetGroupArn = tg.arn
    this.targetGroupArnSuffix = tg.arnSuffix

    const cert = new aws.acm.Certificate(
      `${name}-cert`,
      { domainName: primaryDomain, subjectAlternativeNames: sans, validationMethod: 'DNS' },
      { parent: this },
    )
    const owned = args.validationRecordsFor ?? args.domains
    const validated = validateCertificate(`${name}-cert`, cert, args.zoneId, args.domains, owned, this)

    new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: alb.arn,
        port: 80,
        protocol: 'HTTP',
        defaultActions: [
          { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } },
        ],
      },
      parent,
    )
    const https = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: alb.arn,
        port: 443,
        protocol: 'HTTPS',
        sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        certificateArn: validated.certificateArn,
        defaultActions: [
          {
            type: 'fixed-response',
            fixedResponse: {
              contentType: 'application/json',
              statusCode: '404',
              messageBody: '{"error":"not found"}',
            },
          },
        ],
      },
      parent,
    )
    this.httpsListenerArn = https.arn
    // A rule holds at most five path conditions; keep service paths and health in separate rules.
    new aws.lb.ListenerRule(
      `${name}-service`,
      {
        listenerArn: https.arn,
        priority: 10,
        conditions: [{ pathPattern: { values: [...SERVICE_PATHS] } }],
        actions: [{ type: 'forward', targetGroupArn: tg.arn }],
      },
      parent,
    )
    new aws.lb.ListenerRule(
      `${name}-health`,
      {
        listenerArn: https.arn,
        priority: 20,
        conditions: [{ pathPattern: { values: [HEALTH_READY_PATH] } }],
        actions: [{ type: 'forward', targetGroupArn: tg.arn }],
      },
      parent,
    )

    const acl = new aws.wafv2.WebAcl(
      `${name}-waf`,
      {
        scope: 'REGIONAL',
        defaultAction: { allow: {} },
        rules: webAclRules(`${name}-waf`, args.rateLimit ?? 2000),
        visibilityConfig: aclVisibility(`${name}-waf`),
      },
      parent,
    )
    new aws.wafv2.WebAclAssociation(`${name}-waf`, { resourceArn: alb.arn, webAclArn: acl.arn }, parent)
    this.registerOutputs({ dnsName: this.dnsName })
  }
}

/**
 * DNS-validates an ACM certificate covering `domains`, writing the validation records of the `owned` names.
 *
 * ACM returns `domainValidationOptions` as a set (hash order, not declaration order), so each record is picked
 * by its domain name. `validationRecordFqdns` lists every name of the certificate, owned here or not: the
 * provider fails a validation whose list misses one. A name's validation CNAME is the same for every
 * certificate of the account, so a name two stacks' certificates share is written by one stack only; records
 * keep `allowOverwrite` off so a second writer fails loudly instead of taking the record over (and deleting
 * it, and the other certificate's renewal, on its next destroy).
 */
export function validateCertificate(
  name: string,
  cert: aws.acm.Certificate,
  zoneId: string,
  domains: string[],
  owned: string[],
  parent: pulumi.Resource,
  provider?: aws.Provider,
): aws.acm.CertificateValidation {
  const fqdns = domains.map((domain, i) => {
    const option = cert.domainValidationOptions.apply((options) => {
      const found = options.find((o) => o.domainName === domain)
      if (!found) throw new Error(`${name}: ACM returned no validation option for ${domain}`)
      return found
    })
    if (!owned.includes(domain)) {
      // Written by the stack that owns the name; listed here so this certificate waits for it too.
      return option.apply((o) => (o.resourceRecordName ?? '').replace(/\.$/, ''))
    }
    // Named by the position in `domains` (declaration order), which never depends on what ACM returns.
    return new aws.route53.Record(
      `${name}-validation-${i}`,
      {
        zoneId,
        name: option.apply((o) => o.resourceRecordName ?? ''),
        type: option.apply((o) => o.resourceRecordType ?? 'CNAME'),
        records: [option.apply((o) => o.resourceRecordValue ?? '')],
        ttl: 300,
        allowOverwrite: false,
      },
      { parent, provider },
    ).fqdn
  })
  return new aws.acm.CertificateValidation(
    `${name}-validation`,
    { certificateArn: cert.arn, validationRecordFqdns: fqdns },
    { parent, provider },
  )
}
