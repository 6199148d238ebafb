// Mocha's spec output plus the plain closing line CI reads ("N passed, N failed"), and a JSON
// tally appended to $TEST_SUMMARY_FILE so scripts/test.mjs can add up several suites.
const fs = require('node:fs')
const Mocha = require('mocha')

const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    let passed = 0
    let failed = 0
    let skipped = 0
    const failures = []
    runner.on(EVENT_TEST_PASS, () => passed++)
    runner.on(EVENT_TEST_PENDING, () => skipped++)
    // A failing hook fails the run without failing a test; count it so it cannot hide.
    runner.on(EVENT_TEST_FAIL, (test, err) => {
      failed++
      // Named again at the very end of the run: a CI log is often read from its tail only.
      failures.push(
        `${test.fullTitle()}: ${String(err?.message ?? err)
          .split('\n')[0]
          .slice(0, 300)}`,
      )
    })
    runner.once(EVENT_RUN_END, () => {
      const suite = process.env.TEST_SUITE_NAME ?? 'mocha'
      const file = process.env.TEST_SUMMARY_FILE
      if (file) fs.appendFileSync(file, `${JSON.stringify({ suite, passed, failed, skipped, failures })}\n`)
      console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
    })
  }
}

module.exports = SummaryReporter
