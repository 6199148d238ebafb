import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import { validateCertificate } from './ingress.js'
import { aclVisibility, webAclRules } from './wafRules.js'

// CloudFront's fixed hosted zone id for alias records.
const CLOUDFRONT_ZONE_ID = 'Z2FDTNDATAQYW2'

export interface CdnArgs {
  zoneId: string
  /** Name the distribution serves, e.g. static.example.com. */
  domain: string
  /** Regional domain name of the primary assets bucket. */
  primaryOrigin: pulumi.Input<string>
  /** Regional domain name of the other region's assets bucket (replicated copy), tried on failure. */
  failoverOrigin: pulumi.Input<string>
  /** Default TTL in seconds. @default 86400 (24 h) */
  defaultTtlSeconds?: number
  /** Requests per 5 minutes per IP before the edge WAF blocks. @default 2000 */
  rateLimit?: number
  /** Cost: PriceClass_100 serves from North America and Europe only. @default PriceClass_100 */
  priceClass?: string
  /** Origin of the API the web app calls (CSP connect-src), e.g. https://api.example.com. */
  apiOrigin?: string
}

/**
 * The web app's Content-Security-Policy: its own scripts and styles only; it talks to the API and
 * posts uploads straight to S3 (regional bucket endpoints), and shows uploaded images from there.
 */
export function webAppCsp(apiOrigin?: string): string {
  const s3 = 'https://*.amazonaws.com'
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob: ${s3}`,
    `connect-src 'self' ${apiOrigin ?? ''} ${s3}`.replace(/ +/g, ' '),
    `form-action 'self' ${s3}`,
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
  ].join('; ')
}

/** CloudFront in front of the assets buckets: OAC, origin failover, HTTPS only, CloudFront-scope WAF. */
export class Cdn extends pulumi.ComponentResource {
  readonly distributionArn: pulumi.Output<string>
  readonly domainName: pulumi.Output<string>

  constructor(name: string, args: CdnArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:edge:Cdn', name, {}, opts)
    const parent = { parent: this }

    // Viewer certificates for CloudFront must live in us-east-1; this component's provider must be there.
    const cert = new aws.acm.Certificate(
      `${name}-cert`,
      { domainName: args.domain, validationMethod: 'DNS' },
      parent,
    )
    const validated = validateCertificate(
      `${name}-cert`,
      cert,
      args.zoneId,
      [args.domain],
      [args.domain],
      this,
    )

    const oac = new aws.cloudfront.OriginAccessControl(
      `${name}-oac`,
      {
        name: `${name}-assets`,
        description: 'CloudFront signs every request to the assets buckets',
        originAccessControlOriginType: 's3',
        signingBehavior: 'always',
        signingProtocol: 'sigv4',
      },
      parent,
    )
    const cachePolicy = new aws.cloudfront.CachePolicy(
      `${name}-cache`,
      {
        name: `${name}-assets`,
        defaultTtl: args.defaultTtlSeconds ?? 86400,
        minTtl: 0,
        maxTtl: 31536000,
        parametersInCacheKeyAndForwardedToOrigin: {
          cookiesConfig: { cookieBehavior: 'none' },
          headersConfig: { headerBehavior: 'none' },
          queryStringsConfig: { queryStringBehavior: 'none' },
          enableAcceptEncodingGzip: true,
          enableAcceptEncodingBrotli: true,
        },
      },
      parent,
    )
    const headers = createHeadersPolicy()
    const acl = new aws.wafv2.WebAcl(
      `${name}-waf`,
      {
        scope: 'CLOUDFRONT',
        defaultAction: { allow: {} },
        rules: webAclRules(`${name}-waf`, args.rateLimit ?? 2000),
        visibilityConfig: aclVisibility(`${name}-waf`),
      },
      parent,
    )
    const origin = (originId: string, domainName: pulumi.Input<string>) => ({
      originId,
      domainName,
      originAccessControlId: oac.id,
      // OAC replaces the legacy identity; the empty string keeps the S3 origin type.
      s3OriginConfig: { originAccessIdentity: '' },
    })
    const distribution = new aws.cloudfront.Distribution(
      `${name}-distribution`,
      {
        enabled: true,
        isIpv6Enabled: true,
        httpVersion: 'http2and3',
        comment: `${name}: web app and static assets`,
        // `/` serves the web app; unknown paths are the app's client-side routes (SPA fallback below).
        defaultRootObject: 'index.html',
        customErrorResponses: [403, 404].map((errorCode) => ({
          // OAC makes S3 answer 403 for a missing key; both mean "a route of the app".
          errorCode,
          responseCode: 200,
          responsePagePath: '/index.html',
          errorCachingMinTtl: 10,
        })),
        aliases: [args.domain],
        priceClass: args.priceClass ?? 'PriceClass_100',
        webAclId: acl.arn,
        origins: [
          origin('assets-primary', args.primaryOrigin),
          origin('assets-failover', args.failoverOrigin),
        ],
        originGroups: [
          {
            originId: 'assets',
            failoverCriteria: { statusCodes: [403, 404, 500, 502, 503, 504] },
            members: [{ originId: 'assets-primary' }, { originId: 'assets-failover' }],
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: 'assets',
          viewerProtocolPolicy: 'redirect-to-https',
          // Origin groups only fail over reads.
          allowedMethods: ['GET', 'HEAD', 'OPTIONS'],
          cachedMethods: ['GET', 'HEAD'],
          compress: true,
          cachePolicyId: cachePolicy.id,
          responseHeadersPolicyId: headers.id,
        },
        viewerCertificate: {
          acmCertificateArn: validated.certificateArn,
          sslSupportMethod: 'sni-only',
          minimumProtocolVersion: 'TLSv1.2_2021',
        },
        restrictions: { geoRestriction: { restrictionType: 'none' } },
      },
      parent,
    )
    function createHeadersPolicy() {
      return new aws.cloudfront.ResponseHeadersPolicy(
        `${name}-headers`,
        {
          name: `${name}-web`,
          comment: 'CSP, HSTS and the usual hardening for the web app',
          securityHeadersConfig: {
            contentSecurityPolicy: { contentSecurityPolicy: webAppCsp(args.apiOrigin), override: true },
            // Two years with preload: the static domain never serves plain HTTP.
            strictTransportSecurity: {
              accessControlMaxAgeSec: 63072000,
              includeSubdomains: true,
              preload: true,
              override: true,
            },
            contentTypeOptions: { override: true },
            frameOptions: { frameOption: 'DENY', override: true },
            referrerPolicy: { referrerPolicy: 'strict-origin-when-cross-origin', override: true },
          },
        },
        parent,
      )
    }
    for (const type of ['A', 'AAAA']) {
      new aws.route53.Record(
        `${name}-${type.toLowerCase()}`,
        {
          zoneId: args.zoneId,
          name: args.domain,
          type,
          aliases: [
            { name: distribution.domainName, zoneId: CLOUDFRONT_ZONE_ID, evaluateTargetHealth: false },
          ],
        },
        parent,
      )
    }
    this.distributionArn = distribution.arn
    this.domainName = distribution.domainName
    this.registerOutputs({ distributionArn: this.distributionArn })
  }
}
