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
    runner.on(EVENT_TEST_PASS, () => passed++)
    runner.on(EVENT_TEST_PENDING, () => skipped++)
    // A failing hook fails the run without failing a test; count it so it cannot hide.
    runner.on(EVENT_TEST_FAIL, () => failed++)
    runner.once(EVENT_RUN_END, () => {
      const suite = process.env.TEST_SUITE_NAME ?? 'mocha'
      const file = process.env.TEST_SUMMARY_FILE
      if (file) fs.appendFileSync(file, `${JSON.stringify({ suite, passed, failed, skipped })}\n`)
      console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
    })
  }
}

module.exports = SummaryReporter
