import { CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import { RDSClient } from '@aws-sdk/client-rds'
import { Route53Client } from '@aws-sdk/client-route-53'
import { SSMClient } from '@aws-sdk/client-ssm'

/** The regional clients one site needs. */
export interface RegionClients {
  rds: RDSClient
  cloudwatch: CloudWatchClient
  ssm: SSMClient
}

/** Every AWS client the command uses, injected so tests pass mocked instances. */
export interface DrClients {
  forRegion(region: string): RegionClients
  /** Route 53 is global; its API lives in us-east-1. */
  route53: Route53Client
}

/**
 * Real clients from the default credential chain (AWS_PROFILE, SSO, instance role).
 * The SDK's own retries are off: throttling is retried by `withRetry` so every retry shows in the log,
 * and a non-idempotent call such as PromoteReadReplica is never silently resent after a server fault.
 */
export function createClients(): DrClients {
  const cache = new Map<string, RegionClients>()
  // A region that is down often blackholes connections instead of refusing them; without timeouts a
  // status or preflight would hang exactly when it is needed.
  const options = (region: string) => ({
    region,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000, throwOnRequestTimeout: true },
  })
  return {
    forRegion(region) {
      let clients = cache.get(region)
      if (!clients) {
        clients = {
          rds: new RDSClient(options(region)),
          cloudwatch: new CloudWatchClient(options(region)),
          ssm: new SSMClient(options(region)),
        }
        cache.set(region, clients)
      }
      return clients
    },
    route53: new Route53Client(options('us-east-1')),
  }
}
