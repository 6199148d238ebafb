import { expect } from 'chai'
import type { StackName } from '../src/config.js'
import { all, hasProps, idOf, one, only, stack } from './helpers.js'

const T = {
  alb: 'aws:lb/loadBalancer:LoadBalancer',
  listener: 'aws:lb/listener:Listener',
  rule: 'aws:lb/listenerRule:ListenerRule',
  tg: 'aws:lb/targetGroup:TargetGroup',
  cert: 'aws:acm/certificate:Certificate',
  validation: 'aws:acm/certificateValidation:CertificateValidation',
  record: 'aws:route53/record:Record',
  acl: 'aws:wafv2/webAcl:WebAcl',
  assoc: 'aws:wafv2/webAclAssociation:WebAclAssociation',
  sg: 'aws:ec2/securityGroup:SecurityGroup',
}

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`ingress (${name})`, () => {
    it('is an internet-facing ALB across the 3 public subnets, cross-zone, dropping invalid headers, 60 s idle', async () => {
      const { inventory } = await stack(name)
      const alb = one(inventory, T.alb)
      hasProps(alb, {
        internal: false,
        loadBalancerType: 'application',
        enableCrossZoneLoadBalancing: true,
        dropInvalidHeaderFields: true,
        idleTimeout: 60,
        enableDeletionProtection: true,
      })
      const publicIds = [0, 1, 2].map((i) => idOf(one(inventory, 'aws:ec2/subnet:Subnet', `-public-${i}`)))
      expect(alb.inputs.subnets).to.have.members(publicIds)
    })

    it('writes access logs to the logs bucket', async () => {
      const { inventory } = await stack(name)
      const logsBucket = one(inventory, 'aws:s3/bucket:Bucket', '-logs')
      hasProps(one(inventory, T.alb), {
        accessLogs: { bucket: logsBucket.inputs.bucket, prefix: 'alb', enabled: true },
      })
    })

    it('serves HTTPS with a TLS 1.2+ policy and the DNS-validated certificate', async () => {
      const { inventory } = await stack(name)
      const https = all(inventory, T.listener, (l) => l.inputs.port === 443)
      expect(https).to.have.length(1)
      hasProps(only(https), { protocol: 'HTTPS', sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' })
      const cert = one(inventory, T.cert, `blueprint-${name}-cert`)
      hasProps(cert, {
        domainName: `api.${name}.blueprint.example.com`,
        subjectAlternativeNames: ['api.blueprint.example.com'],
        validationMethod: 'DNS',
      })
      const validation = one(inventory, T.validation, `blueprint-${name}-cert-validation`)
      expect(only(https).inputs.certificateArn).to.equal(validation.inputs.certificateArn)
      const records = all(inventory, T.record, (r) => r.name.startsWith(`blueprint-${name}-cert-validation`))
      for (const r of records) hasProps(r, { zoneId: 'Z0123456789EXAMPLE', type: 'CNAME' })
      // ACM validates a name with one CNAME per account: the shared API name's record belongs to us-east only,
      // so destroying eu-west never removes the record us-east's certificate renews with.
      const validated = records.map((r) => String(r.inputs.name))
      expect(validated.some((n) => n.endsWith(`.api.${name}.blueprint.example.com.`))).to.equal(true)
      expect(validated.some((n) => n.endsWith('.api.blueprint.example.com.'))).to.equal(name === 'us-east')
    })

    it('lists every name of the certificate in validationRecordFqdns, owned here or by the other stack', async () => {
      const { inventory } = await stack(name)
      const validation = one(inventory, T.validation, `blueprint-${name}-cert-validation`)
      const fqdns = validation.inputs.validationRecordFqdns as string[]
      // The provider fails a validation whose list misses any name of the certificate.
      expect(fqdns).to.have.length(2)
      expect(fqdns.some((f) => f.endsWith(`.api.${name}.blueprint.example.com`))).to.equal(true)
      expect(fqdns.some((f) => f.endsWith('.api.blueprint.example.com'))).to.equal(true)
    })

    it('picks each validation record by its domain name and lets no second writer overwrite it', async () => {
      const { inventory } = await stack(name)
      const declared = [`api.${name}.blueprint.example.com`, 'api.blueprint.example.com']
      const records = all(inventory, T.record, (r) => r.name.startsWith(`blueprint-${name}-cert-validation-`))
      expect(records).to.have.length(name === 'us-east' ? 2 : 1)
      for (const r of records) {
        const index = Number(r.name.split('-').pop())
        expect(String(r.inputs.name)).to.match(
          new RegExp(`\\.${declared[index]?.replaceAll('.', '\\.')}\\.$`),
        )
        hasProps(r, { allowOverwrite: false })
      }
    })

    it('redirects HTTP to HTTPS with a 301', async () => {
      const { inventory } = await stack(name)
      const http = all(inventory, T.listener, (l) => l.inputs.port === 80)
      expect(http).to.have.length(1)
      hasProps(only(http), {
        protocol: 'HTTP',
        defaultActions: [
          { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } },
        ],
      })
    })

    it('health-checks targets on /health/ready and routes /v1/* (the API prefix) to the service', async () => {
      const { inventory } = await stack(name)
      const tg = one(inventory, T.tg)
      hasProps(tg, {
        targetType: 'ip',
        port: 3000,
        protocol: 'HTTP',
        healthCheck: { path: '/health/ready', matcher: '200' },
      })
      const rules = all(inventory, T.rule)
      const paths = rules.flatMap((r) =>
        (r.inputs.conditions as { pathPattern: { values: string[] } }[]).flatMap((c) => c.pathPattern.values),
      )
      expect(paths).to.have.members(['/v1/*', '/health/ready'])
      for (const r of rules) {
        const [action] = r.inputs.actions as { type: string; targetGroupArn: string }[]
        expect(action?.type).to.equal('forward')
        expect(action?.targetGroupArn).to.match(/:targetgroup\//)
      }
    })

    it('attaches a regional WAF with the four AWS managed groups and a per-IP rate limit', async () => {
      const { inventory } = await stack(name)
      const acl = one(inventory, T.acl, `blueprint-${name}-waf`)
      hasProps(acl, { scope: 'REGIONAL', defaultAction: { allow: {} } })
      const rules = acl.inputs.rules as {
        action?: unknown
        statement: {
          managedRuleGroupStatement?: { name: string }
          rateBasedStatement?: Record<string, unknown>
        }
      }[]
      const managed = rules
        .filter((r) => r.statement.managedRuleGroupStatement)
        .map((r) => r.statement.managedRuleGroupStatement?.name)
      expect(managed).to.have.members([
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
        'AWSManagedRulesSQLiRuleSet',
        'AWSManagedRulesAmazonIpReputationList',
      ])
      const rate = rules.filter((r) => r.statement.rateBasedStatement)
      expect(rate).to.have.length(1)
      expect(only(rate).statement.rateBasedStatement).to.include({ limit: 2000, aggregateKeyType: 'IP' })
      expect(only(rate).action).to.deep.equal({ block: {} })
      const assoc = one(inventory, T.assoc)
      expect(assoc.inputs.webAclArn).to.match(/:wafv2:.*regional\/webacl\//)
      expect(assoc.inputs.resourceArn).to.match(/:loadbalancer\/app\//)
    })

    it('opens the ALB security group to the internet on 80 and 443 only', async () => {
      const { inventory } = await stack(name)
      const sg = one(inventory, T.sg, '-alb-sg')
      const ingress = sg.inputs.ingress as { fromPort: number; toPort: number }[]
      expect(ingress.map((i) => [i.fromPort, i.toPort])).to.deep.equal([
        [80, 80],
        [443, 443],
      ])
    })
  })
}
