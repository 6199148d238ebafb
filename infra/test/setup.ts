// Loaded by mocha before any spec (infra/.mocharc.cjs `require`).
import * as pulumi from '@pulumi/pulumi'
import { AwsMocks } from '../plan/mocks.js'

// Pulumi captures a stack trace per internal promise; with source maps on, each one costs a lot.
;(Error as unknown as { prepareStackTrace?: unknown }).prepareStackTrace = undefined
process.setSourceMapsEnabled(false)

// Mocks must be in place before anything constructs a resource, or registrations go nowhere and every assertion
// passes vacuously. Each build (plan/inventory.ts) re-installs mocks for its own stack and captures registrations.
await pulumi.runtime.setMocks(new AwsMocks('us-east-1', () => ({})), 'blueprint', 'us-east', false)
