import { expect } from 'chai'
import { subnetCidr } from '../src/cidr.js'
import { defaultMaxConnections } from '../src/database.js'
import { ecrRepositoryArn } from '../src/service.js'

describe('subnetCidr', () => {
  it('carves consecutive /20 blocks out of a /16', () => {
    expect(subnetCidr('10.10.0.0/16', 20, 0)).to.equal('10.10.0.0/20')
    expect(subnetCidr('10.10.0.0/16', 20, 4)).to.equal('10.10.64.0/20')
    expect(subnetCidr('10.10.0.0/16', 20, 15)).to.equal('10.10.240.0/20')
  })

  it('refuses an index past the end of the block and a prefix not inside it', () => {
    expect(() => subnetCidr('10.10.0.0/16', 20, 16)).to.throw(/holds 16 \/20 subnets/)
    expect(() => subnetCidr('10.10.0.0/16', 16, 0)).to.throw(/cannot carve/)
  })
})

describe('defaultMaxConnections', () => {
  it("follows RDS PostgreSQL's LEAST(memory / 9531392, 5000)", () => {
    expect(defaultMaxConnections('db.r6g.2xlarge')).to.equal(5000)
    expect(defaultMaxConnections('db.r6g.large')).to.equal(Math.floor((16 * 1024 ** 3) / 9531392))
    expect(defaultMaxConnections('db.t4g.medium')).to.equal(450)
  })

  it('asks for database.maxConnections when the class is unknown', () => {
    expect(() => defaultMaxConnections('db.x2g.16xlarge')).to.throw(/database\.maxConnections/)
  })
})

describe('ecrRepositoryArn', () => {
  it('derives the repository ARN from an ECR image URI, tag or digest', () => {
    expect(ecrRepositoryArn('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/service:1.2.3')).to.equal(
      'arn:aws:ecr:eu-west-1:123456789012:repository/team/service',
    )
    expect(ecrRepositoryArn('123456789012.dkr.ecr.us-east-1.amazonaws.com/service@sha256:abc')).to.equal(
      'arn:aws:ecr:us-east-1:123456789012:repository/service',
    )
  })

  it('returns undefined for images outside ECR (no repository grant is issued)', () => {
    expect(ecrRepositoryArn('public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3')).to.equal(
      undefined,
    )
  })
})
