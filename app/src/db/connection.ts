import type pg from 'pg'
import { parseIntoClientConfig } from 'pg-connection-string'
import { iamPassword, type TokenSigner } from './iam-auth.js'
import { TLS_URL_PARAMS, tlsOptions } from './tls.js'

/**
 * Where and as whom pg connects, and over what TLS (tls.ts: verify-full against the RDS CAs whenever the URL
 * asks for TLS). The URL is parsed here rather than handed to pg as `connectionString`, because pg lets a
 * parsed connectionString override explicit fields: its TLS options would replace ours, and an IAM URL's empty
 * password would replace the token callback.
 */
export function connectionConfig(url: string, iamAuth: boolean, sign?: TokenSigner): pg.ClientConfig {
  const ssl = tlsOptions(url)
  const u = new URL(url)
  for (const param of TLS_URL_PARAMS) u.searchParams.delete(param)
  const { password, ssl: _parsed, ...parsed } = parseIntoClientConfig(u.toString())
  return {
    ...(parsed as pg.ClientConfig),
    ssl,
    password: iamAuth ? iamPassword(url, sign) : (password ?? undefined),
  }
}
