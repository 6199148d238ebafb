import * as aws from '@pulumi/aws'
import type * as pulumi from '@pulumi/pulumi'
import { expect } from 'chai'
import { harmful, replacements } from '../plan/checks/replacement.js'
import { getObject, unreadable } from '../plan/checks/storage.js'
import { buildStack, runUnderMocks } from '../plan/inventory.js'
import { setOrder } from '../plan/mocks.js'
import { add, bothStacks, named, real } from './model-fixtures.js'

const NAMES = ['api.eu-west.blueprint.example.com', 'api.blueprint.example.com']

/** A certificate for both names, validated with the records at `pick` (by position or by name). */
function certificateProgram(
  pick: (options: aws.types.output.acm.CertificateDomainValidationOption[]) => string[],
) {
  return () => {
    const cert = new aws.acm.Certificate('cert', {
      domainName: NAMES[0] as string,
      subjectAlternativeNames: NAMES.slice(1),
      validationMethod: 'DNS',
    })
    const fqdns = cert.domainValidationOptions.apply((o) => pick(o).map((n) => n.replace(/\.$/, '')))
    new aws.acm.CertificateValidation('cert-validation', {
      certificateArn: cert.arn,
      validationRecordFqdns: fqdns,
    })
    return { arn: cert.arn as pulumi.Output<string> }
  }
}

describe('offline model: provider semantics in the mocks', () => {
  it('returns domainValidationOptions in set order, not declaration order', () => {
    const ordered = setOrder(NAMES.map((domainName) => ({ domainName })))
    expect(ordered.map((o) => o.domainName)).to.not.deep.equal(NAMES)
    expect(ordered.map((o) => o.domainName)).to.have.members(NAMES)
  })

  it('fails a CertificateValidation whose FQDNs miss a name of its certificate (the record picked by position)', async () => {
    const byPosition = certificateProgram((o) => [o[0]?.resourceRecordName ?? ''])
    let error: Error | undefined
    await runUnderMocks('eu-west', {}, byPosition).catch((e: Error) => {
      error = e
    })
    expect(error?.message).to.match(
      /missing api\.eu-west\.blueprint\.example\.com DNS validation record: _\w+\.api\.eu-west/,
    )
  })

  it('accepts a CertificateValidation that lists the record of every name', async () => {
    const everyName = certificateProgram((o) =>
      NAMES.map((n) => o.find((x) => x.domainName === n)?.resourceRecordName ?? ''),
    )
    const { resources } = await runUnderMocks('eu-west', {}, everyName)
    expect(resources.map((r) => r.type)).to.include('aws:acm/certificateValidation:CertificateValidation')
  })

  // Fails until each stack validates every name of its certificates (infra-fixes).
  it('the real stacks contain nothing the provider would refuse', async () => {
    for (const s of ['us-east', 'eu-west'] as const)
      expect((await real(s)).providerErrors, s).to.deep.equal([])
  })
})

describe('offline model: replacements between two runs', () => {
  it('finds no change between two separate runs of the same config (stable URNs and inputs)', async () => {
    const first = (await real('us-east')).inventory
    const second = (await buildStack('us-east', { allowProviderErrors: true })).inventory
    expect(replacements(first, second)).to.deep.equal([])
  })

  it('fails the replacement of a protected database (its identifier forces a new instance)', async () => {
    const [before] = await bothStacks()
    const [after] = await bothStacks()
    named(after, 'aws:rds/instance:Instance', '-db').inputs.identifier = 'blueprint-us-east-db-2'
    const [change] = harmful(replacements(before, after))
    expect(change?.action).to.equal('replace')
    expect(change?.inputs).to.deep.equal(['identifier: "blueprint-us-east-db" -> "blueprint-us-east-db-2"'])
    expect(change?.error).to.include('protected')
  })

  it('fails a create-before-delete replacement that keeps a fixed name, unless deleteBeforeReplace', async () => {
    const [before] = await bothStacks()
    const [after] = await bothStacks()
    const sg = named(after, 'aws:ec2/securityGroup:SecurityGroup', '-tasks-sg')
    named(before, sg.type, '-tasks-sg').inputs.name = 'blueprint-us-east-tasks'
    sg.inputs.name = 'blueprint-us-east-tasks'
    sg.inputs.description = 'a new description forces a new group'
    expect(harmful(replacements(before, after))[0]?.error).to.include('fixed name "blueprint-us-east-tasks"')
    sg.options = { deleteBeforeReplace: true }
    expect(harmful(replacements(before, after))).to.deep.equal([])
    expect(replacements(before, after).map((c) => c.action)).to.deep.equal(['replace'])
  })

  it('fails when a protected resource changes URN (a refactor without an alias)', async () => {
    const [before] = await bothStacks()
    const [after] = await bothStacks()
    const db = named(after, 'aws:rds/instance:Instance', '-db')
    db.urn = db.urn.replace('blueprint:database:Database', 'blueprint:database:Postgres')
    const deleted = harmful(replacements(before, after)).find((c) => c.action === 'delete')
    expect(deleted?.error).to.match(/protected: its URN changed .*add an alias/)
  })
})

