// Run from the repository root by scripts/test.mjs (`npm test -- dr`).
module.exports = {
  spec: ['infra/dr/test/**/*.test.ts'],
  'node-option': ['import=tsx'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 30000,
}
