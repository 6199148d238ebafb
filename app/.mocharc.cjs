// Run from the repository root by scripts/test.mjs (`npm test -- app`).
module.exports = {
  spec: ['app/test/**/*.test.ts'],
  'node-option': ['import=tsx'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 30000,
}
