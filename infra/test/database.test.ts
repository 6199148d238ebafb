import { expect } from 'chai'
import { mockStackOutputs } from '../plan/inventory.js'
import { all, hasProps, idOf, one, only, stack } from './helpers.js'

const T = {
  db: 'aws:rds/instance:Instance',
  params: 'aws:rds/parameterGroup:ParameterGroup',
  subnets: 'aws:rds/subnetGroup:SubnetGroup',
  sg: 'aws:ec2/securityGroup:SecurityGroup',
  ssm: 'aws:ssm/parameter:Parameter',
  key: 'aws:kms/key:Key',
}

describe('database (us-east primary)', () => {
  it('is Multi-AZ RDS PostgreSQL 17 on db.r6g.2xlarge with 1000 GiB gp3 autoscaling to 2000 GiB', async () => {
    const { inventory } = await stack('us-east')
    hasProps(one(inventory, T.db, 'blueprint-us-east-db'), {
      identifier: 'blueprint-us-east-db',
      engine: 'postgres',
      engineVersion: '17',
      instanceClass: 'db.r6g.2xlarge',
      allocatedStorage: 1000,
      maxAllocatedStorage: 2000,
      storageType: 'gp3',
      multiAz: true,
      publiclyAccessible: false,
    })
  })

  it('encrypts storage, Performance Insights and the master secret with the region customer-managed key', async () => {
    const { inventory } = await stack('us-east')
    const keyArn = `arn:aws:kms:us-east-1:123456789012:key/${idOf(one(inventory, T.key))}`
    hasProps(one(inventory, T.db, 'blueprint-us-east-db'), {
      storageEncrypted: true,
      kmsKeyId: keyArn,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: keyArn,
    })
  })

  it('keeps 7 days of backups (point-in-time recovery), refuses deletion and takes a final snapshot', async () => {
    const { inventory } = await stack('us-east')
    hasProps(one(inventory, T.db, 'blueprint-us-east-db'), {
      backupRetentionPeriod: 7,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: 'blueprint-us-east-db-final',
      copyTagsToSnapshot: true,
    })
  })

  it('has enhanced monitoring every 60 s through its own role', async () => {
    const { inventory } = await stack('us-east')
    const role = one(inventory, 'aws:iam/role:Role', '-db-monitoring')
    hasProps(one(inventory, T.db, 'blueprint-us-east-db'), {
      monitoringInterval: 60,
      monitoringRoleArn: `arn:aws:iam::123456789012:role/${idOf(role)}`,
    })
    expect(role.inputs.managedPolicyArns).to.deep.equal([
      'arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole',
    ])
  })

  it('forces SSL through its parameter group', async () => {
    const { inventory } = await stack('us-east')
    const params = one(inventory, T.params)
    hasProps(params, { family: 'postgres17' })
    expect(params.inputs.parameters).to.deep.include({ name: 'rds.force_ssl', value: '1' })
    expect(one(inventory, T.db, 'blueprint-us-east-db').inputs.parameterGroupName).to.equal(
      params.inputs.name,
    )
  })

  it('lives in the isolated subnets, reachable only from the service tasks of both regions on 5432', async () => {
    const { inventory } = await stack('us-east')
    const isolated = [0, 1, 2].map((i) => idOf(one(inventory, 'aws:ec2/subnet:Subnet', `-isolated-${i}`)))
    expect(one(inventory, T.subnets).inputs.subnetIds).to.have.members(isolated)
    const sg = one(inventory, T.sg, '-db-sg')
    expect(sg.inputs.ingress).to.deep.equal([
      {
        protocol: 'tcp',
        fromPort: 5432,
        toPort: 5432,
        securityGroups: [idOf(one(inventory, T.sg, '-tasks-sg'))],
        description: 'service tasks',
      },
      {
        protocol: 'tcp',
        fromPort: 5432,
        toPort: 5432,
        // eu-west's private (task) subnets: security groups cannot be referenced across regions.
        cidrBlocks: ['10.20.64.0/20', '10.20.80.0/20', '10.20.96.0/20'],
        description: 'service tasks of the other region, over the peering (TLS enforced by rds.force_ssl)',
      },
    ])
    expect(one(inventory, T.db, 'blueprint-us-east-db').inputs.vpcSecurityGroupIds).to.deep.equal([idOf(sg)])
  })

  it('runs one same-region read replica for read scaling', async () => {
    const { inventory } = await stack('us-east')
    const replicas = all(inventory, T.db, (r) => r.inputs.replicateSourceDb !== undefined)
    expect(replicas).to.have.length(1)
    hasProps(only(replicas), {
      identifier: 'blueprint-us-east-db-read-1',
      replicateSourceDb: 'blueprint-us-east-db',
      instanceClass: 'db.r6g.2xlarge',
      storageEncrypted: true,
    })
  })

  it('publishes the writer hostname in SSM for the service and the DR command', async () => {
    const { inventory } = await stack('us-east')
    hasProps(one(inventory, T.ssm, 'writer-endpoint'), {
      name: '/blueprint/us-east/db/writer-endpoint',
      type: 'String',
      insecureValue: 'blueprint-us-east-db.c9akciq32.us-east-1.rds.amazonaws.com:5432',
    })
  })

  it('leaves the writer endpoint to the DR command after creation, so an apply never repoints writers', async () => {
    for (const name of ['us-east', 'eu-west'] as const) {
      const { inventory } = await stack(name)
      expect(one(inventory, T.ssm, 'writer-endpoint').options?.ignoreChanges).to.deep.equal(['insecureValue'])
    }
  })

  it('lets RDS manage the master password in a secret encrypted with the region key: none in state or outputs', async () => {
    const { inventory, outputs, resolve } = await stack('us-east')
    const db = one(inventory, T.db, 'blueprint-us-east-db')
    const keyArn = `arn:aws:kms:us-east-1:123456789012:key/${idOf(one(inventory, T.key))}`
    hasProps(db, {
      username: 'blueprint',
      dbName: 'blueprint',
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: keyArn,
    })
    expect(db.inputs.password).to.equal(undefined)
    // Nothing Pulumi generates or stores holds a database password.
    expect(all(inventory, 'random:index/randomPassword:RandomPassword').map((r) => r.name)).to.deep.equal([])
    // No Secrets Manager secret of the database's (the operator's funding key remains).
    expect(
      all(inventory, 'aws:secretsmanager/secret:Secret').filter((r) => /-db[-/]/.test(String(r.inputs.name))),
    ).to.deep.equal([])
    expect(outputs).to.not.have.property('dbMasterPassword')
    // Nor its ARN: the secret exists only until management is released (RDS deletes it), and an output would go on
    // naming it from state. Whoever needs it reads MasterUserSecret from RDS (docs/runbooks/database-credentials.md).
    for (const [key, value] of Object.entries(outputs)) {
      expect(String(await resolve(value as never)), key).to.not.match(/secret:rds!/)
    }
    expect(outputs).to.not.have.property('dbSecretArn')
  })

  it('leaves master-password management to the operator after creation (RDS refuses replicas of a managed source)', async () => {
    const { inventory } = await stack('us-east')
    expect(one(inventory, T.db, 'blueprint-us-east-db').options?.ignoreChanges).to.include.members([
      'manageMasterUserPassword',
      'masterUserSecretKmsKeyId',
    ])
  })

  it('protects the writer from deletion and replacement and retains it if removed from the program', async () => {
    const { inventory } = await stack('us-east')
    expect(one(inventory, T.db, 'blueprint-us-east-db').options).to.include({
      protect: true,
      retainOnDelete: true,
    })
  })
})

