// Run from the repository root by scripts/test.mjs (`npm test -- image`): the pure parts first,
// then the real build-and-run (image.e2e.test.ts), which takes minutes.
module.exports = {
  spec: ['scripts/image-test/test/*.test.ts'],
  'node-option': ['import=tsx'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 30000,
}
