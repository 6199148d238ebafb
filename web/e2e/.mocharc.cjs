// The browser journey (`npm test -- e2e`): real service process, PostgreSQL, Redis, s3rver, the
// built web app and Debian's chromium through playwright-core. Steps share state, so stop at the first failure.
module.exports = {
  spec: ['web/e2e/**/*.test.ts'],
  'node-option': ['import=tsx'],
  require: ['app/test/helpers/setup.ts'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 30000,
  bail: true,
}
