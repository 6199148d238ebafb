import { expect } from 'chai'
import type { InventoryResource } from '../plan/inventory.js'
import { mockStackOutputs } from '../plan/inventory.js'
import type { StackName } from '../src/config.js'
import { all, hasProps, idOf, list, one, only, stack, statements } from './helpers.js'

const ACCOUNT = '123456789012'
const peer: Record<StackName, StackName> = { 'us-east': 'eu-west', 'eu-west': 'us-east' }
const regionOf: Record<StackName, string> = { 'us-east': 'us-east-1', 'eu-west': 'eu-west-1' }

/** Region of the provider a resource is bound to. */
function providerRegion(resources: InventoryResource[], r: InventoryResource): string {
  const urn = String(r.provider).split('::').slice(0, -1).join('::')
  return String(only(resources.filter((p) => p.urn === urn)).inputs.region)
}

describe('stack reference', () => {
  it('eu-west reads the writer identity from the stack named in config; us-east references no stack', async () => {
    const eu = (await stack('eu-west')).inventory
    const refs = all(eu, 'pulumi:pulumi:StackReference')
    expect(refs.map((r) => r.inputs.name)).to.deep.equal(['organization/blueprint/us-east'])
    expect(all((await stack('us-east')).inventory, 'pulumi:pulumi:StackReference')).to.deep.equal([])
  })

  it('follows database.sourceStack when it names another organization', async () => {
    const { inventory } = await stack('eu-west', {
      'blueprint:database': JSON.stringify({
        role: 'replica',
        identifier: 'blueprint-eu-west-db-replica',
        sourceStack: 'acme/blueprint/us-east',
      }),
    })
    expect(all(inventory, 'pulumi:pulumi:StackReference').map((r) => r.inputs.name)).to.include(
      'acme/blueprint/us-east',
    )
  })
})

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  const other = peer[name]
  describe(`S3 cross-region replication (${name} -> ${other})`, () => {
    for (const purpose of ['uploads', 'assets']) {
      it(`replicates ${purpose} with delete markers, re-encrypted under the ${other} key`, async () => {
        const { inventory } = await stack(name)
        const rc = only(
          all(
            inventory,
            'aws:s3/bucketReplicationConfig:BucketReplicationConfig',
            (r) => r.inputs.bucket === `blueprint-${name}-${purpose}-${ACCOUNT}`,
          ),
        )
        hasProps(rc, {
          rules: [
            {
              status: 'Enabled',
              deleteMarkerReplication: { status: 'Enabled' },
              sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
              destination: {
                bucket: `arn:aws:s3:::blueprint-${other}-${purpose}-${ACCOUNT}`,
                encryptionConfiguration: {
                  replicaKmsKeyId: `arn:aws:kms:${regionOf[other]}:${ACCOUNT}:alias/blueprint-${other}-data`,
                },
              },
            },
          ],
        })
        expect(rc.inputs.role).to.equal(
          `arn:aws:iam::${ACCOUNT}:role/${idOf(one(inventory, 'aws:iam/role:Role', '-replication'))}`,
        )
      })
    }

    it('does not replicate the logs bucket', async () => {
      const { inventory } = await stack(name)
      const buckets = all(inventory, 'aws:s3/bucketReplicationConfig:BucketReplicationConfig').map(
        (r) => r.inputs.bucket,
      )
      expect(buckets).to.have.length(2)
      expect(buckets).not.to.include(`blueprint-${name}-logs-${ACCOUNT}`)
    })

    it('scopes the replication role to exactly the two buckets on each side and the two keys', async () => {
      const { inventory } = await stack(name)
      const st = statements(one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-replication'))
      const resources = (action: string) =>
        st.filter((s) => list(s.Action).includes(action)).flatMap((s) => list(s.Resource))
      const mine = ['uploads', 'assets'].map((p) => `arn:aws:s3:::blueprint-${name}-${p}-${ACCOUNT}`)
      const theirs = ['uploads', 'assets'].map((p) => `arn:aws:s3:::blueprint-${other}-${p}-${ACCOUNT}/*`)
      expect(resources('s3:GetReplicationConfiguration')).to.have.members(mine)
      expect(resources('s3:GetObjectVersionForReplication')).to.have.members(mine.map((b) => `${b}/*`))
      expect(resources('s3:ReplicateObject')).to.have.members(theirs)
      expect(resources('s3:ReplicateDelete')).to.have.members(theirs)
      const encrypt = only(st.filter((s) => list(s.Action).includes('kms:Encrypt')))
      expect(encrypt.Condition?.['ForAnyValue:StringEquals']).to.deep.equal({
        'kms:ResourceAliases': `alias/blueprint-${other}-data`,
      })
      expect(encrypt.Resource).to.equal(`arn:aws:kms:${regionOf[other]}:${ACCOUNT}:key/*`)
      const decrypt = only(st.filter((s) => list(s.Action).includes('kms:Decrypt')))
      expect(decrypt.Resource).to.match(new RegExp(`^arn:aws:kms:${regionOf[name]}:${ACCOUNT}:key/`))
      const trust = statements(one(inventory, 'aws:iam/role:Role', '-replication'), 'assumeRolePolicy')
      expect(trust[0]?.Principal).to.deep.equal({ Service: 's3.amazonaws.com' })
    })

    it('names its KMS key with the deterministic alias the other stack replicates into', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, 'aws:kms/alias:Alias', `blueprint-${name}-alias`), {
        name: `alias/blueprint-${name}-data`,
      })
    })

    it('replicates nothing when storage.replicateTo is unset (first deploy of us-east)', async () => {
      const { inventory } = await stack(name, { 'blueprint:storage': '{}' })
      expect(all(inventory, 'aws:s3/bucketReplicationConfig:BucketReplicationConfig')).to.deep.equal([])
    })
  })

  describe(`Route 53 latency routing (${name})`, () => {
    it('adds a latency alias record for the API name, health-checked, answering for this region', async () => {
      const { inventory } = await stack(name)
      const check = one(inventory, 'aws:route53/healthCheck:HealthCheck')
      const record = one(inventory, 'aws:route53/record:Record', `blueprint-${name}-latency`)
      const alb = one(inventory, 'aws:lb/loadBalancer:LoadBalancer')
      hasProps(record, {
        zoneId: 'Z0123456789EXAMPLE',
        name: 'api.blueprint.example.com',
        type: 'A',
        setIdentifier: name,
        latencyRoutingPolicies: [{ region: regionOf[name] }],
        aliases: [
          { evaluateTargetHealth: true, zoneId: name === 'us-east' ? 'Z35SXDOTRQ7X7K' : 'Z32O12XQLNTSW2' },
        ],
      })
      expect((record.inputs.aliases as { name: string }[])[0]?.name).to.match(
        new RegExp(`^${alb.name}-.*\\.${regionOf[name]}\\.elb\\.amazonaws\\.com$`),
      )
      // The mock gives health checks UUID-shaped ids; the record must carry this stack's check, not none.
      expect(record.inputs.healthCheckId).to.match(/^[0-9a-f]{8}-aaaa-bbbb-cccc-[0-9a-f]{12}$/)
      expect(check.inputs.fqdn).to.equal(`api.${name}.blueprint.example.com`)
    })

    it("checks the region's /health/ready over HTTPS every 30 s", async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, 'aws:route53/healthCheck:HealthCheck'), {
        type: 'HTTPS',
        fqdn: `api.${name}.blueprint.example.com`,
        port: 443,
        resourcePath: '/health/ready',
        requestInterval: 30,
        failureThreshold: 3,
      })
      hasProps(one(inventory, 'aws:route53/record:Record', `blueprint-${name}-regional`), {
        name: `api.${name}.blueprint.example.com`,
        type: 'A',
      })
    })

    it('alarms on the health check in us-east-1 (where Route 53 publishes) into a us-east-1 alarm topic', async () => {
      const { inventory } = await stack(name)
      const alarm = one(inventory, 'aws:cloudwatch/metricAlarm:MetricAlarm', `blueprint-${name}-health`)
      hasProps(alarm, {
        namespace: 'AWS/Route53',
        metricName: 'HealthCheckStatus',
        comparisonOperator: 'LessThanThreshold',
        threshold: 1,
      })
      expect(providerRegion(inventory.resources, alarm)).to.equal('us-east-1')
      const topics = all(
        inventory,
        'aws:sns/topic:Topic',
        // The mail events topic (mail.ts) is not an alarm topic.
        (t) => providerRegion(inventory.resources, t) === 'us-east-1' && !t.name.endsWith('-mail-events'),
      )
      const topic = only(topics)
      expect(alarm.inputs.alarmActions).to.deep.equal([
        `arn:aws:sns:us-east-1:${ACCOUNT}:${topic.inputs.name}`,
      ])
      expect(topic.inputs.kmsMasterKeyId).to.match(/^arn:aws:kms:us-east-1:/)
    })
  })
}

