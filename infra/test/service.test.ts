import { readFileSync } from 'node:fs'
import { expect } from 'chai'
import { expandUrnCalls } from '../dr/urn.js'
import type { StackName } from '../src/config.js'
import { all, hasProps, idOf, json, one, stack, statements } from './helpers.js'

const T = {
  cluster: 'aws:ecs/cluster:Cluster',
  td: 'aws:ecs/taskDefinition:TaskDefinition',
  svc: 'aws:ecs/service:Service',
  target: 'aws:appautoscaling/target:Target',
  policy: 'aws:appautoscaling/policy:Policy',
  alarm: 'aws:cloudwatch/metricAlarm:MetricAlarm',
  sg: 'aws:ec2/securityGroup:SecurityGroup',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
}

interface Container {
  name: string
  image: string
  command?: string[]
  essential: boolean
  stopTimeout?: number
  portMappings?: { containerPort: number }[]
  secrets?: { name: string; valueFrom: string }[]
  environment?: { name: string; value: string }[]
  logConfiguration: { logDriver: string; options: Record<string, string> }
  dependsOn?: { containerName: string; condition: string }[]
}

const images: Record<StackName, string> = {
  'us-east': '123456789012.dkr.ecr.us-east-1.amazonaws.com/blueprint-service:0.1.0',
  'eu-west': '123456789012.dkr.ecr.eu-west-1.amazonaws.com/blueprint-service:0.1.0',
}

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`service (${name})`, () => {
    it('runs an ECS cluster with Container Insights', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, T.cluster), {
        name: `blueprint-${name}`,
        settings: [{ name: 'containerInsights', value: 'enabled' }],
      })
    })

    it('defines a Fargate task with CPU and memory from config running the configured image', async () => {
      const { inventory } = await stack(name)
      const td = one(inventory, T.td, '-service')
      hasProps(td, {
        cpu: '1024',
        memory: '2048',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
      })
      const [app] = json<Container[]>(td, 'containerDefinitions')
      expect(app?.image).to.equal(images[name])
      expect(app?.portMappings).to.deep.equal([{ containerPort: 3000, protocol: 'tcp' }])
    })

    it('runs the image recorded in SSM, which the program seeds once and never rolls back', async () => {
      const { inventory, outputs, resolve, dependencies } = await stack(name)
      const param = one(inventory, 'aws:ssm/parameter:Parameter', `blueprint-${name}-service-image`)
      hasProps(param, {
        name: `/blueprint/${name}/service/image`,
        type: 'String',
        insecureValue: images[name],
      })
      // The deploy workflow writes the value; a later preview or `pulumi up` from a laptop must keep it.
      expect(param.options?.ignoreChanges).to.deep.equal(['insecureValue'])
      expect(await resolve(outputs.imageParameter)).to.equal(`/blueprint/${name}/service/image`)
      // The deploy workflow refreshes exactly this resource by URN (a full refresh would call Route 53).
      const workflow = readFileSync('.github/workflows/deploy-stack.yml', 'utf8')
      const target = /--target "([^"]+)"/.exec(expandUrnCalls(workflow, name))?.[1]
      expect(target).to.equal(param.urn)
      // Both task definitions take their image from the parameter's state (refreshed from SSM), not from config.
      for (const family of ['-service', '-migrate']) {
        expect(dependencies(one(inventory, T.td, family).urn), family).to.include(param.urn)
      }
    })

    it('follows a CPU/memory change in config', async () => {
      const { inventory } = await stack(name, {
        'blueprint:service': JSON.stringify({ image: 'x.dkr.ecr.y/z:1', cpu: 2048, memory: 4096 }),
      })
      hasProps(one(inventory, T.td, '-service'), { cpu: '2048', memory: '4096' })
    })

    it('connects the service as the application role with IAM tokens: no database password in its task', async () => {
      const { inventory } = await stack(name)
      const [app] = json<Container[]>(one(inventory, T.td, '-service'), 'containerDefinitions')
      const secrets = Object.fromEntries((app?.secrets ?? []).map((s) => [s.name, s.valueFrom]))
      // FUNDING_WEBHOOK_SECRET joins once the operator sets service.fundingWebhook (production-config.test.ts).
      // Redis is IAM-authenticated too (cache.test.ts): no secret left.
      expect(Object.keys(secrets)).to.deep.equal([])
      const env = Object.fromEntries((app?.environment ?? []).map((e) => [e.name, e.value]))
      // eu-west's tasks write to the us-east writer over the peering.
      const writer = 'blueprint-us-east-db'
      expect(env.DATABASE_URL).to.match(
        new RegExp(`^postgresql://blueprint_app@${writer}\\.[^/]+:5432/blueprint\\?sslmode=verify-full$`),
      )
      expect(env.DATABASE_REPLICA_URL).to.match(
        /^postgresql:\/\/blueprint_app@[^:/]+:5432\/blueprint\?sslmode=verify-full$/,
      )
      expect(env).to.include({
        DATABASE_IAM_AUTH: 'true',
        DATABASE_WRITER_ENDPOINT_SOURCE: `ssm:/blueprint/${name}/db/writer-endpoint`,
        REDIS_CLUSTER: 'true',
        S3_BUCKET: `blueprint-${name}-uploads-123456789012`,
        S3_REGION: inventory.region,
        PORT: '3000',
      })
      const envNames = (app?.environment ?? []).map((e) => e.name)
      for (const secret of Object.keys(secrets)) expect(envNames).not.to.include(secret)
    })

    it('runs migrations as the migrator role with IAM tokens at the current writer: no credentials in its task', async () => {
      const { inventory } = await stack(name)
      const [migrate] = json<Container[]>(one(inventory, T.td, '-migrate'), 'containerDefinitions')
      const env = Object.fromEntries((migrate?.environment ?? []).map((e) => [e.name, e.value]))
      expect(env.DATABASE_URL).to.match(
        /^postgresql:\/\/blueprint_migrator@blueprint-us-east-db\.[^/]+:5432\/blueprint\?sslmode=verify-full$/,
      )
      expect(env).to.include({
        DATABASE_IAM_AUTH: 'true',
        DATABASE_WRITER_ENDPOINT_SOURCE: `ssm:/blueprint/${name}/db/writer-endpoint`,
      })
      expect((migrate?.secrets ?? []).map((s) => s.name)).to.deep.equal([])
      // Its own task role: the migrator's IAM login and the writer parameter, not the service's.
      const td = one(inventory, T.td, '-migrate')
      const role = one(inventory, 'aws:iam/role:Role', `blueprint-${name}-migrator`)
      expect(td.inputs.taskRoleArn).to.equal(`arn:aws:iam::123456789012:role/${idOf(role)}`)
      const policy = statements(one(inventory, 'aws:iam/rolePolicy:RolePolicy', `blueprint-${name}-migrator`))
      expect(policy.map((st) => [st.Action, st.Resource])).to.deep.equal([
        [
          ['ssm:GetParameter'],
          [`arn:aws:ssm:${inventory.region}:123456789012:parameter/blueprint/${name}/db/writer-endpoint`],
        ],
        ['rds-db:connect', ['arn:aws:rds-db:*:123456789012:dbuser:*/blueprint_migrator']],
      ])
    })

    it('defines the role bootstrap: master user at the writer, the managed secret readable by its execution role only', async () => {
      const { inventory, outputs, resolve } = await stack(name)
      const td = one(inventory, T.td, '-bootstrap')
      hasProps(td, { family: `blueprint-${name}-bootstrap` })
      const [c] = json<Container[]>(td, 'containerDefinitions')
      expect(c?.command).to.deep.equal(['node', 'dist/src/db/bootstrap-cli.js'])
      const env = Object.fromEntries((c?.environment ?? []).map((e) => [e.name, e.value]))
      expect(env.DATABASE_URL).to.match(
        /^postgresql:\/\/blueprint@[^/]+:5432\/blueprint\?sslmode=verify-full$/,
      )
      // The deploy job adds DATABASE_MASTER_PASSWORD from the current managed secret when it starts the task.
      expect(c?.secrets ?? []).to.deep.equal([])
      const exec = one(inventory, 'aws:iam/role:Role', `blueprint-${name}-bootstrap`)
      expect(td.inputs.executionRoleArn).to.equal(`arn:aws:iam::123456789012:role/${idOf(exec)}`)
      const read = statements(
        one(inventory, 'aws:iam/rolePolicy:RolePolicy', `blueprint-${name}-bootstrap`),
      ).filter((st) => st.Action === 'secretsmanager:GetSecretValue')
      const db = name === 'us-east' ? 'blueprint-us-east-db' : 'blueprint-eu-west-db-replica'
      expect(read).to.deep.equal([
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: `arn:aws:secretsmanager:${inventory.region}:123456789012:secret:rds!db-*`,
          Condition: {
            StringEquals: {
              'secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn': `arn:aws:rds:${inventory.region}:123456789012:db:${db}`,
            },
          },
        },
      ])
      expect(await resolve(outputs.bootstrapTaskDefinitionArn)).to.match(
        /task-definition\/blueprint-.*-bootstrap:1$/,
      )
      // No other role reads any RDS-managed secret.
      for (const policy of all(
        inventory,
        'aws:iam/rolePolicy:RolePolicy',
        (r) => !r.name.endsWith('-bootstrap'),
      )) {
        expect(String(policy.inputs.policy), policy.name).not.to.include('rds!db')
      }
    })

    it('lets the task role connect as the application role only, to either region (IAM database auth)', async () => {
      const { inventory } = await stack(name)
      const policy = JSON.parse(
        String(one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-task').inputs.policy),
      )
      const connect = (policy.Statement as { Action: string; Resource: string[] }[]).filter(
        (s) => s.Action === 'rds-db:connect',
      )
      expect(connect.flatMap((s) => s.Resource)).to.deep.equal([
        'arn:aws:rds-db:*:123456789012:dbuser:*/blueprint_app',
      ])
      for (const db of all(inventory, 'aws:rds/instance:Instance')) {
        expect(db.inputs.iamDatabaseAuthenticationEnabled, db.name).to.equal(true)
      }
    })

    it('logs every container to a service log group with retention', async () => {
      const { inventory } = await stack(name)
      const group = one(inventory, T.logGroup, '-service-logs')
      hasProps(group, { name: `/ecs/blueprint-${name}`, retentionInDays: 30 })
      for (const c of json<Container[]>(one(inventory, T.td, '-service'), 'containerDefinitions')) {
        expect(c.logConfiguration.logDriver, c.name).to.equal('awslogs')
        expect(c.logConfiguration.options['awslogs-group'], c.name).to.equal(group.inputs.name)
      }
    })

    it('runs an OpenTelemetry collector sidecar the service starts after', async () => {
      const { inventory } = await stack(name)
      const containers = json<Container[]>(one(inventory, T.td, '-service'), 'containerDefinitions')
      const collector = containers.find((c) => c.name === 'otel-collector')
      expect(collector?.image).to.match(/aws-otel-collector/)
      expect(containers[0]?.dependsOn).to.deep.equal([
        { containerName: 'otel-collector', condition: 'START' },
      ])
      expect(containers[0]?.stopTimeout).to.equal(30)
    })

    it('deploys with circuit-breaker rollback, 100%/200%, a grace period, in private subnets behind the ALB only', async () => {
      const { inventory } = await stack(name)
      const svc = one(inventory, T.svc)
      hasProps(svc, {
        desiredCount: 4,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        healthCheckGracePeriodSeconds: 60,
        networkConfiguration: { assignPublicIp: false },
        loadBalancers: [{ containerName: 'service', containerPort: 3000 }],
      })
      const privateIds = [0, 1, 2].map((i) => idOf(one(inventory, 'aws:ec2/subnet:Subnet', `-private-${i}`)))
      const net = svc.inputs.networkConfiguration as { subnets: string[]; securityGroups: string[] }
      expect(net.subnets).to.have.members(privateIds)
      const tasksSg = one(inventory, T.sg, '-tasks-sg')
      expect(net.securityGroups).to.deep.equal([idOf(tasksSg)])
      const albSg = one(inventory, T.sg, '-alb-sg')
      expect(tasksSg.inputs.ingress).to.deep.equal([
        { protocol: 'tcp', fromPort: 3000, toPort: 3000, securityGroups: [idOf(albSg)], description: 'ALB' },
      ])
    })

    it('runs the service read-only as the image user, with a scratch /tmp volume', async () => {
      const { inventory } = await stack(name)
      const td = one(inventory, T.td, '-service')
      expect(td.inputs.volumes).to.deep.equal([{ name: 'tmp' }])
      const [app] = json<(Container & Record<string, unknown>)[]>(td, 'containerDefinitions')
      expect(app).to.deep.include({
        readonlyRootFilesystem: true,
        user: '1000',
        mountPoints: [{ sourceVolume: 'tmp', containerPath: '/tmp' }],
      })
    })

    it('does not let a deploy reset the task count the autoscaler chose', async () => {
      const { inventory } = await stack(name)
      expect(one(inventory, T.svc).options?.ignoreChanges).to.include('desiredCount')
    })

    it('scales 4..50 tasks around 70% CPU: out above 70% for 2 minutes, in below 30% for 10 minutes', async () => {
      const { inventory } = await stack(name)
      hasProps(one(inventory, T.target), {
        minCapacity: 4,
        maxCapacity: 50,
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: `service/blueprint-${name}/blueprint-${name}-service`,
      })
      hasProps(one(inventory, T.policy, '-cpu-target'), {
        policyType: 'TargetTrackingScaling',
        targetTrackingScalingPolicyConfiguration: {
          targetValue: 70,
          predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        },
      })
      const out = one(inventory, T.alarm, '-scale-out')
      hasProps(out, {
        metricName: 'CPUUtilization',
        threshold: 70,
        comparisonOperator: 'GreaterThanThreshold',
      })
      expect((out.inputs.period as number) * (out.inputs.evaluationPeriods as number)).to.equal(120)
      const scaleIn = one(inventory, T.alarm, '-scale-in')
      hasProps(scaleIn, {
        metricName: 'CPUUtilization',
        threshold: 30,
        comparisonOperator: 'LessThanThreshold',
      })
      expect((scaleIn.inputs.period as number) * (scaleIn.inputs.evaluationPeriods as number)).to.equal(600)
      expect(out.inputs.alarmActions).to.deep.equal([
        `arn:aws:appautoscaling:${inventory.region}:123456789012:${idOf(one(inventory, T.policy, '-scale-out'))}`,
      ])
      hasProps(one(inventory, T.policy, '-scale-in'), {
        policyType: 'StepScaling',
        stepScalingPolicyConfiguration: { stepAdjustments: [{ metricIntervalUpperBound: '0' }] },
      })
    })

    it('defines a one-off migration task running the image migration command', async () => {
      const { inventory } = await stack(name)
      const td = one(inventory, T.td, '-migrate')
      hasProps(td, { family: `blueprint-${name}-migrate`, requiresCompatibilities: ['FARGATE'] })
      const [c] = json<Container[]>(td, 'containerDefinitions')
      expect(c?.image).to.equal(images[name])
      expect(c?.command).to.deep.equal(['node', 'dist/src/db/migrate-cli.js'])
    })
  })
}

describe('service capacity providers', () => {
  it('keeps an on-demand base of 4 and adds Fargate Spot where spotWeight is set (us-east)', async () => {
    const { inventory } = await stack('us-east')
    hasProps(one(inventory, T.svc), {
      capacityProviderStrategies: [
        { capacityProvider: 'FARGATE', base: 4, weight: 1 },
        { capacityProvider: 'FARGATE_SPOT', base: 0, weight: 1 },
      ],
    })
  })

  it('runs on-demand only when spotWeight is 0 (eu-west)', async () => {
    const { inventory } = await stack('eu-west')
    hasProps(one(inventory, T.svc), {
      capacityProviderStrategies: [{ capacityProvider: 'FARGATE', base: 4, weight: 1 }],
    })
    expect(all(inventory, T.svc)).to.have.length(1)
  })
})
