import { type ChildProcess, spawn } from 'node:child_process'
import { expect } from 'chai'
import type { ProbeSnapshot } from './probe-types.js'
import { askProbe, root, targetsFromEnv } from './service.js'

/** Counts from the probe, polled until `done` holds (after-response queries land a moment later). */
async function settled(child: ChildProcess, done: (s: ProbeSnapshot) => boolean): Promise<ProbeSnapshot> {
  let snap = await askProbe(child, 1, false)
  for (let i = 2; i < 40 && !done(snap); i++) {
    await new Promise((r) => setTimeout(r, 50))
    snap = await askProbe(child, i, false)
  }
  return snap
}

describe('db-probe: database round trips attributed to the request that sent them', function () {
  this.timeout(30_000)
  let child: ChildProcess
  let base: string

  before(async () => {
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './scripts/bench/db-probe.ts',
        'scripts/bench/fixtures/probe-server.ts',
      ],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: targetsFromEnv().adminUrl },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    )
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`fixture server exited with ${code}`)))
      child.on('message', (m: { type?: string; port?: number }) => {
        if (m.type === 'listening' && m.port) resolve(m.port)
      })
    })
    base = `http://127.0.0.1:${port}`
  })

  after(() => {
    child?.kill()
  })

  it('counts each query once for its own request, also when requests queue for one pooled connection', async () => {
    // Ten requests at once over a one-connection pool: most get their connection from another
    // request's release, the case AsyncLocalStorage alone would misattribute.
    await Promise.all([
      ...Array.from({ length: 5 }, () => fetch(`${base}/two?n=2`).then((r) => r.text())),
      ...Array.from({ length: 5 }, () => fetch(`${base}/three?n=3`).then((r) => r.text())),
      ...Array.from({ length: 2 }, () => fetch(`${base}/late?n=1&after=1`).then((r) => r.text())),
    ])
    const snap = await settled(child, (s) => (s.routes['GET /late']?.dbAfterResponse ?? 0) >= 2)

    expect(snap.routes['GET /two']).to.include({ requests: 5, dbBeforeResponse: 10, dbAfterResponse: 0 })
    expect(snap.routes['GET /three']).to.include({ requests: 5, dbBeforeResponse: 15, dbAfterResponse: 0 })
    expect(snap.routes['GET /late']).to.include({ requests: 2, dbBeforeResponse: 2, dbAfterResponse: 2 })
    // The start-up query ran outside any request.
    expect(snap.background.dbBeforeResponse).to.equal(1)
    expect(snap.routes['GET /late']?.statements).to.have.property('after: SELECT 1 AS after_response', 2)
  })

  it('counts the statements after a BEGIN apart: PostgreSQL counts the block as one transaction', async () => {
    await askProbe(child, 200, true)
    await fetch(`${base}/block?n=3&tx=1`).then((r) => r.text())
    await fetch(`${base}/plain?n=2`).then((r) => r.text())
    const snap = await askProbe(child, 201, false)
    // BEGIN, three SELECTs, COMMIT: five round trips, one transaction.
    expect(snap.routes['GET /block']).to.include({ dbBeforeResponse: 5, dbInTransaction: 4 })
    expect(snap.routes['GET /plain']).to.include({ dbBeforeResponse: 2, dbInTransaction: 0 })
  })

  it('starts from zero after a reset', async () => {
    await askProbe(child, 100, true)
    await fetch(`${base}/two?n=2`).then((r) => r.text())
    const snap = await askProbe(child, 101, false)
    expect(Object.keys(snap.routes)).to.deep.equal(['GET /two'])
    expect(snap.routes['GET /two']).to.include({ requests: 1, dbBeforeResponse: 2 })
    expect(snap.background.dbBeforeResponse).to.equal(0)
  })

  it('counts nothing while switched off, and counts again once switched back on', async () => {
    await askProbe(child, 300, true, false)
    await fetch(`${base}/two?n=2`).then((r) => r.text())
    const off = await askProbe(child, 301, true, true)
    expect(off.routes).to.deep.equal({})
    expect(off.background).to.include({ dbBeforeResponse: 0, connects: 0 })

    await fetch(`${base}/two?n=2`).then((r) => r.text())
    const on = await askProbe(child, 302, false)
    expect(on.routes['GET /two']).to.include({ requests: 1, dbBeforeResponse: 2 })
  })
})
