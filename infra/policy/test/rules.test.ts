import { expect } from 'chai'
import { guardrails } from '../policies.js'
import { type PackInventory, runPolicies } from '../run.js'
import { find, goodInventory, remove, TAGS } from './fixture.js'

/** Policy names reported for an inventory, sorted and unique. */
async function fired(inv: PackInventory, opts = {}) {
  const v = await runPolicies(inv, guardrails, opts)
  return [...new Set(v.map((x) => x.policy))].sort()
}

/** Breaks a fresh good inventory and returns the policies that fire. */
async function breakAndRun(mutate: (inv: PackInventory) => void) {
  const inv = goodInventory()
  mutate(inv)
  return fired(inv)
}

describe('policy pack: guard rails over synthetic inventories', () => {
  it('reports nothing for a compliant stack', async () => {
    expect(await runPolicies(goodInventory())).to.deep.equal([])
  })

  it('names every rule once and makes every rule mandatory', () => {
    const names = guardrails.map((p) => p.name)
    expect(new Set(names).size).to.equal(names.length)
    expect(guardrails.every((p) => p.enforcementLevel === 'mandatory')).to.equal(true)
  })

  describe('each rule fires on the one thing it guards', () => {
    it('rds-encryption-at-rest: unencrypted primary', async () => {
      expect(
        await breakAndRun((inv) => delete find(inv, 'Instance', 'db').inputs.storageEncrypted),
      ).to.deep.equal(['rds-encryption-at-rest'])
    })

    it('rds-encryption-at-rest: cross-region replica without a key of its region', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'Instance', 'db-read').inputs.replicateSourceDb = 'arn:aws:rds:us-east-1:1:db:primary'
      })
      expect(broken).to.deep.equal(['rds-encryption-at-rest'])
    })

    it('rds-encryption-in-transit: parameter group without rds.force_ssl', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'ParameterGroup', 'pg').inputs.parameters = [
          { name: 'log_min_duration_statement', value: '500' },
        ]
      })
      expect(broken).to.deep.equal(['rds-encryption-in-transit'])
    })

    it('rds-encryption-in-transit: primary on the default parameter group', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'Instance', 'db').inputs.parameterGroupName = 'default.postgres17'
      })
      expect(broken).to.deep.equal(['rds-encryption-in-transit'])
    })

    it('rds-multi-az: single-AZ primary', async () => {
      expect(await breakAndRun((inv) => (find(inv, 'Instance', 'db').inputs.multiAz = false))).to.deep.equal([
        'rds-multi-az',
      ])
    })

    it('rds-backup-retention: 6 days of backups', async () => {
      const broken = await breakAndRun(
        (inv) => (find(inv, 'Instance', 'db').inputs.backupRetentionPeriod = 6),
      )
      expect(broken).to.deep.equal(['rds-backup-retention'])
    })

    it('rds-deletion-protection: primary without it', async () => {
      const broken = await breakAndRun(
        (inv) => (find(inv, 'Instance', 'db').inputs.deletionProtection = false),
      )
      expect(broken).to.deep.equal(['rds-deletion-protection'])
    })

    it('s3-encryption-at-rest: bucket with no encryption configuration', async () => {
      const broken = await breakAndRun((inv) =>
        remove(inv, 'BucketServerSideEncryptionConfiguration', 'logs'),
      )
      expect(broken).to.deep.equal(['s3-encryption-at-rest'])
    })

    it('s3-public-access-blocked: one flag off', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'BucketPublicAccessBlock', 'uploads').inputs.restrictPublicBuckets = false
      })
      expect(broken).to.deep.equal(['s3-public-access-blocked'])
    })

    it('s3-public-access-blocked: no block at all', async () => {
      expect(await breakAndRun((inv) => remove(inv, 'BucketPublicAccessBlock', 'logs'))).to.deep.equal([
        's3-public-access-blocked',
      ])
    })

    it('s3-tls-only: policy without the SecureTransport deny', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'BucketPolicy', 'uploads').inputs.policy = JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' },
          ],
        })
      })
      expect(broken).to.deep.equal(['s3-tls-only'])
    })

    it('elasticache-encryption-at-rest: replication group without it', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'ReplicationGroup', 'cache').inputs.atRestEncryptionEnabled = false
      })
      expect(broken).to.deep.equal(['elasticache-encryption-at-rest'])
    })

    it('elasticache-encryption-in-transit: TLS off, or only preferred', async () => {
      expect(
        await breakAndRun(
          (inv) => delete find(inv, 'ReplicationGroup', 'cache').inputs.transitEncryptionEnabled,
        ),
      ).to.deep.equal(['elasticache-encryption-in-transit'])
      expect(
        await breakAndRun(
          (inv) => (find(inv, 'ReplicationGroup', 'cache').inputs.transitEncryptionMode = 'preferred'),
        ),
      ).to.deep.equal(['elasticache-encryption-in-transit'])
    })

    it('ebs-encryption-at-rest: plain volume and plain launch-template disk', async () => {
      expect(
        await breakAndRun((inv) => (find(inv, 'Volume', 'scratch').inputs.encrypted = false)),
      ).to.deep.equal(['ebs-encryption-at-rest'])
      const lt = await breakAndRun((inv) => {
        find(inv, 'LaunchTemplate', 'lt').inputs.blockDeviceMappings = [
          { deviceName: '/dev/xvda', ebs: { volumeSize: 20 } },
        ]
      })
      expect(lt).to.deep.equal(['ebs-encryption-at-rest'])
    })

    it('log-group-retention: logs kept forever', async () => {
      const broken = await breakAndRun(
        (inv) => delete find(inv, 'LogGroup', 'service-logs').inputs.retentionInDays,
      )
      expect(broken).to.deep.equal(['log-group-retention'])
    })

    it('log-group-encryption-at-rest: no KMS key', async () => {
      const broken = await breakAndRun((inv) => delete find(inv, 'LogGroup', 'service-logs').inputs.kmsKeyId)
      expect(broken).to.deep.equal(['log-group-encryption-at-rest'])
    })

    it('sg-no-open-ingress: the service group open to the world', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'SecurityGroup', 'service-sg').inputs.ingress = [
          { protocol: 'tcp', fromPort: 3000, toPort: 3000, cidrBlocks: ['0.0.0.0/0'] },
        ]
      })
      expect(broken).to.deep.equal(['sg-no-open-ingress'])
    })

    it('sg-no-open-ingress: a separate IPv6 rule resource, even on 443', async () => {
      const broken = await breakAndRun((inv) => {
        const rule = find(inv, 'SecurityGroupIngressRule', 'service-from-alb')
        rule.inputs = {
          securityGroupId: 'sg-svc',
          cidrIpv6: '::/0',
          ipProtocol: 'tcp',
          fromPort: 443,
          toPort: 443,
        }
      })
      expect(broken).to.deep.equal(['sg-no-open-ingress'])
    })

    it('sg-no-open-ingress: the ALB group open on a port other than 80/443', async () => {
      const broken = await breakAndRun((inv) => {
        const sg = find(inv, 'SecurityGroup', 'alb-sg')
        sg.inputs.ingress = [{ protocol: 'tcp', fromPort: 22, toPort: 22, cidrBlocks: ['0.0.0.0/0'] }]
      })
      expect(broken).to.deep.equal(['sg-no-open-ingress'])
    })

    it('sg-no-open-ingress: 80/443 from the world on a group no ALB uses', async () => {
      const broken = await breakAndRun(
        (inv) => (find(inv, 'LoadBalancer', 'alb').inputs.securityGroups = ['sg-svc']),
      )
      expect(broken).to.deep.equal(['sg-no-open-ingress'])
    })

    it('alb-listener-https: HTTP listener that forwards', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'Listener', 'http').inputs.defaultActions = [{ type: 'forward', targetGroupArn: 'tg' }]
      })
      expect(broken).to.deep.equal(['alb-listener-https'])
    })

    it('alb-listener-https: HTTPS with a policy that allows TLS 1.0', async () => {
      const broken = await breakAndRun(
        (inv) => (find(inv, 'Listener', 'https').inputs.sslPolicy = 'ELBSecurityPolicy-2016-08'),
      )
      expect(broken).to.deep.equal(['alb-listener-https'])
    })

    it('alb-waf: load balancer without a web ACL association', async () => {
      expect(await breakAndRun((inv) => remove(inv, 'WebAclAssociation', 'alb-waf'))).to.deep.equal([
        'alb-waf',
      ])
    })

    it('cloudfront-waf: distribution without a web ACL', async () => {
      expect(
        await breakAndRun((inv) => delete find(inv, 'Distribution', 'cdn').inputs.webAclId),
      ).to.deep.equal(['cloudfront-waf'])
    })

    it('cloudfront-https: plain HTTP to viewers, old TLS, or an HTTP origin', async () => {
      type Cdn = {
        orderedCacheBehaviors: { viewerProtocolPolicy: string }[]
        viewerCertificate: { minimumProtocolVersion: string }
        origins: { customOriginConfig?: { originProtocolPolicy: string } }[]
      }
      const cdn = (inv: PackInventory) => find(inv, 'Distribution', 'cdn').inputs as unknown as Cdn
      const cases: ((c: Cdn) => void)[] = [
        (c) => {
          if (c.orderedCacheBehaviors[0]) c.orderedCacheBehaviors[0].viewerProtocolPolicy = 'allow-all'
        },
        (c) => {
          c.viewerCertificate.minimumProtocolVersion = 'TLSv1_2016'
        },
        (c) => {
          const origin = c.origins[1]?.customOriginConfig
          if (origin) origin.originProtocolPolicy = 'match-viewer'
        },
      ]
      for (const breakIt of cases) {
        expect(await breakAndRun((inv) => breakIt(cdn(inv)))).to.deep.equal(['cloudfront-https'])
      }
    })

    it('ecs-circuit-breaker: breaker without rollback', async () => {
      const broken = await breakAndRun((inv) => {
        find(inv, 'Service', 'service').inputs.deploymentCircuitBreaker = { enable: true, rollback: false }
      })
      expect(broken).to.deep.equal(['ecs-circuit-breaker'])
    })

    it('required-tags: a resource overriding a default tag with an empty value', async () => {
      const broken = await breakAndRun(
        (inv) => (find(inv, 'Key', 'data').inputs.tags = { 'cost-center': '' }),
      )
      expect(broken).to.deep.equal(['required-tags'])
    })

    it('required-tags: provider without default tags and resources without tags', async () => {
      const inv = goodInventory()
      delete find(inv, 'aws', 'regional').inputs.defaultTags
      const v = await runPolicies(inv)
      expect([...new Set(v.map((x) => x.policy))]).to.deep.equal(['required-tags'])
      expect(v.find((x) => x.name === 'db')?.message).to.match(
        /missing tags project, stack, region, owner, cost-center/,
      )
    })
  })

  describe('how tags and references are read', () => {
    it('accepts default tags of the default provider, given from stack config', async () => {
      const inv = goodInventory()
      for (const r of inv.resources) delete r.provider
      expect(await fired(inv)).to.deep.equal(['required-tags'])
      expect(await fired(inv, { defaultTags: TAGS })).to.deep.equal([])
    })

    it('honours requiredTags from policy config', async () => {
      const opts = { config: { 'required-tags': { requiredTags: ['project', 'data-classification'] } } }
      expect(await fired(goodInventory(), opts)).to.deep.equal(['required-tags'])
    })

    it('prefers engine property dependencies over values when matching references', async () => {
      const inv = goodInventory()
      const assoc = find(inv, 'WebAclAssociation', 'alb-waf')
      // In a preview the ARN is unknown; the dependency still names the load balancer.
      assoc.inputs.resourceArn = undefined
      expect(await fired(inv)).to.deep.equal(['alb-waf'])
      assoc.propertyDependencies = { resourceArn: [find(inv, 'LoadBalancer', 'alb').urn] }
      expect(await fired(inv)).to.deep.equal([])
    })
  })
})
