import { readFileSync } from 'node:fs'
import { expect } from 'chai'
import { runUnderMocks } from '../plan/inventory.js'

describe('stack entry (infra/index.ts)', () => {
  it('builds the region from Pulumi.us-east.yaml and exports what other stacks and the DR command read', async () => {
    const { result, resources } = await runUnderMocks('us-east', {}, () => import('../index.js'))
    // Pulumi takes a default-exported object as the outputs (and refuses named exports beside it).
    expect(Object.keys(result)).to.deep.equal(['default'])
    const mod = result.default
    // The outputs are declared once (buildRegion's return value): the same names the old named exports had.
    // us-east has every optional one (it accepts the peering and owns the CDN).
    const recorded = JSON.parse(readFileSync('infra/test/fixtures/outputs.json', 'utf8')) as string[]
    expect(Object.keys(mod).sort()).to.deep.equal(recorded)
    expect(resources.length).to.be.greaterThan(120)
    const value = <T>(o: unknown) =>
      new Promise<T>((resolve) => (o as { apply(f: (v: T) => void): void }).apply((v) => resolve(v)))
    expect(await value(mod.dbArn)).to.equal('arn:aws:rds:us-east-1:123456789012:db:blueprint-us-east-db')
    expect(await value(mod.dbAddress)).to.equal('blueprint-us-east-db.c9akciq32.us-east-1.rds.amazonaws.com')
    expect(await value(mod.writerEndpointParameter)).to.equal('/blueprint/us-east/db/writer-endpoint')
    expect(await value(mod.albDnsName)).to.match(/\.us-east-1\.elb\.amazonaws\.com$/)
    expect(await value(mod.albZoneId)).to.equal('Z35SXDOTRQ7X7K')
    expect(mod.healthCheckPath).to.equal('/health/ready')
    expect(await value(mod.redisEndpoint)).to.match(/^clustercfg\.blueprint-us-east-redis\./)
    expect(await value(mod.uploadsBucketName)).to.equal('blueprint-us-east-uploads-123456789012')
    expect(await value(mod.clusterName)).to.equal('blueprint-us-east')
    expect(await value(mod.serviceName)).to.equal('blueprint-us-east-service')
    expect(await value(mod.cdnDistributionArn)).to.match(/^arn:aws:cloudfront::123456789012:distribution\//)
    // The RDS-managed master secret is released after the bootstrap (RDS deletes it): no output may name it.
    expect(mod).to.not.have.property('dbSecretArn')
  })
})
