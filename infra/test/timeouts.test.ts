// Options the inventory does not record (custom timeouts) are read from the registrations themselves.
import * as pulumi from '@pulumi/pulumi'
import { expect } from 'chai'
import { runUnderMocks } from '../plan/inventory.js'
import { loadConfig } from '../src/config.js'
import { buildRegion } from '../src/region.js'

interface Registration {
  getType(): string
  getName(): string
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined
}

/** Builds `stack` and returns the custom timeouts of every RDS instance, by resource name. */
async function rdsTimeouts(stack: 'us-east' | 'eu-west') {
  const seen: Record<string, { create: string; update: string; delete: string } | undefined> = {}
  await runUnderMocks(stack, {}, () => {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(req: Registration, cb: unknown): unknown
    }
    const inner = monitor.registerResource.bind(monitor)
    monitor.registerResource = (req, cb) => {
      if (req.getType() === 'aws:rds/instance:Instance') {
        const t = req.getCustomtimeouts()
        seen[req.getName()] = t && { create: t.getCreate(), update: t.getUpdate(), delete: t.getDelete() }
      }
      return inner(req, cb)
    }
    return buildRegion(loadConfig())
  })
  return seen
}

describe('RDS custom timeouts sized for a replica build', () => {
  for (const stack of ['us-east', 'eu-west'] as const) {
    it(`${stack}: every instance waits 4 h to create (a 1 TB cross-region replica takes 1-3 h; the default is 40 min)`, async () => {
      const seen = await rdsTimeouts(stack)
      expect(Object.keys(seen).length).to.be.greaterThan(0)
      for (const [name, t] of Object.entries(seen)) {
        expect(t, name).to.deep.equal({ create: '4h', update: '4h', delete: '2h' })
      }
    })
  }
})
