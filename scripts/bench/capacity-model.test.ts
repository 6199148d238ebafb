import { expect } from 'chai'
import type { CapacityFigures } from './capacity/figures.js'
import { harmonicMean } from './capacity/figures.js'
import {
  averageRps,
  bottlenecks,
  classWithVcpu,
  DEFAULT_ASSUMPTIONS,
  modelLevel,
  perVcpuRps,
  type RegionInput,
} from './capacity/model.js'
import { formatRatios, ratioRows } from './ratios.js'
import { secondsToZeroShed, spikeProfile, tallyPhase, weightedPick } from './spike.js'

// Round numbers so every expectation can be checked by hand.
const figures: CapacityFigures = {
  measuredAt: '2026-01-01T00:00:00Z',
  source: 'test',
  machineCores: 2,
  instance: { vcpu: 2, poolMax: 10 },
  read: { rps: 2000, dbRoundTrips: 1, redisCommands: 2 },
  write: { rps: 200, dbRoundTrips: 1, writerRoundTrips: 1, redisCommands: 3 },
  database: { vcpu: 2, tpcbTps: 1000, selectTps: 10_000 },
}
const region = (stack: string, role: 'primary' | 'replica', readReplicas: number): RegionInput => ({
  stack,
  taskVcpu: 1,
  minTasks: 2,
  maxTasks: 50,
  cpuTarget: 50,
  poolMax: 10,
  db: { role, instanceClass: 'db.r6g.2xlarge', maxConnections: 5000, readReplicas },
  cache: { nodeType: 'cache.r7g.xlarge', shards: 2 },
})
const regions = [region('us-east', 'primary', 1), region('eu-west', 'replica', 0)]
const a = { ...DEFAULT_ASSUMPTIONS, requestsPerUserPerDay: 86.4, readsPerWrite: 9 }

describe('capacity model arithmetic', () => {
  it('mixes read and write capacity per vCPU by time (harmonic), not by average', () => {
    // 9 reads at 1000/s per vCPU and 1 write at 100/s per vCPU: 10 requests take 0.009 + 0.01 s.
    expect(perVcpuRps(figures, 9)).to.be.closeTo(10 / 0.019, 1e-9)
    expect(harmonicMean([100, 300])).to.equal(150)
  })

  it('turns daily users into request rates with the peak and spike factors', () => {
    expect(averageRps(1_000_000, a)).to.equal(1000)
    const spike = modelLevel('spike', 1_000_000, regions, figures, a)
    expect(spike.totalRps).to.equal(10_000)
    expect(spike.regions.map((r) => r.rps)).to.deep.equal([5000, 5000])
  })

  it("sizes tasks at the CPU target and counts both regions' pools against the writer", () => {
    const avg = modelLevel('average', 1_000_000, regions, figures, a)
    // 500 req/s per region / (526.3 req/s per vCPU x 1 vCPU x 50%) = 1.9 -> the floor of 2 tasks.
    expect(avg.regions.map((r) => r.tasks)).to.deep.equal([2, 2])
    const spike = modelLevel('spike', 1_000_000, regions, figures, a)
    expect(spike.regions.map((r) => r.tasks)).to.deep.equal([19, 19])
    expect(spike.writerConnections).to.equal(380)
    // Writes: 1000/s of TPC-B-like work on 8 vCPU at 500 tx/s per vCPU; reads stay on replicas.
    expect(spike.writerUtilization).to.be.closeTo(1000 / 4000, 1e-9)
    // 4500 reads/s on one replica per region at 5000 selects/s per vCPU x 8.
    expect(spike.regions[0]?.replicaUtilization).to.be.closeTo(4500 / 40_000, 1e-9)
    // (4500 x 2 + 500 x 3) Redis commands over 2 shards.
    expect(spike.regions[0]?.redisPerShard).to.equal(5250)
  })

  it('puts reads on the writer when the primary region has no replica', () => {
    const noReplica = [region('us-east', 'primary', 0), region('eu-west', 'replica', 0)]
    const spike = modelLevel('spike', 1_000_000, noReplica, figures, a)
    expect(spike.writerUtilization).to.be.closeTo(1000 / 4000 + 4500 / 40_000, 1e-9)
  })

  it('names the resource that runs out first and the config that fixes it', () => {
    const list = bottlenecks(10_000_000, regions, figures, a)
    const first = list[0]
    expect(first?.resource).to.match(/tasks/)
    expect(first?.change).to.include('blueprint:service.maxTasks 190')
    expect(list.map((b) => b.saturatesAtDau)).to.deep.equal(
      [...list.map((b) => b.saturatesAtDau)].sort((x, y) => x - y),
    )
    const writer = list.find((b) => b.resource.startsWith('writer load'))
    expect(writer?.utilization).to.be.closeTo(2.5, 1e-9)
    expect(writer?.change).to.include('db.r6g.8xlarge')
    expect(classWithVcpu('db.r6g.2xlarge', 65)).to.equal(undefined)
  })
})

