// The public edge: ALB listeners speak HTTPS with a TLS 1.2+ policy or only redirect to HTTPS, and
// every ALB and CloudFront distribution sits behind a WAF web ACL.
import type * as aws from '@pulumi/aws'
import type { ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy'
import type * as pulumi from '@pulumi/pulumi'
import { eachOfType, ofType, refersTo, T } from '../resources.js'

type Listener = pulumi.Unwrap<aws.lb.ListenerArgs>
type Distribution = pulumi.Unwrap<aws.cloudfront.DistributionArgs>

// ELB policy names that refuse TLS 1.0 and 1.1; the AWS default (2016-08) accepts both.
const MODERN_TLS = /TLS13-1-[23]|TLS-1-2|FS-1-2/

/** ALB listeners are HTTPS with a TLS 1.2+ policy, or HTTP that only redirects to HTTPS. */
export const albListenerHttps: ResourceValidationPolicy = {
  name: 'alb-listener-https',
  description: 'ALB listeners use HTTPS with a TLS 1.2+ policy, or redirect HTTP to HTTPS.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<Listener>([T.listener, T.albListener], (l, args, report) => {
    const protocol = l.protocol ?? 'HTTP'
    if (protocol === 'HTTPS') {
      if (!MODERN_TLS.test(l.sslPolicy ?? '')) {
        report(`${args.name}: sslPolicy "${l.sslPolicy ?? '(AWS default)'}" allows TLS below 1.2`)
      }
      return
    }
    if (protocol !== 'HTTP') return // NLB listeners (TCP/TLS/UDP) are not in scope
    const actions = l.defaultActions ?? []
    const redirects =
      actions.length > 0 && actions.every((a) => a.type === 'redirect' && a.redirect?.protocol === 'HTTPS')
    if (!redirects) report(`${args.name}: an HTTP listener may only redirect to HTTPS`)
  }),
}

/** Every application load balancer has a WAFv2 web ACL association. */
export const albWaf: StackValidationPolicy = {
  name: 'alb-waf',
  description: 'Every application load balancer is associated with a WAFv2 web ACL.',
  enforcementLevel: 'mandatory',
  validateStack: eachOfType([T.loadBalancer, T.albLoadBalancer], (lb, { resources }, report) => {
    if ((lb.props.loadBalancerType ?? 'application') !== 'application') return
    const associated = resources.some((r) => r.type === T.webAclAssociation && refersTo(r, 'resourceArn', lb))
    if (!associated) report(`load balancer "${lb.name}" has no WAF web ACL association`, lb.urn)
  }),
}

interface Behavior {
  viewerProtocolPolicy?: string
  pathPattern?: string
}

/** CloudFront speaks HTTPS to viewers (TLS 1.2+ on a custom certificate) and to custom origins. */
export const cloudfrontHttps: ResourceValidationPolicy = {
  name: 'cloudfront-https',
  description:
    'CloudFront behaviors redirect or require HTTPS, custom certificates need TLS 1.2+, custom origins use HTTPS.',
  enforcementLevel: 'mandatory',
  validateResource: ofType<Distribution>([T.distribution], (d, args, report) => {
    const behaviors: Behavior[] = [d.defaultCacheBehavior, ...(d.orderedCacheBehaviors ?? [])].filter(Boolean)
    for (const b of behaviors) {
      if (b.viewerProtocolPolicy !== 'redirect-to-https' && b.viewerProtocolPolicy !== 'https-only') {
        report(
          `${args.name}: behavior ${b.pathPattern ?? '(default)'} allows plain HTTP (viewerProtocolPolicy)`,
        )
      }
    }
    const cert = d.viewerCertificate
    if (
      (cert?.acmCertificateArn || cert?.iamCertificateId) &&
      !String(cert.minimumProtocolVersion).startsWith('TLSv1.2')
    ) {
      report(`${args.name}: minimumProtocolVersion "${cert.minimumProtocolVersion}" allows TLS below 1.2`)
    }
    for (const o of d.origins ?? []) {
      const policy = o.customOriginConfig?.originProtocolPolicy
      if (o.customOriginConfig && policy !== 'https-only') {
        report(`${args.name}: origin ${o.originId} is reached over ${policy} (use https-only)`)
      }
    }
  }),
}

/** Every CloudFront distribution names a WAF web ACL. */
export const cloudfrontWaf: ResourceValidationPolicy = {
  name: 'cloudfront-waf',
  description: 'Every CloudFront distribution is protected by a WAF web ACL (webAclId).',
  enforcementLevel: 'mandatory',
  validateResource: ofType<Distribution>([T.distribution], (d, args, report) => {
    if (!d.webAclId) report(`${args.name}: webAclId must name a WAF web ACL (scope CLOUDFRONT)`)
  }),
}
