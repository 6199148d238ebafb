import * as aws from '@pulumi/aws'
import { expect } from 'chai'
import { runUnderMocks } from '../plan/inventory.js'

const SOURCE = 'arn:aws:rds:us-east-1:123456789012:db:blueprint-us-east-db'

/** The error `runUnderMocks` ends with for a program registering one RDS instance with `args`. */
async function refusal(args: aws.rds.InstanceArgs): Promise<string> {
  try {
    await runUnderMocks('eu-west', {}, () => {
      new aws.rds.Instance('db', args)
      return {}
    })
  } catch (err) {
    return (err as Error).message
  }
  return 'accepted'
}

describe('offline model: RDS master credentials as the provider and RDS judge them', () => {
  const replica = { instanceClass: 'db.r6g.large', replicateSourceDb: SOURCE }

  it('refuses a managed master password on a read replica', async () => {
    expect(await refusal({ ...replica, manageMasterUserPassword: true })).to.match(
      /ManageMasterUserPassword isn't supported for read replica/,
    )
  })

  it('refuses a password on a read replica (physical replication: it is the source password)', async () => {
    expect(await refusal({ ...replica, password: 'x'.repeat(20) })).to.match(
      /Cannot change master user password/,
    )
  })

  it('refuses a password together with a managed one', async () => {
    expect(
      await refusal({
        instanceClass: 'db.r6g.large',
        engine: 'postgres',
        username: 'blueprint',
        password: 'x'.repeat(20),
        manageMasterUserPassword: true,
      }),
    ).to.match(/conflicts with password/)
  })

  it('accepts a born primary whose password RDS manages, and a replica with no credentials', async () => {
    const primary = {
      instanceClass: 'db.r6g.large',
      engine: 'postgres',
      username: 'blueprint',
      manageMasterUserPassword: true,
    }
    expect(await refusal(primary)).to.equal('accepted')
    expect(await refusal(replica)).to.equal('accepted')
  })
})