describe('spike profile arithmetic', () => {
  it('runs at the base share of capacity, then factor x base, then base', () => {
    const phases = spikeProfile(1234, {
      baseShare: 0.1,
      factor: 10,
      baseSeconds: 10,
      spikeSeconds: 30,
      afterSeconds: 15,
    })
    expect(phases.map((p) => [p.rps, p.seconds])).to.deep.equal([
      [123, 10],
      [1230, 30],
      [123, 15],
    ])
  })

  it('tallies 503s apart from accepted answers and from failures', () => {
    const t = tallyPhase({ name: 'x', rps: 1, seconds: 1 }, [
      { status: 200, latencyMs: 10 },
      { status: 404, latencyMs: 20 },
      { status: 503, latencyMs: 1 },
      { status: 500, latencyMs: 5 },
      { status: 0, latencyMs: 10_000 },
    ])
    expect(t).to.deep.include({ sent: 5, accepted: 3, shed: 1, failed: 2, shedShare: 0.2 })
    expect(t.acceptedMs.max).to.equal(20)
  })

  it('measures the time back to zero 503s from the spike end by intended send time', () => {
    const samples = [
      { intendedMs: 900, status: 503 },
      { intendedMs: 1500, status: 503 },
      { intendedMs: 2500, status: 200 },
    ]
    expect(secondsToZeroShed(samples, 1000)).to.equal(0.5)
    expect(secondsToZeroShed(samples.slice(2), 1000)).to.equal(0)
  })

  it('picks routes in proportion to their weights', () => {
    const items = [
      { name: 'a', weight: 3 },
      { name: 'b', weight: 1 },
    ]
    const picks = Array.from({ length: 8 }, (_, i) => weightedPick(items, i).name)
    expect(picks.filter((p) => p === 'a')).to.have.length(6)
  })

  it('states each service ratio against its own anchor', () => {
    const rows = ratioRows({ bare: 1000, redis: 800, pg: 400, tpcb: 100 }, [
      { target: 'me', rps: 500, of: 'bare', goal: 0.5 },
      { target: 'write', rps: 70, of: 'tpcb', goal: 0.7 },
    ])
    expect(rows.find((r) => r.target === 'me')?.ratio).to.equal(0.5)
    expect(rows.find((r) => r.target === 'write')?.ratio).to.be.closeTo(0.7, 1e-9)
    expect(rows[2]?.ratio).to.equal(0.4)
  })

  it('judges a service ratio by the run of its anchor just before it, where there is one', () => {
    const rows = ratioRows({ bare: 1000, redis: 800, pg: 400, tpcb: 100 }, [
      { target: 'me', rps: 500, of: 'bare', anchorRps: 800, goal: 0.5 },
    ])
    expect(rows.find((r) => r.target === 'me')?.ratio).to.equal(0.625)
    expect(formatRatios(rows)).to.match(/me\s+500\s+0\.63 of bare\s+800\s+>= 0\.5\s*$/m)
  })
})
