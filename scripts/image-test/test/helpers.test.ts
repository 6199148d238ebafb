import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { mirrorIn } from '../base-image.js'
import { containerEnv, healthcheckArgv, resolveUser, scriptArgv } from '../runtime.js'
import { layersAboveBase, parseDu, stepLabel } from '../size-report.js'

describe('image test: size accounting', () => {
  const base = [
    { createdBy: '/bin/sh -c #(nop)  CMD ["node"]', size: 0 },
    { createdBy: '/bin/sh -c #(nop) ADD file:abc in /', size: 220_000_000 },
  ]

  it('counts only the steps above the base image', () => {
    const image = [
      { createdBy: '/bin/sh -c #(nop) CMD ["node", "dist/src/server.js"]', size: 0 },
      { createdBy: '/bin/sh -c #(nop) COPY dir:aa in ./dist', size: 400_000 },
      { createdBy: '/bin/sh -c #(nop) COPY dir:bb in /srv/node_modules', size: 60_000_000 },
      ...base,
    ]
    const added = layersAboveBase(image, base)
    expect(added.bytes).to.equal(60_400_000)
    expect(added.steps).to.have.length(3)
  })

  it('refuses an image whose history does not end with the base', () => {
    const other = [
      { createdBy: 'COPY x', size: 1 },
      { createdBy: '/bin/sh -c #(nop) ADD file:zzz in /', size: 5 },
      { createdBy: '/bin/sh -c #(nop)  CMD ["node"]', size: 0 },
    ]
    expect(() => layersAboveBase(other, base)).to.throw(/not built on this base/)
    expect(() => layersAboveBase(base.slice(1), base)).to.throw(/more history/)
  })

  it('labels steps by instruction and destination, without content hashes', () => {
    const hash = 'f'.repeat(64)
    expect(stepLabel(`/bin/sh -c #(nop) COPY dir:${hash} in /srv/node_modules `)).to.equal(
      'COPY dir in /srv/node_modules',
    )
    expect(stepLabel('/bin/sh -c npm ci --omit=dev')).to.equal('RUN npm ci --omit=dev')
    expect(stepLabel(`RUN ${'x'.repeat(200)}`, 20)).to.have.length(20)
  })

  it('reads du output largest first and skips noise', () => {
    const rows = parseDu('10\tsrv/a\ndu: cannot read\n300\tsrv/node_modules/@prisma/client\n\n20\tsrv/b c\n')
    expect(rows.map((r) => r.path)).to.deep.equal(['srv/node_modules/@prisma/client', 'srv/b c', 'srv/a'])
    expect(rows[0]?.bytes).to.equal(300)
  })
})

describe('image test: running what the image declares', () => {
  let root: string
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'image-test-unit-'))
    mkdirSync(join(root, 'etc'))
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n',
    )
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\napp:x:2000:\n')
  })
  after(() => rmSync(root, { recursive: true, force: true }))

  it('resolves USER names and groups in the image, not on the host', () => {
    expect(resolveUser(root, '1000:1000')).to.deep.equal({ spec: '1000:1000', home: '/home/node' })
    expect(resolveUser(root, 'node')).to.deep.equal({ spec: '1000:1000', home: '/home/node' })
    expect(resolveUser(root, 'node:app').spec).to.equal('1000:2000')
    expect(resolveUser(root, '').spec).to.equal('0:0')
    // A numeric uid needs no passwd entry, as with Docker.
    expect(resolveUser(root, '4242').spec).to.equal('4242:4242')
    expect(() => resolveUser(root, 'ghost')).to.throw(/not in the image/)
    expect(() => resolveUser(root, 'node:ghosts')).to.throw(/group "ghosts"/)
  })

  it('gives the process the image ENV plus the run’s, and nothing from the host', () => {
    process.env.IMAGE_TEST_HOST_ONLY = 'leak'
    try {
      const env = containerEnv(
        { env: ['PATH=/usr/local/bin:/bin', 'PORT=3000', 'HOME=/srv'] },
        '/home/node',
        {
          PORT: '4567',
        },
      )
      expect(env).to.deep.equal({
        HOSTNAME: 'image-test',
        HOME: '/srv',
        PATH: '/usr/local/bin:/bin',
        PORT: '4567',
      })
    } finally {
      delete process.env.IMAGE_TEST_HOST_ONLY
    }
  })

  it('runs a package script as plain argv and refuses one that needs a shell', () => {
    expect(scriptArgv('node  dist/src/db/migrate-cli.js', 'db:migrate')).to.deep.equal([
      'node',
      'dist/src/db/migrate-cli.js',
    ])
    expect(() => scriptArgv('npm run build && node x.js', 'db:migrate')).to.throw(/needs a shell/)
    expect(() => scriptArgv(undefined, 'db:migrate')).to.throw(/no db:migrate/)
  })

  it('runs HEALTHCHECK CMD directly and CMD-SHELL through /bin/sh', () => {
    expect(healthcheckArgv(['CMD', 'node', '-e', '1'])).to.deep.equal(['node', '-e', '1'])
    expect(healthcheckArgv(['CMD-SHELL', 'curl -f localhost || exit 1'])).to.deep.equal([
      '/bin/sh',
      '-c',
      'curl -f localhost || exit 1',
    ])
  })
})

describe('image test: stand-in base', () => {
  it('finds the Debian mirror apt uses, in either source format', () => {
    expect(mirrorIn('Types: deb\nURIs: http://mirror.local/debian\nSuites: bookworm\n')).to.equal(
      'http://mirror.local/debian',
    )
    expect(mirrorIn('deb [arch=amd64] http://m.example/debian bookworm main\n')).to.equal(
      'http://m.example/debian',
    )
    expect(mirrorIn('deb https://packages.cloud.google.com/apt cloud-sdk main\n')).to.equal(undefined)
  })
})
