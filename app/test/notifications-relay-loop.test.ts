import { expect } from 'chai'
import pino from 'pino'
import { OutboxRelay, type RelayOptions } from '../src/features/notifications/relay.js'

/** The relay's loop with its database run replaced: records when runs start, answers `moved`. */
class RecordingRelay extends OutboxRelay {
  readonly starts: number[] = []
  constructor(
    options: Partial<RelayOptions>,
    private readonly moved: () => number = () => 1,
  ) {
    super(
      () => {
        throw new Error('no database in this test')
      },
      async () => 0,
      { intervalMs: 10_000, batchSize: 100, kickGapMs: 20, ...options },
      pino({ level: 'silent' }),
    )
  }
  override async runOnce(): Promise<number> {
    this.starts.push(Date.now())
    await new Promise((r) => setTimeout(r, 2))
    return this.moved()
  }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Kicks every 5 ms for `ms`, like a write load on this instance. */
async function kickFor(relay: OutboxRelay, ms: number) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    relay.kick()
    await wait(5)
  }
}

describe('outbox relay loop: runs under a stream of kicks', () => {
  let relay: RecordingRelay | undefined
  afterEach(async () => {
    await relay?.stop()
    relay = undefined
  })

  it('relays a lone write at once, even when the idle poll is far off', async () => {
    relay = new RecordingRelay({ kickGapMs: 30 })
    relay.start()
    await wait(100)
    expect(relay.starts).to.have.length(1)
    const kicked = Date.now()
    relay.kick()
    await wait(20)
    expect(relay.starts).to.have.length(2)
    expect((relay.starts[1] as number) - kicked).to.be.below(60)
  })

  it('holds a kick that comes within the gap until the gap has passed', async () => {
    relay = new RecordingRelay({ kickGapMs: 150 })
    relay.start()
    await wait(50)
    relay.kick()
    await wait(50)
    expect(relay.starts, 'held').to.have.length(1)
    await wait(200)
    expect(relay.starts, 'run after the gap').to.have.length(2)
    expect((relay.starts[1] as number) - (relay.starts[0] as number)).to.be.at.least(145)
  })

  it('spaces kicked runs by the gap, so one run carries many writes', async () => {
    relay = new RecordingRelay({ kickGapMs: 100 })
    relay.start()
    await wait(20)
    await kickFor(relay, 1000)
    const gaps = relay.starts.slice(1).map((t, i) => t - (relay?.starts[i] as number))
    // Timers fire a millisecond or so early; none comes close to back to back (2 ms here).
    expect(Math.min(...gaps.slice(1))).to.be.at.least(95)
    expect(relay.starts.length).to.be.within(5, 13)
  })

  it('runs back to back with a gap of 0', async () => {
    relay = new RecordingRelay({ kickGapMs: 0 })
    relay.start()
    await kickFor(relay, 300)
    expect(relay.starts.length).to.be.above(30)
  })

  it('drains a backlog without waiting: a full batch runs again at once', async () => {
    let left = 5
    relay = new RecordingRelay({ kickGapMs: 500, batchSize: 10 }, () => (left-- > 0 ? 10 : 0))
    relay.start()
    relay.kick()
    await wait(100)
    expect(relay.starts).to.have.length(6)
  })

  it('backs off after a failed run although kicks keep coming', async () => {
    relay = new RecordingRelay({ kickGapMs: 20, intervalMs: 100 }, () => {
      throw new Error('database away')
    })
    relay.start()
    await kickFor(relay, 500)
    // Kicks wake the backoff (a write means the database is back), but runs keep the gap.
    expect(relay.starts.length).to.be.within(2, 27)
  })

  it('stops promptly in the middle of a gap', async () => {
    relay = new RecordingRelay({ kickGapMs: 1000 })
    relay.start()
    await wait(20)
    relay.kick()
    await wait(20)
    relay.kick()
    const stopping = Date.now()
    await relay.stop()
    expect(Date.now() - stopping).to.be.below(100)
  })
})
