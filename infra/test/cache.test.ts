import { expect } from 'chai'
import { REDIS_SERVICE_ACCESS_STRING } from '../../app/src/contract.js'
import { harmful, replacements } from '../plan/checks/replacement.js'
import { elastiCacheId } from '../src/cache.js'
import type { StackName } from '../src/config.js'
import { all, hasProps, idOf, one, stack } from './helpers.js'

const RG = 'aws:elasticache/replicationGroup:ReplicationGroup'
const USER = 'aws:elasticache/user:User'
const USER_GROUP = 'aws:elasticache/userGroup:UserGroup'

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

    it('encrypts at rest with the region key and in transit (IAM authentication requires TLS)', async () => {
      const { inventory } = await stack(name)
      const rg = one(inventory, RG)
      hasProps(rg, { atRestEncryptionEnabled: true, transitEncryptionEnabled: true })
      expect(rg.inputs.kmsKeyId).to.equal(
        `arn:aws:kms:${inventory.region}:123456789012:key/${idOf(one(inventory, 'aws:kms/key:Key', `blueprint-${name}-key`))}`,
      )
    })

    it('authenticates with RBAC, not an AUTH token: the group has a user group and no token', async () => {
      const { inventory } = await stack(name)
      const rg = one(inventory, RG)
      expect(rg.inputs).not.to.have.property('authToken')
      const group = one(inventory, USER_GROUP)
      hasProps(group, { userGroupId: `blueprint-${name}-redis-users`, engine: 'redis' })
      expect(rg.inputs.userGroupIds).to.deep.equal([`blueprint-${name}-redis-users`])
      // On a group that had a token the provider removes it in the same ModifyReplicationGroup that adds the
      // user group; the group stays protected, so a replacement would fail instead of happening.
      hasProps(rg, { authTokenUpdateStrategy: 'DELETE' })
      expect(rg.options).to.include({ protect: true })
      expect(group.inputs.userIds).to.have.members([
        `blueprint-${name}-redis-service`,
        `blueprint-${name}-redis-default`,
      ])
    })

    it('migrates a group that had an AUTH token in place: no replacement, only the token resources deleted', async () => {
      const { inventory: after } = await stack(name)
      // The group as the previous program declared it: a token, no user group; plus its token resources.
      const prefix = `urn:pulumi:${name}::blueprint::blueprint:cache:Cache$`
      const old = (type: string, suffix: string) => ({
        type,
        name: `blueprint-${name}${suffix}`,
        urn: `${prefix}${type}::blueprint-${name}${suffix}`,
        inputs: {},
        options: {},
      })
      const before = {
        ...after,
        resources: [
          ...after.resources
            .filter((r) => !/elasticache\/user/.test(r.type))
            .map((r) => {
              if (r.type !== RG) return r
              const { userGroupIds: _, authTokenUpdateStrategy: __, ...inputs } = r.inputs
              return { ...r, inputs: { ...inputs, authToken: '[secret]' } }
            }),
          old('random:index/randomPassword:RandomPassword', '-redis-auth'),
          old('aws:secretsmanager/secret:Secret', '-redis-auth'),
          old('aws:secretsmanager/secret:Secret', '-redis-url'),
        ],
      } as typeof after
      const changes = replacements(before, after)
      expect(harmful(changes)).to.deep.equal([])
      expect(changes.filter((c) => c.type === RG)).to.deep.equal([])
      expect(changes.filter((c) => c.action === 'delete').map((c) => c.name)).to.have.members([
        `blueprint-${name}-redis-auth`,
        `blueprint-${name}-redis-auth`,
        `blueprint-${name}-redis-url`,
      ])
    })

    it('lets the service in as an IAM user scoped to its commands and channels', async () => {
      const { inventory } = await stack(name)
      const user = one(inventory, USER, '-redis-service')
      hasProps(user, {
        engine: 'redis',
        authenticationMode: { type: 'iam' },
        accessString: REDIS_SERVICE_ACCESS_STRING,
      })
      // IAM users: the id is the name, lowercase (an IAM token names it).
      expect(user.inputs.userName).to.equal(user.inputs.userId)
      expect(user.inputs.userId).to.equal(`blueprint-${name}-redis-service`)
      expect(user.inputs).not.to.have.property('passwords')
      const acl = String(user.inputs.accessString).split(' ')
      expect(acl).to.include.members(['on', '-@admin', '-@dangerous', '&notify:*', '&sessions:changed'])
      expect(acl).not.to.include('+@all')
    })

    it('switches the required default user off, without a password', async () => {
      const { inventory } = await stack(name)
      const user = one(inventory, USER, '-redis-default')
      hasProps(user, {
        userName: 'default',
        userId: `blueprint-${name}-redis-default`,
        engine: 'redis',
        accessString: 'off -@all',
        noPasswordRequired: true,
      })
      expect(user.inputs).not.to.have.property('passwords')
      expect(user.inputs).not.to.have.property('authenticationMode')
    })

    it('keeps no Redis password anywhere: no random password, no Redis secret', async () => {
      const { inventory } = await stack(name)
      expect(all(inventory, 'random:index/randomPassword:RandomPassword')).to.deep.equal([])
      const secrets = all(inventory, 'aws:secretsmanager/secret:Secret').map((r) => String(r.inputs.name))
      expect(secrets.filter((n) => /redis/.test(n))).to.deep.equal([])
      expect(all(inventory, 'aws:secretsmanager/secretVersion:SecretVersion')).to.deep.equal([])
    })

    it('refuses ids ElastiCache would store differently from what a token names', () => {
      expect(elastiCacheId('blueprint-us-east-redis', 'replication group id')).to.equal(
        'blueprint-us-east-redis',
      )
      expect(() => elastiCacheId('Blueprint-Redis', 'user id')).to.throw(/lowercase/)
      expect(() => elastiCacheId('blueprint--redis', 'user id')).to.throw(/single hyphens/)
      expect(() => elastiCacheId('blueprint-redis-', 'user id')).to.throw(/single hyphens/)
      expect(() => elastiCacheId('1blueprint', 'user id')).to.throw(/lowercase letter/)
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
