// The property-based fuzzer of every OpenAPI operation (`npm test -- fuzz`); see openapi.fuzz.ts.
module.exports = {
  spec: ['app/test/fuzz/**/*.fuzz.ts'],
  'node-option': ['import=tsx'],
  require: ['app/test/helpers/setup.ts'],
  reporter: './scripts/mocha-reporter.cjs',
  timeout: 120000,
}
