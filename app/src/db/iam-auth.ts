/**
 * IAM database authentication: instead of a password, each new connection presents a token signed with the
 * task role's credentials. Signing is local SigV4 (no AWS call), so it works in the DR region while another
 * region's APIs are down, and there is no database password to store, rotate or leak.
 */
import { Signer } from '@aws-sdk/rds-signer'

/** Signs a token for one database user at one endpoint. */
export type TokenSigner = (target: {
  hostname: string
  port: number
  username: string
  region: string
}) => Promise<string>

const defaultSigner: TokenSigner = (target) => new Signer(target).getAuthToken()

/** AWS region of an RDS endpoint (`<id>.<hash>.<region>.rds.amazonaws.com`): tokens are signed for it. */
export function rdsRegion(hostname: string): string {
  const match = /\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com$/.exec(hostname)
  if (!match?.[1]) throw new Error(`not an RDS endpoint, cannot sign an IAM token for it: ${hostname}`)
  return match[1]
}

/**
 * A pg `password` callback for `url` (user, host and port are taken from it): a fresh token per connection,
 * as tokens expire after 15 minutes. The region is the database's, which for the cross-region writer differs
 * from the task's own.
 */
export function iamPassword(url: string, sign: TokenSigner = defaultSigner): () => Promise<string> {
  const u = new URL(url)
  const target = {
    hostname: u.hostname,
    port: Number(u.port || 5432),
    username: decodeURIComponent(u.username),
    region: rdsRegion(u.hostname),
  }
  return () => sign(target)
}
