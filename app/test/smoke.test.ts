import { expect } from 'chai'

describe('harness', () => {
  it('runs TypeScript specs', () => {
    const n: number = 2
    expect(n + 2).to.equal(4)
  })
})
