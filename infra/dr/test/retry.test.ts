import { expect } from 'chai'
import type { Clock } from '../clock.js'
import { isThrottling, withRetry } from '../retry.js'
import { rdsThrottling, ssmThrottling } from './world.js'

function fakeClock(): Clock & { slept: number[] } {
  const slept: number[] = []
  let now = 0
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms)
      now += ms
    },
  }
}

describe('dr throttling retry', () => {
  it('recognises RDS, SSM and Route 53 throttling errors, and nothing else', () => {
    expect(isThrottling(rdsThrottling())).to.equal(true)
    expect(isThrottling(ssmThrottling())).to.equal(true)
    expect(isThrottling(Object.assign(new Error('x'), { name: 'PriorRequestNotComplete' }))).to.equal(true)
    expect(isThrottling(Object.assign(new Error('x'), { name: 'InvalidDBInstanceState' }))).to.equal(false)
    expect(isThrottling(undefined)).to.equal(false)
  })

  it('backs off exponentially up to the cap, then succeeds', async () => {
    const clock = fakeClock()
    let calls = 0
    const result = await withRetry(
      'call',
      async () => {
        calls++
        if (calls < 4) throw rdsThrottling()
        return 'done'
      },
      clock,
      () => {},
      { attempts: 5, baseDelayMs: 1000, maxDelayMs: 3000 },
    )
    expect(result).to.equal('done')
    expect(clock.slept).to.deep.equal([1000, 2000, 3000])
  })

  it('gives up after the bounded number of attempts with the throttling error', async () => {
    const clock = fakeClock()
    const lines: string[] = []
    let calls = 0
    const failing = withRetry(
      'PutParameter',
      async () => {
        calls++
        throw ssmThrottling()
      },
      clock,
      (l) => lines.push(l),
      { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 },
    )
    const error = await failing.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect((error as Error).name).to.equal('ThrottlingException')
    expect(calls).to.equal(3)
    expect(lines.at(-1)).to.equal('PutParameter: still throttled after 3 attempts, giving up')
  })

  it('never retries other errors (a repeated PromoteReadReplica is not safe after a server fault)', async () => {
    const clock = fakeClock()
    let calls = 0
    const error = await withRetry(
      'PromoteReadReplica',
      async () => {
        calls++
        throw Object.assign(new Error('Internal failure'), { name: 'InternalFailure' })
      },
      clock,
      () => {},
    ).catch((e: unknown) => e)
    expect((error as Error).name).to.equal('InternalFailure')
    expect(calls).to.equal(1)
    expect(clock.slept).to.deep.equal([])
  })
})
