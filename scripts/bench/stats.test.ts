import { expect } from 'chai'
import { percentile, perRequest, rate, splitRate, summarize } from './stats.js'

describe('bench statistics', () => {
  describe('percentile (nearest rank)', () => {
    const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1)

    it('returns the sample at rank ceil(p/100 * n)', () => {
      expect(percentile(oneToHundred, 50)).to.equal(50)
      expect(percentile(oneToHundred, 95)).to.equal(95)
      expect(percentile(oneToHundred, 99)).to.equal(99)
      expect(percentile(oneToHundred, 100)).to.equal(100)
    })

    it('rounds the rank up on small samples, so p95 of 10 samples is the largest', () => {
      const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
      expect(percentile(ten, 95)).to.equal(10)
      expect(percentile(ten, 50)).to.equal(5)
      expect(percentile(ten, 51)).to.equal(6)
    })

    it('is NaN for no samples and refuses percentiles outside (0, 100]', () => {
      expect(percentile([], 50)).to.be.NaN
      expect(() => percentile([1], 0)).to.throw(RangeError)
      expect(() => percentile([1], 101)).to.throw(RangeError)
    })
  })

  it('summarize sorts unsorted samples before ranking', () => {
    const s = summarize([30, 10, 20, 40])
    expect(s).to.deep.equal({ count: 4, p50: 20, p95: 40, p99: 40, max: 40, mean: 25 })
  })

  it('rate is requests per second of wall-clock time', () => {
    expect(rate(300, 1500)).to.equal(200)
    expect(rate(5, 0)).to.equal(0)
  })

  it('perRequest divides, and is NaN when no request was counted', () => {
    expect(perRequest(7, 7)).to.equal(1)
    expect(perRequest(3, 0)).to.be.NaN
  })

  it('splitRate keeps the weights and never goes below one request per second', () => {
    expect(splitRate(30, { a: 2, b: 1 })).to.deep.equal({ a: 20, b: 10 })
    expect(splitRate(10, { big: 99, tiny: 1 })).to.deep.equal({ big: 10, tiny: 1 })
  })
})
