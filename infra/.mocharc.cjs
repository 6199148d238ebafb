// Run from the repository root by scripts/test.mjs (`npm test -- infra`).
module.exports = {
  spec: ['infra/test/**/*.test.ts'],
  'node-option': ['import=tsx'],
  // Installs Pulumi mocks and the stack-trace speedups before any spec imports the program.
  require: ['infra/test/setup.ts'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 30000,
}
