import { expect } from 'chai'
import { ConcurrencyLimit } from '../../src/platform/concurrency-limit.js'

const options = { initial: 20, min: 4, max: 100, targetMs: 50, windowMs: 100 }

/**
 * One window starting at `at`: tries `n` requests, releases the admitted ones with `latencyMs`
 * inside it, the last at its end (which closes the window and adapts the limit).
 */
function window(limit: ConcurrencyLimit, at: number, n: number, latencyMs: number): void {
  let admitted = 0
  for (let i = 0; i < n; i++) if (limit.tryAcquire()) admitted++
  for (let i = 0; i < admitted; i++) limit.release(latencyMs, i === admitted - 1 ? at + 100 : at + 50)
}

describe('adaptive concurrency limit', () => {
  it('refuses requests beyond the limit and admits again once one is released', () => {
    const limit = new ConcurrencyLimit(options, 0)
    for (let i = 0; i < 20; i++) expect(limit.tryAcquire()).to.equal(true)
    expect(limit.tryAcquire()).to.equal(false)
    expect(limit.full).to.equal(true)
    limit.release(10, 1)
    expect(limit.tryAcquire()).to.equal(true)
  })

  it('cuts the limit in proportion when the p90 latency is over the target, not below the minimum', () => {
    const limit = new ConcurrencyLimit(options, 0)
    window(limit, 0, 20, 100)
    // Twice the target: about half.
    expect(limit.limit).to.equal(10)
    for (let t = 100; t < 1000; t += 100) window(limit, t, 20, 1000)
    expect(limit.limit).to.equal(4)
  })

  it('grows only while the limit holds traffic back and latency is well under the target', () => {
    const limit = new ConcurrencyLimit(options, 0)
    // Fast, but never saturated: an idle instance must not inflate its limit.
    window(limit, 0, 5, 5)
    expect(limit.limit).to.equal(20)
    // Fast and saturated: it grows.
    window(limit, 100, 40, 5)
    expect(limit.limit).to.be.above(20)
    // Near the target (between 80% and 100%): it holds.
    const held = limit.limit
    window(limit, 200, 40, 45)
    expect(limit.limit).to.equal(held)
  })

  it('never grows above the maximum', () => {
    const limit = new ConcurrencyLimit({ ...options, max: 25 }, 0)
    for (let t = 0; t < 2000; t += 100) window(limit, t, 200, 1)
    expect(limit.limit).to.equal(25)
  })

  it('judges no window on a handful of cold requests, and cuts nothing while warming up', () => {
    const few = new ConcurrencyLimit(options, 0)
    window(few, 0, 5, 500)
    expect(few.limit, 'five slow requests decide nothing').to.equal(20)
    const warming = new ConcurrencyLimit({ ...options, warmupMs: 1000 }, 0)
    window(warming, 0, 20, 500)
    expect(warming.limit, 'within the warm-up').to.equal(20)
    window(warming, 1000, 20, 500)
    expect(warming.limit, 'after it').to.be.below(20)
  })
})
