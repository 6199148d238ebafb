import { expect } from 'chai'
import { iamPassword, rdsRegion } from '../src/db/iam-auth.js'

const US_WRITER =
  'postgresql://blueprint_app@blueprint-us-east-db.c9akciq32.us-east-1.rds.amazonaws.com:5432/blueprint?sslmode=require'

describe('IAM database authentication', () => {
  it('signs for the database region, not the task region (EU tasks writing to the US writer)', async () => {
    const seen: unknown[] = []
    const password = iamPassword(US_WRITER, async (target) => {
      seen.push(target)
      return 'token'
    })
    expect(await password()).to.equal('token')
    expect(seen).to.deep.equal([
      {
        hostname: 'blueprint-us-east-db.c9akciq32.us-east-1.rds.amazonaws.com',
        port: 5432,
        username: 'blueprint_app',
        region: 'us-east-1',
      },
    ])
  })

  it('signs a real RDS connect token locally with the SDK signer (no network call)', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_REGION: 'eu-west-1',
    })
    try {
      const token = await iamPassword(US_WRITER)()
      expect(token).to.match(/^blueprint-us-east-db\.c9akciq32\.us-east-1\.rds\.amazonaws\.com:5432\/\?/)
      expect(token).to.include('Action=connect')
      expect(token).to.include('DBUser=blueprint_app')
      expect(decodeURIComponent(token)).to.include('/us-east-1/rds-db/aws4_request')
    } finally {
      process.env = saved
    }
  })

  it('refuses a host that is not an RDS endpoint', () => {
    expect(() => rdsRegion('127.0.0.1')).to.throw(/not an RDS endpoint/)
    expect(rdsRegion('x.y.eu-west-1.rds.amazonaws.com')).to.equal('eu-west-1')
  })
})
