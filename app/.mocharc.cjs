// Run from the repository root by scripts/test.mjs (`npm test -- app`).
module.exports = {
  spec: ['app/test/**/*.test.ts'],
  'node-option': ['import=tsx'],
  // Root hooks: per-run database (migrated) and Redis prefix, removed afterwards.
  require: ['app/test/helpers/setup.ts'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 30000,
}
