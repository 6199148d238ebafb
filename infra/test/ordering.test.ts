import { expect } from 'chai'
import type { StackName } from '../src/config.js'
import { all, one, only, stack } from './helpers.js'

// Creation order AWS enforces: these fail on a first `pulumi up` if the engine creates them too early.
for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`creation order (${name})`, () => {
    it('creates the ECS service after the cluster capacity providers and the ALB listener rules', async () => {
      const { inventory, dependencies } = await stack(name)
      const deps = dependencies(one(inventory, 'aws:ecs/service:Service').urn)
      expect(deps).to.include(one(inventory, 'aws:ecs/clusterCapacityProviders:ClusterCapacityProviders').urn)
      // A dependency on a component expands to its children: every listener rule must be in the list.
      for (const rule of all(inventory, 'aws:lb/listenerRule:ListenerRule')) expect(deps).to.include(rule.urn)
    })

    it('creates the ALB only after the logs bucket policy admits ELB log delivery', async () => {
      const { inventory, dependencies } = await stack(name)
      const policy = only(
        all(inventory, 'aws:s3/bucketPolicy:BucketPolicy', (r) => String(r.inputs.bucket).includes('-logs-')),
      )
      expect(dependencies(one(inventory, 'aws:lb/loadBalancer:LoadBalancer').urn)).to.include(policy.urn)
    })

    it('enables versioning before lifecycle and replication rules', async () => {
      const { inventory, dependencies } = await stack(name)
      for (const type of [
        'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
        'aws:s3/bucketReplicationConfig:BucketReplicationConfig',
      ]) {
        for (const r of all(inventory, type)) {
          const versioning = only(
            all(
              inventory,
              'aws:s3/bucketVersioning:BucketVersioning',
              (v) => v.inputs.bucket === r.inputs.bucket,
            ),
          )
          expect(dependencies(r.urn), r.name).to.include(versioning.urn)
        }
      }
    })
  })
}
