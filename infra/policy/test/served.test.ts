// The pack as the Pulumi CLI runs it: index.ts in its own process serving the analyzer gRPC
// protocol, called with engine-shaped requests (protobuf Structs, resource options, provider).
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type * as grpcTypes from '@grpc/grpc-js'
import type { AnalyzerClient as Client } from '@pulumi/pulumi/proto/analyzer_grpc_pb.js'
import type * as A from '@pulumi/pulumi/proto/analyzer_pb.js'
import { expect } from 'chai'
import { guardrails, PACK_NAME } from '../policies.js'
import { TAGS } from './fixture.js'

// Generated protobuf modules are CommonJS without static exports; load them as the pack does.
const require = createRequire(import.meta.url)
const grpc = require('@grpc/grpc-js') as typeof grpcTypes
const pb = require('@pulumi/pulumi/proto/analyzer_pb') as typeof A
const { AnalyzerClient } = require('@pulumi/pulumi/proto/analyzer_grpc_pb') as {
  AnalyzerClient: typeof Client
}
const { Struct } = require('google-protobuf/google/protobuf/struct_pb') as {
  Struct: {
    fromJavaScript(
      o: Record<string, unknown>,
    ): A.AnalyzeRequest['getProperties'] extends () => infer S ? S : never
  }
}
const { Empty } = require('google-protobuf/google/protobuf/empty_pb') as { Empty: new () => unknown }

const PACK_DIR = join(process.cwd(), 'infra', 'policy')
const MANDATORY = 1 // pulumirpc.EnforcementLevel.MANDATORY
const urn = (type: string, name: string) => `urn:pulumi:test::blueprint::${type}::${name}`

function provider() {
  return new pb.AnalyzerProviderResource()
    .setType('pulumi:providers:aws')
    .setName('regional')
    .setUrn(urn('pulumi:providers:aws', 'regional'))
    .setProperties(
      Struct.fromJavaScript({ region: 'us-east-1', defaultTags: JSON.stringify({ tags: TAGS }) }),
    )
}

function request(type: string, name: string, props: Record<string, unknown>) {
  return new pb.AnalyzeRequest()
    .setType(type)
    .setName(name)
    .setUrn(urn(type, name))
    .setProperties(Struct.fromJavaScript(props))
    .setOptions(new pb.AnalyzerResourceOptions())
    .setProvider(provider())
}

function stackResource(type: string, name: string, props: Record<string, unknown>, parent?: string) {
  const r = new pb.AnalyzerResource()
    .setType(type)
    .setName(name)
    .setUrn(urn(type, name))
    .setProperties(Struct.fromJavaScript(props))
    .setOptions(new pb.AnalyzerResourceOptions())
    .setProvider(provider())
  return parent ? r.setParent(parent) : r
}

const call = <Req, Res>(fn: (req: Req, cb: (e: Error | null, res: Res) => void) => unknown, req: Req) =>
  new Promise<Res>((resolve, reject) => fn(req, (e, res) => (e ? reject(e) : resolve(res))))

describe('policy pack: served over gRPC as the Pulumi CLI runs it', () => {
  let child: ChildProcess | undefined
  let client: Client

  before(async function () {
    this.timeout(60_000)
    const proc = spawn(process.execPath, ['--import=tsx', 'index.ts'], {
      cwd: PACK_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = proc
    // The analyzer prints the port it listens on, which is how the CLI finds it.
    const port = await new Promise<number>((resolve, reject) => {
      let err = ''
      proc.stderr?.on('data', (d) => {
        err += String(d)
      })
      proc.stdout?.on('data', (d) => {
        const m = String(d).match(/^(\d+)\s*$/m)
        if (m) resolve(Number(m[1]))
      })
      proc.on('exit', (code) => reject(new Error(`policy pack exited ${code}: ${err}`)))
    })
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  })

  after(() => {
    client?.close()
    if (child?.pid) child.kill()
  })

  it('announces every guard rail, mandatory, under the pack name', async () => {
    const info = await call<unknown, A.AnalyzerInfo>(
      client.getAnalyzerInfo.bind(client) as never,
      new Empty(),
    )
    expect(info.getName()).to.equal(PACK_NAME)
    const policies = info.getPoliciesList()
    expect(policies.map((p) => p.getName())).to.deep.equal(guardrails.map((p) => p.name))
    expect(policies.every((p) => p.getEnforcementlevel() === MANDATORY)).to.equal(true)
  })

  it('passes a compliant database and reports a single-AZ one as a mandatory violation', async () => {
    const good = {
      engine: 'postgres',
      instanceClass: 'db.r6g.2xlarge',
      storageEncrypted: true,
      multiAz: true,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      parameterGroupName: 'pg',
    }
    const analyze = client.analyze.bind(client) as never
    const ok = await call<A.AnalyzeRequest, A.AnalyzeResponse>(
      analyze,
      request('aws:rds/instance:Instance', 'db', good),
    )
    expect(ok.getDiagnosticsList().map((d) => d.getMessage())).to.deep.equal([])
    const bad = { ...good, multiAz: false }
    const res = await call<A.AnalyzeRequest, A.AnalyzeResponse>(
      analyze,
      request('aws:rds/instance:Instance', 'db', bad),
    )
    const diags = res.getDiagnosticsList()
    expect(diags.map((d) => d.getPolicyname())).to.deep.equal(['rds-multi-az'])
    expect(diags[0]?.getEnforcementlevel()).to.equal(MANDATORY)
  })

  it('runs stack rules over engine resources: a bucket whose companions are missing', async () => {
    const bucket = stackResource('aws:s3/bucket:Bucket', 'uploads', { bucket: 'bp-uploads' })
    const sse = stackResource(
      'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
      'uploads',
      { bucket: 'bp-uploads', rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] },
      bucket.getUrn(),
    )
    const req = new pb.AnalyzeStackRequest().setResourcesList([bucket, sse])
    const res = await call<A.AnalyzeStackRequest, A.AnalyzeResponse>(
      client.analyzeStack.bind(client) as never,
      req,
    )
    const fired = [...new Set(res.getDiagnosticsList().map((d) => d.getPolicyname()))].sort()
    expect(fired).to.deep.equal(['s3-public-access-blocked', 's3-tls-only'])
  })
})
