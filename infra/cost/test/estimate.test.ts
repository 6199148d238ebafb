import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { type CostInventory, type CostResource, estimate, splitTasks } from '../estimate.js'
import { PRICES } from '../prices.js'

const r = (type: string, name: string, inputs: Record<string, unknown>): CostResource => ({
  type,
  name,
  inputs,
})
const inv = (resources: CostResource[], region = 'us-east-1'): CostInventory => ({
  stack: 'test',
  region,
  resources,
})

/** Sum of the line items whose resource is `name` and whose detail matches `detail`. */
function line(e: ReturnType<typeof estimate>, name: string, detail?: RegExp) {
  const found = e.lines.filter((l) => l.resource === name && (!detail || detail.test(l.detail)))
  expect(found, `line for ${name} ${detail ?? ''}`).to.have.length.greaterThan(0)
  return found.reduce((s, l) => s + l.monthly, 0)
}

const service = (extra: Record<string, unknown> = {}) => [
  r('aws:ecs/taskDefinition:TaskDefinition', 'td', { family: 'svc', cpu: '1024', memory: '2048' }),
  r('aws:ecs/service:Service', 'svc', {
    name: 'svc',
    desiredCount: 2,
    taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/svc:3',
    ...extra,
  }),
  r('aws:appautoscaling/target:Target', 'scaling', {
    minCapacity: 4,
    maxCapacity: 50,
    resourceId: 'service/c/svc',
  }),
]