describe('Route 53 health check is wired to the record', () => {
  it('uses the id of the health check it created', async () => {
    const { inventory, resolve, outputs } = await stack('us-east')
    const record = one(inventory, 'aws:route53/record:Record', 'blueprint-us-east-latency')
    expect(record.inputs.healthCheckId).to.equal(await resolve(outputs.healthCheckId))
  })
})

describe('CloudFront (owned by us-east)', () => {
  const distribution = async () =>
    one((await stack('us-east')).inventory, 'aws:cloudfront/distribution:Distribution')

  it('exists only in us-east', async () => {
    expect(all((await stack('eu-west')).inventory, 'aws:cloudfront/distribution:Distribution')).to.deep.equal(
      [],
    )
    await distribution()
  })

  it('serves assets through Origin Access Control from the us-east bucket, failing over to the eu-west bucket', async () => {
    const { inventory } = await stack('us-east')
    const d = await distribution()
    const oac = one(inventory, 'aws:cloudfront/originAccessControl:OriginAccessControl')
    hasProps(oac, {
      originAccessControlOriginType: 's3',
      signingBehavior: 'always',
      signingProtocol: 'sigv4',
    })
    hasProps(d, {
      origins: [
        {
          originId: 'assets-primary',
          domainName: `blueprint-us-east-assets-${ACCOUNT}.s3.us-east-1.amazonaws.com`,
          originAccessControlId: idOf(oac),
        },
        {
          originId: 'assets-failover',
          domainName: `blueprint-eu-west-assets-${ACCOUNT}.s3.eu-west-1.amazonaws.com`,
          originAccessControlId: idOf(oac),
        },
      ],
      originGroups: [
        {
          originId: 'assets',
          failoverCriteria: { statusCodes: [403, 404, 500, 502, 503, 504] },
          members: [{ originId: 'assets-primary' }, { originId: 'assets-failover' }],
        },
      ],
    })
  })

  it('caches 24 h by default, compresses, redirects HTTP to HTTPS', async () => {
    const { inventory } = await stack('us-east')
    const d = await distribution()
    const policy = one(inventory, 'aws:cloudfront/cachePolicy:CachePolicy')
    hasProps(policy, { defaultTtl: 86400 })
    hasProps(d, {
      defaultCacheBehavior: {
        targetOriginId: 'assets',
        viewerProtocolPolicy: 'redirect-to-https',
        compress: true,
        cachePolicyId: idOf(policy),
      },
    })
  })

  it('uses TLS 1.2+ with a DNS-validated certificate in us-east-1', async () => {
    const { inventory } = await stack('us-east')
    const d = await distribution()
    hasProps(d, {
      viewerCertificate: { sslSupportMethod: 'sni-only', minimumProtocolVersion: 'TLSv1.2_2021' },
      aliases: ['static.blueprint.example.com'],
    })
    const cert = one(inventory, 'aws:acm/certificate:Certificate', 'blueprint-us-east-cdn-cert')
    hasProps(cert, { domainName: 'static.blueprint.example.com', validationMethod: 'DNS' })
    expect(providerRegion(inventory.resources, cert)).to.equal('us-east-1')
    expect((d.inputs.viewerCertificate as { acmCertificateArn: string }).acmCertificateArn).to.match(
      /^arn:aws:acm:us-east-1:/,
    )
  })

  it('is protected by a CloudFront-scope WAF with the managed rules and a rate limit', async () => {
    const { inventory } = await stack('us-east')
    const d = await distribution()
    const acl = one(inventory, 'aws:wafv2/webAcl:WebAcl', 'blueprint-us-east-cdn-waf')
    hasProps(acl, { scope: 'CLOUDFRONT' })
    expect(providerRegion(inventory.resources, acl)).to.equal('us-east-1')
    const rules = acl.inputs.rules as {
      statement: { managedRuleGroupStatement?: { name: string }; rateBasedStatement?: { limit: number } }
    }[]
    expect(rules.filter((r) => r.statement.managedRuleGroupStatement)).to.have.length(4)
    expect(rules.find((r) => r.statement.rateBasedStatement)?.statement.rateBasedStatement?.limit).to.equal(
      2000,
    )
    expect(d.inputs.webAclId).to.match(/:wafv2:us-east-1:.*global\/webacl\//)
  })

  it('lets only the distribution read the assets buckets in both regions', async () => {
    const us = (await stack('us-east')).inventory
    const eu = (await stack('eu-west')).inventory
    const distArn = `arn:aws:cloudfront::${ACCOUNT}:distribution/`
    const grant = (inv: typeof us, bucket: string) =>
      statements(only(all(inv, 'aws:s3/bucketPolicy:BucketPolicy', (r) => r.inputs.bucket === bucket))).find(
        (s) => s.Sid === 'CloudFrontReadsAssets',
      )
    const usGrant = grant(us, `blueprint-us-east-assets-${ACCOUNT}`)
    expect(usGrant?.Principal).to.deep.equal({ Service: 'cloudfront.amazonaws.com' })
    expect(usGrant?.Action).to.equal('s3:GetObject')
    expect(String(list(usGrant?.Condition?.StringEquals?.['AWS:SourceArn'] as string[])[0])).to.match(
      new RegExp(`^${distArn}E[0-9A-F]+$`),
    )
    const euGrant = grant(eu, `blueprint-eu-west-assets-${ACCOUNT}`)
    expect(euGrant?.Condition?.StringEquals?.['AWS:SourceArn']).to.deep.equal([
      mockStackOutputs('organization/blueprint/us-east').cdnDistributionArn,
    ])
    expect(grant(us, `blueprint-us-east-uploads-${ACCOUNT}`)).to.equal(undefined)
  })

  it('points static.blueprint.example.com at the distribution', async () => {
    const { inventory } = await stack('us-east')
    for (const type of ['a', 'aaaa']) {
      hasProps(one(inventory, 'aws:route53/record:Record', `blueprint-us-east-cdn-${type}`), {
        name: 'static.blueprint.example.com',
        aliases: [{ zoneId: 'Z2FDTNDATAQYW2', evaluateTargetHealth: false }],
      })
    }
  })
})
