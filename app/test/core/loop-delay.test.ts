import { expect } from 'chai'
import { LOOP_RESOLUTION_MS, LoopDelay } from '../../src/platform/loop-delay.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const options = { limitMs: 50, sampleIntervalMs: 100, manual: true }

/** Turns of a healthy loop, one per resolution, from `from` (exclusive) to `to`. */
function healthy(loop: LoopDelay, from: number, to: number): void {
  for (let t = from + LOOP_RESOLUTION_MS; t <= to; t += LOOP_RESOLUTION_MS) loop.turn(t)
}

describe('event-loop delay over consecutive samples', () => {
  it('does not count one stall as overload, however long', () => {
    const loop = new LoopDelay(options, 0)
    healthy(loop, 0, 100)
    expect(loop.delayMs).to.equal(0)
    // The loop blocked for 2 s: the next turn comes late and closes the sample.
    loop.turn(2100)
    expect(loop.delayMs).to.be.above(1000)
    expect(loop.overloaded).to.equal(false)
    healthy(loop, 2100, 2200)
    expect(loop.overloaded).to.equal(false)
    expect(loop.delayMs).to.equal(0)
  })

  it('is overloaded while every turn is late for the samples asked, and recovers', () => {
    const loop = new LoopDelay(options, 0)
    // Each turn 120 ms late: a loop busy with requests.
    loop.turn(130)
    expect(loop.overloaded).to.equal(false)
    loop.turn(260)
    expect(loop.overloaded).to.equal(true)
    loop.turn(390)
    expect(loop.overloaded).to.equal(true)
    healthy(loop, 390, 490)
    expect(loop.overloaded).to.equal(false)
  })

  it('weighs a turn by how long it lasted: a short hiccup among healthy turns is not over', () => {
    const loop = new LoopDelay(options, 0)
    healthy(loop, 0, 50)
    loop.turn(130) // 70 ms late
    healthy(loop, 130, 200)
    expect(loop.delayMs).to.be.below(50)
    healthy(loop, 200, 300)
    expect(loop.overloaded).to.equal(false)
  })

  it('sees a loop stalled most of the time although most firings are on time', () => {
    const loop = new LoopDelay(options, 0)
    // Three on-time firings, then one 80 ms late, again and again: 20 ms per firing, but a moment
    // picked at random most likely falls in the late turn.
    let t = 0
    for (let sample = 0; sample < 2; sample++) {
      healthy(loop, t, t + 30)
      t += 30 + LOOP_RESOLUTION_MS + 80
      loop.turn(t)
    }
    expect(loop.delayMs).to.be.closeTo((80 * 90) / 120, 0.001)
    expect(loop.overloaded).to.equal(true)
    expect(loop.takePeakMs()).to.be.closeTo(60, 0.001)
    expect(loop.takePeakMs()).to.equal(0)
  })

  it('with one sample asked, sheds on the first one over (what under-pressure does)', () => {
    const loop = new LoopDelay({ ...options, samples: 1 }, 0)
    loop.turn(500)
    expect(loop.overloaded).to.equal(true)
  })

  describe('on its own timer', () => {
    let loop: LoopDelay | undefined
    afterEach(() => loop?.close())

    it('turns overloaded under a hogged loop and not after one long block', async () => {
      loop = new LoopDelay({ limitMs: 30, sampleIntervalMs: 50 })
      await sleep(120)
      const until = performance.now() + 400
      while (performance.now() < until) {}
      // Seen on every turn after the block, for several samples.
      const seen: boolean[] = []
      const watch = setInterval(() => seen.push(loop?.overloaded === true), 5)
      await sleep(300)
      clearInterval(watch)
      expect(loop.delayMs).to.be.below(30)
      expect(seen).to.not.include(true)

      const hog = setInterval(() => {
        const end = performance.now() + 60
        while (performance.now() < end) {}
      }, 1)
      try {
        const deadline = Date.now() + 3000
        while (!loop.overloaded && Date.now() < deadline) await sleep(5)
        expect(loop.overloaded).to.equal(true)
      } finally {
        clearInterval(hog)
      }
    })
  })
})
