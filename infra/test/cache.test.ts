import { expect } from 'chai'
import type { StackName } from '../src/config.js'
import { hasProps, idOf, one, stack } from './helpers.js'

const RG = 'aws:elasticache/replicationGroup:ReplicationGroup'

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`cache (${name})`, () => {
    it('is Redis in cluster mode, 3 shards x 2 replicas, Multi-AZ with automatic failover', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, RG), {
        replicationGroupId: `blueprint-${name}-redis`,
        engine: 'redis',
        clusterMode: 'enabled',
        parameterGroupName: 'default.redis7.cluster.on',
        numNodeGroups: 3,
        replicasPerNodeGroup: 2,
        multiAzEnabled: true,
        automaticFailoverEnabled: true,
      })
    })

    it('uses a ~26 GiB node type from config and keeps 7 daily snapshots', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, RG), { nodeType: 'cache.r7g.xlarge', snapshotRetentionLimit: 7 })
    })

    it('encrypts at rest with the region key and in transit, with an AUTH token kept in Secrets Manager', async () => {
      const { inventory } = await stack(name)
      const rg = one(inventory, RG)
      hasProps(rg, { atRestEncryptionEnabled: true, transitEncryptionEnabled: true, authToken: '[secret]' })
      expect(rg.inputs.kmsKeyId).to.equal(
        `arn:aws:kms:${inventory.region}:123456789012:key/${idOf(one(inventory, 'aws:kms/key:Key', `blueprint-${name}-key`))}`,
      )
      const secret = one(inventory, 'aws:secretsmanager/secret:Secret', '-redis-auth')
      hasProps(secret, { name: `blueprint-${name}-redis/auth-token` })
      const version = one(inventory, 'aws:secretsmanager/secretVersion:SecretVersion', '-redis-auth')
      hasProps(version, { secretId: idOf(secret), secretString: '[secret]' })
    })

    it('sits in the isolated subnets and admits only the service tasks on 6379', async () => {
      const { inventory } = await stack(name)
      const sg = one(inventory, 'aws:ec2/securityGroup:SecurityGroup', '-redis-sg')
      expect(sg.inputs.ingress).to.deep.equal([
        {
          protocol: 'tcp',
          fromPort: 6379,
          toPort: 6379,
          securityGroups: [idOf(one(inventory, 'aws:ec2/securityGroup:SecurityGroup', '-tasks-sg'))],
          description: 'service tasks',
        },
      ])
      const isolated = [0, 1, 2].map((i) => idOf(one(inventory, 'aws:ec2/subnet:Subnet', `-isolated-${i}`)))
      expect(one(inventory, 'aws:elasticache/subnetGroup:SubnetGroup').inputs.subnetIds).to.have.members(
        isolated,
      )
      expect(one(inventory, RG).options).to.include({ protect: true })
    })
  })
}
