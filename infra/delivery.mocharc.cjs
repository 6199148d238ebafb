// Delivery guard rails (workflows, policy pack, cost report). Run from the repository root by
// scripts/test.mjs (`npm test -- delivery`).
module.exports = {
  spec: ['infra/workflows/**/*.test.ts', 'infra/policy/**/*.test.ts', 'infra/cost/**/*.test.ts'],
  'node-option': ['import=tsx'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 60000,
}
