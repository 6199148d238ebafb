import { expect } from 'chai'
import pg from 'pg'
import { connectionConfig } from '../src/db/client.js'
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

describe('IAM database authentication through pg', () => {
  it('connects with the signed token: the URL holds no password, and its parse must not blank the callback', async () => {
    const calls: string[] = []
    const config = connectionConfig(US_WRITER, true, async (target) => {
      calls.push(`${target.username}@${target.region}`)
      return 'signed-token'
    })
    expect(config).not.to.have.property('connectionString')
    expect(config).to.include({
      host: 'blueprint-us-east-db.c9akciq32.us-east-1.rds.amazonaws.com',
      user: 'blueprint_app',
    })
    expect(config.ssl).to.not.equal(undefined)
    // pg merges a parsed connectionString over explicit fields (an IAM URL's empty password would win):
    // the client pg builds from this config must still hold the callback, and it must reach the signer.
    const client = new pg.Client(config) as unknown as {
      password: unknown
      connectionParameters: { password: unknown }
    }
    expect(client.connectionParameters.password).to.be.a('function')
    expect(await (client.connectionParameters.password as () => Promise<string>)()).to.equal('signed-token')
    const naive = new pg.Client({
      connectionString: US_WRITER,
      password: async () => 'signed-token',
    }) as unknown as {
      connectionParameters: { password: unknown }
    }
    expect(naive.connectionParameters.password, 'the bug this guards against').not.to.be.a('function')
    expect(calls).to.deep.equal(['blueprint_app@us-east-1'])
  })
})