describe('database (eu-west replica role)', () => {
  const source = mockStackOutputs('organization/blueprint/us-east')

  it('is a cross-region read replica of the us-east writer, named for the DR command', async () => {
    const { inventory } = await stack('eu-west')
    const db = only(all(inventory, T.db))
    hasProps(db, {
      identifier: 'blueprint-eu-west-db-replica',
      replicateSourceDb: source.dbArn,
      multiAz: true,
      backupRetentionPeriod: 7,
    })
    // Engine, size and credentials come from the source; setting them on a replica is an error.
    for (const k of ['engine', 'allocatedStorage', 'username', 'password', 'manageMasterUserPassword']) {
      expect(db.inputs[k], k).to.equal(undefined)
    }
  })

  it('encrypts the replica with a KMS key in eu-west-1, not the source region key', async () => {
    const { inventory } = await stack('eu-west')
    const db = one(inventory, T.db)
    expect(db.inputs.kmsKeyId).to.match(/^arn:aws:kms:eu-west-1:/)
    hasProps(db, { storageEncrypted: true })
  })

  it('has its own parameter group forcing SSL', async () => {
    const { inventory } = await stack('eu-west')
    const params = one(inventory, T.params)
    expect(params.inputs.name).to.equal('blueprint-eu-west-db-replica-pg17')
    expect(params.inputs.parameters).to.deep.include({ name: 'rds.force_ssl', value: '1' })
  })

  it('admits us-east task subnets on 5432, so us-east tasks can write here once it is promoted', async () => {
    const { inventory } = await stack('eu-west')
    const ingress = one(inventory, T.sg, '-db-sg').inputs.ingress as { cidrBlocks?: string[] }[]
    expect(ingress.flatMap((r) => r.cidrBlocks ?? [])).to.deep.equal([
      '10.10.64.0/20',
      '10.10.80.0/20',
      '10.10.96.0/20',
    ])
  })

  it('points the writer-endpoint parameter at the us-east writer', async () => {
    const { inventory } = await stack('eu-west')
    hasProps(one(inventory, T.ssm, 'writer-endpoint'), {
      name: '/blueprint/eu-west/db/writer-endpoint',
      insecureValue: source.dbEndpoint,
    })
  })
})
