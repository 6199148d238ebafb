import { expect } from 'chai'
import { EXIT } from '../errors.js'
import { EU_HOST, rdsThrottling, ssmThrottling, US_HOST, World } from './world.js'

const EU_WRITER = `${EU_HOST}:5432`
const US_WRITER = `${US_HOST}:5432`
const US_PARAM = '/blueprint/us-east/db/writer-endpoint'
const EU_PARAM = '/blueprint/eu-west/db/writer-endpoint'

/** The US region as it looks in a real outage: API unreachable, health check failing everywhere. */
function usRegionDown(world: World): World {
  world.unreachable.add('us-east-1')
  world.healthyCheckers['hc-us-0001'] = 0
  return world
}

describe('dr promote', () => {
  let world: World
  beforeEach(() => {
    world = new World()
  })
  afterEach(() => world.restore())

  describe('happy path (drill)', () => {
    let code: number
    beforeEach(async () => {
      code = await world.run('promote', '--region', 'eu-west', '--drill')
    })

    it('exits 0 and leaves the EU instance a Multi-AZ primary with 7-day backups', () => {
      expect(code, world.text).to.equal(EXIT.ok)
      const eu = world.instances['eu-west-1']
      expect(eu?.ReadReplicaSourceDBInstanceIdentifier).to.equal(undefined)
      expect(eu?.DBInstanceStatus).to.equal('available')
      expect(eu?.MultiAZ).to.equal(true)
      expect(eu?.BackupRetentionPeriod).to.equal(7)
    })

    it("points both regions' writer parameters at the promoted instance as host:port", () => {
      expect(world.parameters['eu-west-1'][EU_PARAM]).to.equal(EU_WRITER)
      expect(world.parameters['us-east-1'][US_PARAM]).to.equal(EU_WRITER)
    })

    it('promotes, waits, switches writers, then converts to Multi-AZ, in that order', () => {
      const mutating = world.calls.filter((c) => /Promote|PutParameter|Modify/.test(c))
      expect(mutating).to.deep.equal([
        'PromoteReadReplica eu-west-1',
        'PutParameter eu-west-1',
        'PutParameter us-east-1',
        'ModifyDBInstance eu-west-1',
      ])
    })

    it('logs the preflight verdict before changing anything', () => {
      const passed = world.out.findIndex((l) => l.endsWith('preflight passed'))
      const promoteCall = world.out.findIndex((l) => l.includes('>> PromoteReadReplica'))
      expect(passed).to.be.greaterThan(0)
      expect(promoteCall).to.be.greaterThan(passed)
    })

    it('timestamps every log line with an ISO time', () => {
      expect(world.out.length).to.be.greaterThan(10)
      for (const line of world.out) expect(line).to.match(/^2026-11-22T\d\d:\d\d:\d\d\.\d{3}Z {2}/)
    })

    it('reports the RTO measured up to the writer switch (4 polls of 15 s = 45 s)', () => {
      // Promotion takes 4 describes after the call: 3 sleeps of 15 s before "available, standalone".
      expect(world.text).to.match(/RTO 45s \(45 s\) from command start to writers switched/)
      expect(world.text).to.include('RPO bound: replica lag at preflight was 3s')
    })

    it('prints the pulumi steps that bring the EU stack in line', () => {
      // Only the two regional resources the promotion changed: a full refresh reads IAM and Route 53 (us-east-1).
      expect(world.text).to.include(
        "pulumi refresh --stack eu-west --yes --skip-preview --target 'urn:pulumi:eu-west::blueprint::blueprint:database:Database$aws:rds/instance:Instance::blueprint-eu-west-db' --target 'urn:pulumi:eu-west::blueprint::aws:ssm/parameter:Parameter::blueprint-eu-west-db-writer-endpoint'",
      )
      const commands = world.out.map((l) => l.replace(/^\S+\s+/, ''))
      for (const l of commands.filter((x) => /^pulumi (up|preview) /.test(x))) {
        expect(l, 'every up and preview of the DR path skips the refresh').to.include('--refresh=false')
      }
      expect(commands.filter((x) => /^pulumi (up|preview) /.test(x))).to.have.length(2)
      expect(commands.filter((x) => /^pulumi refresh /.test(x))).to.have.length(1)
      expect(world.text).to.include(
        'pulumi config set --stack eu-west --path blueprint:database.role primary',
      )
      // The program reads database.sourceStack as "born a replica"; removing it would force a replacement.
      expect(world.text).not.to.match(/config rm .*sourceStack/)
      expect(world.text).to.include('do not run pulumi up there until it is rebuilt')
      expect(world.text).to.include('pulumi up --stack eu-west --refresh=false --yes')
      expect(world.text).to.include('npm run dr -- failback-plan --region eu-west')
    })
  })

  it('fails over without --drill when the US region is down, and warns that its parameter is unswitched', async () => {
    usRegionDown(world)
    world.lag = [4, 5, 6]
    const code = await world.run('promote', '--region', 'eu-west')
    expect(code, world.text).to.equal(EXIT.ok)
    expect(world.parameters['eu-west-1'][EU_PARAM]).to.equal(EU_WRITER)
    expect(world.parameters['us-east-1'][US_PARAM]).to.equal(US_WRITER)
    expect(world.text).to.match(
      /WARN us-east parameter not switched .*aws ssm put-parameter --region us-east-1/,
    )
    expect(world.text).to.match(
      /PASS {2}us-east primary impaired +db \? unreachable, health check unhealthy \(0\/16/,
    )
  })

  describe('preflight refusals (exit 3, nothing changed)', () => {
    const refusedWith = async (pattern: RegExp, ...argv: string[]) => {
      const code = await world.run('promote', '--region', 'eu-west', ...argv)
      expect(code, world.text).to.equal(EXIT.refused)
      expect(world.text).to.match(pattern)
      expect(world.text).to.include('REFUSED')
      expect(world.text).not.to.include('preflight passed')
      expect(world.calls.filter((c) => /Promote|PutParameter|Modify/.test(c))).to.deep.equal([])
    }

    it('refuses while the replica is backing-up', async () => {
      world.instances['eu-west-1'] = { ...world.instances['eu-west-1'], DBInstanceStatus: 'backing-up' }
      await refusedWith(/FAIL {2}replica available +blueprint-eu-west-db-replica is "backing-up"/, '--drill')
    })

    it('refuses when lag is unknown (no datapoints)', async () => {
      world.lag = []
      await refusedWith(
        /FAIL {2}replica lag +unknown \(no ReplicaLag datapoints.*rerun with --force/,
        '--drill',
      )
    })

    it('refuses when lag is -1 (replication stopped)', async () => {
      world.lag = [1, -1]
      await refusedWith(/replica lag +unknown \(ReplicaLag is -1/, '--drill')
    })

    it('refuses when lag is over --max-lag-seconds', async () => {
      world.lag = [40, 95]
      await refusedWith(/FAIL {2}replica lag +95s > 60s/, '--drill')
    })

    it('refuses when the US primary is healthy and --drill is absent', async () => {
      await refusedWith(/FAIL {2}us-east primary impaired .*looks healthy: refusing \(use --drill/)
    })

    it('refuses when the replica is already a standalone primary', async () => {
      world.instances['eu-west-1'] = {
        ...world.instances['eu-west-1'],
        ReadReplicaSourceDBInstanceIdentifier: undefined,
      }
      await refusedWith(
        /FAIL {2}replica exists +blueprint-eu-west-db-replica is already a standalone primary/,
        '--drill',
      )
    })

    it('refuses when missing permissions hide the US primary (not the same as the region being down)', async () => {
      world.healthyCheckers['hc-us-0001'] = 0
      world.fail(
        'DescribeDBInstances us-east-1',
        Object.assign(
          new Error(
            'User: arn:aws:sts::123456789012:assumed-role/dr-operator/alice is not authorized to perform: rds:DescribeDBInstances',
          ),
          {
            name: 'AccessDenied',
          },
        ),
      )
      await refusedWith(
        /FAIL {2}us-east primary impaired +cannot tell: AccessDenied: .*use --force if you know it is down/,
      )
    })

    it('refuses when the EU writer parameter cannot be read (the switch would fail)', async () => {
      world.parameters['eu-west-1'] = {}
      await refusedWith(
        /FAIL {2}eu-west writer parameter +cannot read \/blueprint\/eu-west\/db\/writer-endpoint/,
        '--drill',
      )
    })
  })

  it('proceeds with unknown lag under --force and says the loss is unbounded', async () => {
    usRegionDown(world)
    world.lag = []
    const code = await world.run('promote', '--region', 'eu-west', '--force')
    expect(code, world.text).to.equal(EXIT.ok)
    expect(world.text).to.match(/WARN {2}replica lag +unknown .*--force/)
    expect(world.text).not.to.include('RPO bound')
  })

  it('retries a throttled PromoteReadReplica with backoff, then succeeds', async () => {
    world.fail('PromoteReadReplica', rdsThrottling(), rdsThrottling())
    const code = await world.run('promote', '--region', 'eu-west', '--drill')
    expect(code, world.text).to.equal(EXIT.ok)
    expect(world.calls.filter((c) => c.startsWith('PromoteReadReplica'))).to.have.length(3)
    expect(world.text).to.match(
      /PromoteReadReplica blueprint-eu-west-db-replica: throttled \(Throttling: Rate exceeded\), retry 1\/3 in 500 ms/,
    )
    expect(world.text).to.match(/retry 2\/3 in 1000 ms/)
  })

  it('stops with exit 4 when throttling outlasts the retries on the writer switch, and says what it left', async () => {
    world.fail('PutParameter', ssmThrottling(), ssmThrottling(), ssmThrottling(), ssmThrottling())
    const code = await world.run('promote', '--region', 'eu-west', '--drill')
    expect(code, world.text).to.equal(EXIT.failedMidway)
    expect(world.calls.filter((c) => c.startsWith('PutParameter'))).to.have.length(4)
    expect(world.text).to.include('still throttled after 4 attempts')
    expect(world.text).to.match(
      /STOPPED: step "switch eu-west writer parameter" failed: ThrottlingException: Rate exceeded/,
    )
    expect(world.text).to.include(
      `state left: blueprint-eu-west-db-replica is a standalone primary at ${EU_WRITER}, but no service writes to it yet.`,
    )
    expect(world.text).to.include(
      `aws ssm put-parameter --region eu-west-1 --name ${EU_PARAM} --type String --overwrite --value ${EU_WRITER}`,
    )
    // Nothing after the failed step ran, and no RTO is claimed.
    expect(world.calls).not.to.include('ModifyDBInstance eu-west-1')
    expect(world.text).not.to.match(/RTO/)
    expect(world.parameters['eu-west-1'][EU_PARAM]).to.equal(US_WRITER)
  })

  it('stops with exit 4 when promotion never completes, stating the replica left replication', async () => {
    world.promoteSteps = [{ DBInstanceStatus: 'modifying', ReadReplicaSourceDBInstanceIdentifier: undefined }]
    const code = await world.run('promote', '--region', 'eu-west', '--drill', '--poll-seconds', '60')
    expect(code, world.text).to.equal(EXIT.failedMidway)
    expect(world.text).to.match(
      /STOPPED: step "wait until blueprint-eu-west-db-replica is a standalone, available primary" failed: WaitTimeout: blueprint-eu-west-db-replica: still "modifying, standalone" after 30m 00s/,
    )
    expect(world.text).to.include('state left: PromoteReadReplica was accepted')
    expect(world.text).to.include(`Services still write to ${US_WRITER}.`)
    expect(world.calls.filter((c) => c.startsWith('PutParameter'))).to.deep.equal([])
  })

  it('stops with exit 4 when ModifyDBInstance fails after the switch, and says writes already land on the new primary', async () => {
    world.fail(
      'ModifyDBInstance',
      Object.assign(new Error('The specified DB instance is not in the available state.'), {
        name: 'InvalidDBInstanceState',
      }),
    )
    const code = await world.run('promote', '--region', 'eu-west', '--drill')
    expect(code, world.text).to.equal(EXIT.failedMidway)
    expect(world.text).to.include(
      `state left: blueprint-eu-west-db-replica is a standalone primary (single-AZ) serving writes at ${EU_WRITER}.`,
    )
    expect(world.text).to.include(
      'aws rds modify-db-instance --region eu-west-1 --db-instance-identifier blueprint-eu-west-db-replica --multi-az --backup-retention-period 7 --apply-immediately',
    )
    expect(world.parameters['us-east-1'][US_PARAM]).to.equal(EU_WRITER)
  })

  it('in a drill, failing to repoint the US services stops the command (two writers otherwise)', async () => {
    world.fail(
      'PutParameter us-east-1',
      Object.assign(new Error('User is not authorized to perform ssm:PutParameter'), {
        name: 'AccessDeniedException',
      }),
    )
    const code = await world.run('promote', '--region', 'eu-west', '--drill')
    expect(code, world.text).to.equal(EXIT.failedMidway)
    expect(world.text).to.match(
      /STOPPED: step "switch us-east writer parameter" failed: AccessDeniedException/,
    )
    expect(world.text).to.include('us-east services still write to the old primary (two writers)')
  })

  it('with --harden-before-switch, converts to Multi-AZ before moving writers (longer RTO)', async () => {
    const code = await world.run('promote', '--region', 'eu-west', '--drill', '--harden-before-switch')
    expect(code, world.text).to.equal(EXIT.ok)
    const mutating = world.calls.filter((c) => /Promote|PutParameter|Modify/.test(c))
    expect(mutating[1]).to.equal('ModifyDBInstance eu-west-1')
    expect(mutating.slice(2)).to.deep.equal(['PutParameter eu-west-1', 'PutParameter us-east-1'])
    // 3 promotion polls + 2 conversion polls, 15 s each.
    expect(world.text).to.match(/RTO 1m 15s \(75 s\)/)
  })

  it('switches the writer CNAME and waits for INSYNC when a hosted zone is given', async () => {
    const code = await world.run(
      'promote',
      '--region',
      'eu-west',
      '--drill',
      '--hosted-zone-id',
      'Z0EXAMPLE123',
      '--writer-record',
      'writer.example.com',
    )
    expect(code, world.text).to.equal(EXIT.ok)
    expect(world.calls.filter((c) => c.startsWith('GetChange'))).to.have.length(2)
    expect(world.text).to.match(/writer\.example\.com: INSYNC/)
  })

  it('stops with exit 4 when the CNAME change is rejected, after both parameters were switched', async () => {
    world.fail(
      'ChangeResourceRecordSets',
      Object.assign(
        new Error('RRSet of type CNAME with DNS name writer.example.com. is not permitted at apex'),
        {
          name: 'InvalidChangeBatch',
        },
      ),
    )
    const code = await world.run(
      'promote',
      '--region',
      'eu-west',
      '--drill',
      '--hosted-zone-id',
      'Z0EXAMPLE123',
      '--writer-record',
      'writer.example.com',
    )
    expect(code, world.text).to.equal(EXIT.failedMidway)
    expect(world.text).to.include(
      `state left: Both writer parameters point at ${EU_WRITER}; writer.example.com still resolves to the old primary.`,
    )
    expect(world.text).to.include(
      `aws route53 change-resource-record-sets --hosted-zone-id Z0EXAMPLE123 --change-batch '{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"writer.example.com","Type":"CNAME","TTL":30,"ResourceRecords":[{"Value":"${EU_HOST}"}]}}]}'`,
    )
    expect(world.parameters['us-east-1'][US_PARAM]).to.equal(EU_WRITER)
  })

  it('in a real us-east-1 outage, a CNAME it cannot switch (Route 53 API down) is a warning, not a stop', async () => {
    usRegionDown(world)
    // Route 53's control plane is in us-east-1: it goes with the region.
    world.fail(
      'ChangeResourceRecordSets',
      Object.assign(new Error('connect ETIMEDOUT route53.amazonaws.com'), { name: 'TimeoutError' }),
    )
    const code = await world.run(
      'promote',
      '--region',
      'eu-west',
      '--hosted-zone-id',
      'Z0EXAMPLE123',
      '--writer-record',
      'writer.example.com',
    )
    expect(code, world.text).to.equal(EXIT.ok)
    expect(world.text).to.match(
      /CNAME writer\.example\.com not switched .*run: aws route53 change-resource-record-sets/,
    )
    // The promotion went on past the CNAME: the new primary is hardened.
    expect(world.instances['eu-west-1']?.MultiAZ).to.equal(true)
    expect(world.parameters['eu-west-1'][EU_PARAM]).to.equal(EU_WRITER)
  })

  it('refuses a second promotion of a replica that is mid-promotion (modifying)', async () => {
    world.instances['eu-west-1'] = { ...world.instances['eu-west-1'], DBInstanceStatus: 'modifying' }
    const code = await world.run('promote', '--region', 'eu-west', '--drill')
    expect(code).to.equal(EXIT.refused)
    expect(world.text).to.include('is "modifying"; RDS only promotes an available replica')
  })

  describe('polling through network blips after the promotion call', () => {
    const blip = () =>
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' })

    it('tolerates two failed polls in a row and finishes', async () => {
      world.onPromote = () => world.fail('DescribeDBInstances eu-west-1', blip(), blip())
      const code = await world.run('promote', '--region', 'eu-west', '--drill')
      expect(code, world.text).to.equal(EXIT.ok)
      expect(world.text).to.include('poll failed (TimeoutError: socket hang up), 2/2 tolerated')
    })

    it('stops after three failed polls in a row, stating the promotion is under way', async () => {
      world.onPromote = () => world.fail('DescribeDBInstances eu-west-1', blip(), blip(), blip())
      const code = await world.run('promote', '--region', 'eu-west', '--drill')
      expect(code, world.text).to.equal(EXIT.failedMidway)
      expect(world.text).to.include('state left: PromoteReadReplica was accepted')
      expect(world.calls.filter((c) => c.startsWith('PutParameter'))).to.deep.equal([])
    })
  })
})