describe('cost estimate: arithmetic on small inventories', () => {
  it('prices Fargate at the autoscaler minimum: 4 x (1 vCPU, 2 GB) x 730 h in us-east-1', () => {
    const e = estimate(inv(service()))
    // 4 x (0.04048 + 2 x 0.004445) x 730 = 144.1604
    expect(line(e, 'svc')).to.equal(144.16)
  })

  it('states what the autoscaling maximum adds: 46 more tasks x $36.04', () => {
    const e = estimate(inv(service()))
    // (50 - 4) x (0.04048 + 2 x 0.004445) x 730 = 1657.8446
    expect(e.maxScaleExtra).to.equal(1657.84)
    expect(e.notes.join('\n')).to.match(/svc at its autoscaling maximum of 50 tasks adds \$1657\.84/)
  })

  it('prices Spot tasks beyond the on-demand base at the Spot factor', () => {
    const strategies = [
      { capacityProvider: 'FARGATE', base: 2, weight: 1 },
      { capacityProvider: 'FARGATE_SPOT', base: 0, weight: 1 },
    ]
    const e = estimate(inv(service({ capacityProviderStrategies: strategies })), {
      fargateSpotPriceFactor: 0.3,
    })
    // 4 tasks: base 2 on-demand, the other 2 split 1:1 -> 3 on-demand, 1 Spot.
    const perTask = (0.04048 + 2 * 0.004445) * 730
    expect(line(e, 'svc', /on-demand/)).to.equal(Math.round(3 * perTask * 100) / 100)
    expect(line(e, 'svc', /Spot/)).to.equal(Math.round(perTask * 0.3 * 100) / 100)
  })

  it('splits tasks between on-demand and Spot like ECS (base first, then weights)', () => {
    const strategies = [
      { capacityProvider: 'FARGATE', base: 4, weight: 1 },
      { capacityProvider: 'FARGATE_SPOT', weight: 1 },
    ]
    expect(splitTasks(10, strategies)).to.deep.equal({ onDemand: 7, spot: 3 })
    expect(splitTasks(3, strategies)).to.deep.equal({ onDemand: 3, spot: 0 })
    expect(splitTasks(5, undefined)).to.deep.equal({ onDemand: 5, spot: 0 })
  })

  it('doubles instance hours and storage for a Multi-AZ primary; a same-region replica inherits storage', () => {
    const e = estimate(
      inv([
        r('aws:rds/instance:Instance', 'db', {
          identifier: 'db-1',
          instanceClass: 'db.r6g.2xlarge',
          multiAz: true,
          allocatedStorage: 1000,
        }),
        r('aws:rds/instance:Instance', 'read', {
          instanceClass: 'db.r6g.2xlarge',
          replicateSourceDb: 'db-1',
        }),
      ]),
    )
    expect(line(e, 'db', /730 h/)).to.equal(1312.54) // 0.899 x 730 x 2
    expect(line(e, 'db', /GB gp3/)).to.equal(230) // 1000 x 0.115 x 2
    expect(line(e, 'read', /730 h/)).to.equal(656.27) // 0.899 x 730
    expect(line(e, 'read', /GB gp3/)).to.equal(115) // source's 1000 GB, single-AZ
  })

  it('takes a cross-region replica source size from the assumptions', () => {
    const db = r('aws:rds/instance:Instance', 'replica', {
      instanceClass: 'db.r6g.large',
      replicateSourceDb: 'arn:aws:rds:us-east-1:1:db:src',
    })
    const e = estimate(inv([db], 'eu-west-1'), { crossRegionReplicaStorageGb: 200 })
    expect(line(e, 'replica', /GB gp3/)).to.equal(25.4) // 200 x 0.127
  })

  it('counts every node of a cluster-mode replication group: 3 shards x (1 + 2 replicas)', () => {
    const rg = r('aws:elasticache/replicationGroup:ReplicationGroup', 'redis', {
      nodeType: 'cache.r7g.xlarge',
      numNodeGroups: 3,
      replicasPerNodeGroup: 2,
    })
    expect(line(estimate(inv([rg])), 'redis')).to.equal(2871.09) // 9 x 0.437 x 730
  })

  it('charges NAT gateways by the hour plus processed GB, and their Elastic IPs', () => {
    const nat = (i: number) => r('aws:ec2/natGateway:NatGateway', `nat-${i}`, {})
    const eip = (i: number) => r('aws:ec2/eip:Eip', `eip-${i}`, { domain: 'vpc' })
    const e = estimate(inv([nat(0), nat(1), nat(2), eip(0), eip(1), eip(2)]), { natProcessedGb: 1000 })
    expect(line(e, 'NAT gateways', /x 730 h/)).to.equal(98.55) // 3 x 0.045 x 730
    expect(line(e, 'NAT gateways', /processed/)).to.equal(45) // 1000 x 0.045
    expect(line(e, 'Elastic IPs')).to.equal(10.95) // 3 x 0.005 x 730
  })

  it('charges interface endpoints per AZ and leaves the S3 gateway endpoint free', () => {
    const ep = (name: string, type: string) =>
      r('aws:ec2/vpcEndpoint:VpcEndpoint', name, { vpcEndpointType: type, subnetIds: ['a', 'b', 'c'] })
    const e = estimate(inv([ep('logs', 'Interface'), ep('ecr', 'Interface'), ep('s3', 'Gateway')]))
    expect(line(e, 'interface VPC endpoints', /endpoint-AZs/)).to.equal(43.8) // 6 x 0.01 x 730
  })

  it('prices a CloudFront distribution and cross-region replication from the usage assumptions', () => {
    const e = estimate(
      inv([
        r('aws:cloudfront/distribution:Distribution', 'cdn', { enabled: true }),
        r('aws:s3/bucketReplicationConfig:BucketReplicationConfig', 'uploads', { rules: [] }),
      ]),
      { cdnEgressGb: 1000, cdnMillionRequests: 10, replicationGb: 500 },
    )
    expect(line(e, 'cdn', /edges/)).to.equal(85) // 1000 x 0.085
    expect(line(e, 'cdn', /requests/)).to.equal(10) // 10 x 1.00
    expect(line(e, 'uploads')).to.equal(10) // 500 x 0.02
  })

  it('applies assumption overrides to usage lines and keeps the total equal to the sum of lines', () => {
    const e = estimate(inv(service()), { egressGb: 5000 })
    expect(line(e, 'data transfer out')).to.equal(450) // 5000 x 0.09
    const sum = e.lines.reduce((s, l) => s + l.monthly, 0)
    expect(e.total).to.equal(Math.round(sum * 100) / 100)
  })

  it('uses the region of the stack (eu-west-1 Fargate costs more than us-east-1)', () => {
    const us = estimate(inv(service()))
    const eu = estimate(inv(service(), 'eu-west-1'))
    expect(line(eu, 'svc')).to.equal(158.53) // 4 x (0.04456 + 2 x 0.004865) x 730
    expect(line(eu, 'svc')).to.be.greaterThan(line(us, 'svc'))
  })

  it('refuses a class or region missing from the price table, naming the file to edit', () => {
    const db = r('aws:rds/instance:Instance', 'db', {
      instanceClass: 'db.x2iedn.32xlarge',
      allocatedStorage: 10,
    })
    expect(() => estimate(inv([db]))).to.throw(/db.x2iedn.32xlarge.*infra\/cost\/prices.ts/)
    expect(() => estimate(inv([], 'ap-south-1'))).to.throw(/no price table for ap-south-1/)
  })

  it('dates the price table and covers both regions with the same keys', () => {
    const [us, eu] = [PRICES['us-east-1'], PRICES['eu-west-1']]
    expect(us && eu).to.not.equal(undefined)
    expect(Object.keys(eu ?? {})).to.deep.equal(Object.keys(us ?? {}))
    expect(Object.keys(eu?.rdsInstanceHour ?? {})).to.deep.equal(Object.keys(us?.rdsInstanceHour ?? {}))
    expect(estimate(inv([])).pricesAsOf).to.match(/^\d{4}-\d{2}-\d{2}$/)
  })

  it('prints a report with line items, total and assumptions from an inventory file (CLI)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cost-'))
    try {
      const file = join(dir, 'inv.json')
      writeFileSync(file, JSON.stringify({ project: 'p', ...inv(service()) }))
      const run = spawnSync(
        'npx',
        ['tsx', 'infra/cost/cli.ts', '--inventory', file, '--assume', 'egressGb=0'],
        {
          encoding: 'utf8',
        },
      )
      expect(run.status, run.stderr).to.equal(0)
      expect(run.stdout).to.match(/svc\s+\$144\.16\s+4 on-demand tasks/)
      expect(run.stdout).to.match(/TOTAL per month: \$\d/)
      expect(run.stdout).to.include('egressGb = 0')
      // Through npm the CLI runs in infra/; a relative path is taken from where the user typed it.
      const args = ['--import=tsx', 'cost/cli.ts', '--inventory', 'inv.json', '--json']
      const relative = spawnSync(process.execPath, args, {
        cwd: 'infra',
        env: { ...process.env, INIT_CWD: dir },
        encoding: 'utf8',
      })
      expect(relative.status, relative.stderr).to.equal(0)
      expect(JSON.parse(relative.stdout).total).to.be.greaterThan(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
