// The task's share of CPUs reaches the service: the container sees the host's CPUs, so without this
// a 1 vCPU task on a 2-CPU host would hash two passwords at once and starve its other routes.
import { expect } from 'chai'
import { loadConfig } from '../../app/src/config.js'
import { stackConfig } from '../plan/inventory.js'
import type { StackName } from '../src/config.js'
import { deployedEnv } from './helpers.js'

// The smallest memory Fargate pairs with each task size (infra/src/config.ts refuses other pairs).
const MIN_MEMORY: Record<number, number> = { 512: 1024, 4096: 8192, 16384: 32768 }

/** Stack config of `name` with the service task at `cpu` units and the least memory Fargate allows. */
function withCpu(name: StackName, cpu: number): Record<string, string> {
  const key = 'blueprint:service'
  const service = JSON.parse(stackConfig(name)[key] ?? '{}') as Record<string, unknown>
  return { [key]: JSON.stringify({ ...service, cpu, memory: MIN_MEMORY[cpu] }) }
}

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`password hashing share (${name})`, () => {
    it('hashes one password at a time on the stack’s 1 vCPU task, as the service reads it', async () => {
      const env = await deployedEnv(name)
      expect(env.PASSWORD_HASH_CONCURRENCY).to.equal('1')
      expect(loadConfig(env).passwords.limits.concurrency).to.equal(1)
    })

    it('follows the task size: half its vCPUs', async () => {
      expect((await deployedEnv(name, withCpu(name, 4096))).PASSWORD_HASH_CONCURRENCY).to.equal('2')
      expect((await deployedEnv(name, withCpu(name, 512))).PASSWORD_HASH_CONCURRENCY).to.equal('1')
    })

    it('sizes libuv’s thread pool so four threads stay free beside the hashes, at every task size', async () => {
      expect((await deployedEnv(name)).UV_THREADPOOL_SIZE).to.equal('5')
      // 16 vCPUs hash 8 at once: with libuv's default 4 threads the service would refuse to boot.
      const large = await deployedEnv(name, withCpu(name, 16384))
      expect(large).to.include({ PASSWORD_HASH_CONCURRENCY: '8', UV_THREADPOOL_SIZE: '12' })
      expect(loadConfig(large).passwords.limits.concurrency).to.equal(8)
    })
  })
}
