import { spawn } from 'node:child_process'
import { expect } from 'chai'

// The real thing: build the Dockerfile, migrate, serve, check health, API, HEALTHCHECK, SIGTERM and
// the size budget (scripts/image-test/main.ts, the same program `npm run image:test` runs).
describe('image test: the built image', () => {
  it('builds, migrates, serves, stops cleanly and fits the size budget', async function () {
    // The program bounds itself (IMAGE_TEST_TIMEOUT_S, default 1500 s); this only backs it up.
    this.timeout(1_700_000)
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/image-test/main.ts'], {
        stdio: 'inherit',
      })
      child.once('error', reject)
      child.once('close', resolve)
    })
    expect(code, 'npm run image:test exit code (its output above says which check failed)').to.equal(0)
  })
})
