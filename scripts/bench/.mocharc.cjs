// Unit tests of the benchmark's pure helpers (no latency is asserted anywhere): `npm test -- bench`.
module.exports = {
  spec: ['scripts/bench/**/*.test.ts'],
  'node-option': ['import=tsx'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 10000,
}
