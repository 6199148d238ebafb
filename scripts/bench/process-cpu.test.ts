import { expect } from 'chai'
import { cpuPerAnswer, cpuSecondsOf } from './process-cpu.js'

// Spins until this process has used `ms` of CPU (not wall time: a busy machine gives it less).
const spin = (ms: number) => {
  const start = process.cpuUsage()
  const used = () => {
    const u = process.cpuUsage(start)
    return (u.user + u.system) / 1000
  }
  while (used() < ms) {}
}

describe('CPU per answer (process-cpu.ts)', () => {
  it('reads the CPU a process has used from /proc, growing while it works', () => {
    const before = cpuSecondsOf(process.pid)
    spin(300)
    const used = cpuSecondsOf(process.pid) - before
    // /proc counts in 10 ms ticks: 300 ms of CPU shows as at least 0.2 s.
    expect(used).to.be.greaterThan(0.2)
  })

  it('is NaN for a process that does not exist', () => {
    expect(cpuSecondsOf(2 ** 30)).to.be.NaN
  })

  it('divides the CPU used during the work by its answers', async () => {
    const r = await cpuPerAnswer(process.pid, async () => {
      spin(300)
      return { requests: 1000 }
    })
    // >= 0.2 s over 1,000 answers is >= 200 µs each; the spin does not take 3 s of CPU.
    expect(r.cpuUsPerRequest).to.be.within(200, 3000)
    expect(r.requests).to.equal(1000)
  })
})
