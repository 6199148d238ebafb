/**
 * TLS to PostgreSQL verifies the server: chain and host name. A real PostgreSQL with ssl=on, its certificate
 * signed by a CA made here with openssl: the shipped RDS bundle does not know that CA (refused), the test CA
 * named by sslrootcert does (accepted), and a host name the certificate does not cover is refused.
 */
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'chai'
import pg from 'pg'
import { LocalCluster, ownByPostgres, removeDir, scratchDir } from '../../scripts/kit/index.js'
import { connectionConfig } from '../src/db/connection.js'
import { applyMigrations } from '../src/db/migrate.js'
import { RDS_CA_BUNDLE, tlsOptions } from '../src/db/tls.js'
import { services } from './helpers/services.js'

const migrationsDir = new URL('../../prisma/migrations', import.meta.url).pathname
const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' })

/** A test CA and a server certificate it signs, valid for 127.0.0.1 only (not for "localhost"). */
function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=blueprint test CA'].concat(
      ['-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE'],
      ['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ),
    dir,
  )
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key'].concat([
      '-out',
      'server.csr',
    ]),
    dir,
  )
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-days',
      '2',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ]),
    dir,
  )
  for (const f of ['server.key', 'server.pem', 'ca.pem']) ownByPostgres(join(dir, f), 0o600)
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') }
}

/** Connects with the service's own config for `url` and reports whether the session runs over TLS. */
async function connect(url: string): Promise<boolean> {
  const client = new pg.Client({ ...connectionConfig(url, false), connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    const { rows } = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    return rows[0]?.ssl === true
  } finally {
    await client.end()
  }
}

/** The error code a failed connection ends with (OpenSSL's for certificate failures). */
async function failure(url: string): Promise<string> {
  try {
    await connect(url)
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message)
  }
  return 'connected'
}

describe('PostgreSQL TLS verifies the server (RDS CA bundle, verify-full)', function () {
  this.timeout(60_000)
  let dir: string
  let server: LocalCluster
  let caFile: string
  const url = (host: string, query: string) =>
    `postgresql://postgres@${host}:${server.port}/postgres?${query}`

  before(async () => {
    dir = scratchDir('tls-test')
    const certs = makeCertificates(dir)
    caFile = certs.caFile
    server = await LocalCluster.create(dir, 'tls', {
      fsync: 'off',
      ssl: 'on',
      ssl_cert_file: `'${certs.certFile}'`,
      ssl_key_file: `'${certs.keyFile}'`,
    })
    await server.start()
  })

  after(async () => {
    await server?.stopQuietly()
    if (dir) removeDir(dir)
  })

  it('ships the RDS CAs of both regions and hands them to every verify-full connection to RDS', () => {
    const subjects = RDS_CA_BUNDLE.map((pem) => new X509Certificate(pem).subject)
    for (const region of ['us-east-1', 'eu-west-1']) {
      // The default CA of new RDS instances (rds-ca-rsa2048-g1), per region.
      expect(subjects.filter((s) => s.includes(`CN=Amazon RDS ${region} Root CA RSA2048 G1`))).to.have.length(
        1,
      )
    }
    // The Amazon Trust Services roots (RDS Proxy) sign public ACM certificates: not trusted here.
    expect(subjects.some((s) => s.startsWith('CN=Amazon Root CA'))).to.equal(false)
    const writer =
      'postgresql://blueprint_app@blueprint-us-east-db.c9akciq32.us-east-1.rds.amazonaws.com:5432/blueprint?sslmode=verify-full'
    const config = connectionConfig(writer, true, async () => 'token')
    expect(config.ssl).to.deep.equal({ ca: [...RDS_CA_BUNDLE], rejectUnauthorized: true })
    expect(config).to.not.have.property('connectionString')
  })

  it('refuses the server with the RDS bundle: its CA is not an RDS CA', async () => {
    expect(await failure(url('127.0.0.1', 'sslmode=verify-full'))).to.equal('UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  })

  it('connects over TLS when sslrootcert names the CA that signed the server', async () => {
    expect(await connect(url('127.0.0.1', `sslmode=verify-full&sslrootcert=${caFile}`))).to.equal(true)
  })

  it('refuses a host name the certificate does not cover, even with the right CA', async () => {
    // The certificate is for 127.0.0.1; "localhost" reaches the same server but is not in it.
    expect(await failure(url('localhost', `sslmode=verify-full&sslrootcert=${caFile}`))).to.equal(
      'ERR_TLS_CERT_ALTNAME_INVALID',
    )
  })

  it('treats sslmode=require as verify-full (libpq would not verify at all)', async () => {
    expect(await failure(url('localhost', `sslmode=require&sslrootcert=${caFile}`))).to.equal(
      'ERR_TLS_CERT_ALTNAME_INVALID',
    )
    expect(await failure(url('127.0.0.1', 'sslmode=require'))).to.equal('UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  })

  it('runs migrations over the same verified TLS', async () => {
    const created = new pg.Client({
      ...connectionConfig(url('127.0.0.1', `sslmode=verify-full&sslrootcert=${caFile}`), false),
    })
    await created.connect()
    await created.query(`CREATE DATABASE "${services.databaseName}"`)
    await created.end()
    const dbUrl = `postgresql://postgres@127.0.0.1:${server.port}/${services.databaseName}?sslmode=verify-full`
    let refused = ''
    await applyMigrations({ databaseUrl: dbUrl, migrationsDir }).catch((err: { code?: string }) => {
      refused = String(err.code)
    })
    expect(refused).to.equal('UNABLE_TO_VERIFY_LEAF_SIGNATURE')
    const { applied } = await applyMigrations({
      databaseUrl: `${dbUrl}&sslrootcert=${caFile}`,
      migrationsDir,
    })
    expect(applied.length).to.be.greaterThan(0)
  })

  it('never connects without verification: modes that skip it and plain TCP to RDS are refused up front', () => {
    for (const mode of ['no-verify', 'prefer', 'allow']) {
      expect(() => tlsOptions(url('127.0.0.1', `sslmode=${mode}`)), mode).to.throw(/verify-full/)
    }
    expect(() =>
      tlsOptions('postgresql://blueprint_app@x.c9akciq32.eu-west-1.rds.amazonaws.com:5432/blueprint'),
    ).to.throw(/requires TLS/)
    // Local development: a URL without sslmode is plain TCP to a local server, by config.
    expect(tlsOptions('postgresql://postgres@127.0.0.1:5432/dev')).to.equal(false)
  })
})