describe('offline model: storage classes', () => {
  it('a GET of an object in GLACIER or DEEP_ARCHIVE fails; Glacier IR and Intelligent-Tiering read', async () => {
    const [us] = await bothStacks()
    const bucket = String(named(us, 'aws:s3/bucket:Bucket', '-uploads').inputs.bucket)
    const config = us.resources.find(
      (r) =>
        r.type === 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration' &&
        r.inputs.bucket === bucket,
    )
    if (!config) throw new Error('uploads has no lifecycle configuration')
    const transitions = [
      { days: 30, storageClass: 'STANDARD_IA' },
      { days: 90, storageClass: 'GLACIER' },
    ]
    config.inputs.rules = [{ id: 'tiering', status: 'Enabled', filter: {}, transitions }]
    expect(getObject(us, bucket, 89)).to.include({ ok: true, storageClass: 'STANDARD_IA' })
    expect(getObject(us, bucket, 90)).to.include({ ok: false, storageClass: 'GLACIER' })
    expect(unreadable(us).map((r) => r.bucket)).to.include(bucket)
    for (const storageClass of ['GLACIER_IR', 'INTELLIGENT_TIERING']) {
      config.inputs.rules = [
        { id: 't', status: 'Enabled', filter: {}, transitions: [{ days: 0, storageClass }] },
      ]
      expect(getObject(us, bucket, 400).ok, storageClass).to.equal(true)
    }
    config.inputs.rules = [
      { id: 't', status: 'Enabled', filter: {}, transitions: [{ days: 180, storageClass: 'DEEP_ARCHIVE' }] },
    ]
    expect(getObject(us, bucket, 180).error).to.include('InvalidObjectState')
  })

  it('fails Intelligent-Tiering once its archive tiers are configured', async () => {
    const [us] = await bothStacks()
    const bucket = String(named(us, 'aws:s3/bucket:Bucket', '-assets').inputs.bucket)
    for (const r of us.resources.filter(
      (x) => x.type.endsWith('BucketLifecycleConfiguration') && x.inputs.bucket === bucket,
    )) {
      r.inputs.rules = [
        {
          id: 't',
          status: 'Enabled',
          filter: {},
          transitions: [{ days: 0, storageClass: 'INTELLIGENT_TIERING' }],
        },
      ]
    }
    expect(getObject(us, bucket, 1).ok).to.equal(true)
    add(us, 'aws:s3/bucketIntelligentTieringConfiguration:BucketIntelligentTieringConfiguration', 'archive', {
      bucket,
      status: 'Enabled',
      tierings: [{ accessTier: 'ARCHIVE_ACCESS', days: 90 }],
    })
    expect(getObject(us, bucket, 1).ok).to.equal(false)
  })

  it('fails replicas written straight into an archive class', async () => {
    const [us] = await bothStacks()
    const rc = us.resources.find((r) => r.type === 'aws:s3/bucketReplicationConfig:BucketReplicationConfig')
    if (!rc) throw new Error('no replication')
    rc.inputs.rules = [
      { id: 'r', status: 'Enabled', destination: { bucket: 'arn:aws:s3:::x', storageClass: 'GLACIER' } },
    ]
    expect(unreadable(us).some((r) => r.bucket.endsWith('(replica)'))).to.equal(true)
  })

  // Fails while uploads and assets move to GLACIER at 90 days (infra-fixes moves them to Intelligent-Tiering).
  it('the real stacks keep uploads and assets readable at every age', async () => {
    for (const inv of await bothStacks()) expect(unreadable(inv), inv.stack).to.deep.equal([])
  })
})
