import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import { COLLECTOR_MEMORY_MIB, type ServiceConfig } from './config.js'
import type { Ingress } from './ingress.js'
import type { Keys } from './keys.js'
import type { Network } from './network.js'
import { OPERATOR_SECRETS, type OperatorSecretFlag, operatorSecret } from './operator-secrets.js'
import { serviceTelemetryEnvironment } from './telemetry.js'

export interface TaskSecurityGroupArgs {
  vpcId: pulumi.Input<string>
  /** The ALB's security group: the only source allowed in. */
  albSecurityGroupId: pulumi.Input<string>
  /** Container port. */
  port: number
}

/** Security group of the service tasks; created before the data stores so they can admit it. */
export class TaskSecurityGroup extends pulumi.ComponentResource {
  readonly id: pulumi.Output<string>
  constructor(name: string, args: TaskSecurityGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:service:TaskSecurityGroup', name, {}, opts)
    const sg = new aws.ec2.SecurityGroup(
      `${name}-tasks-sg`,
      {
        vpcId: args.vpcId,
        description: 'Service tasks: only from the ALB',
        ingress: [
          {
            protocol: 'tcp',
            fromPort: args.port,
            toPort: args.port,
            securityGroups: [args.albSecurityGroupId],
            description: 'ALB',
          },
        ],
        // Tasks call AWS APIs, PostgreSQL, Redis and the OTLP exporters; egress is not the exposure we guard.
        egress: [
          { protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'], description: 'all out' },
        ],
        tags: { Name: `${name}-tasks` },
      },
      { parent: this },
    )
    this.id = sg.id
    this.registerOutputs({ id: this.id })
  }
}

/** Trust policy of every task and execution role here: assumable by ECS tasks only. */
const ECS_TASKS_ASSUME = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
})

/** One secret the container receives as an environment variable. */
export interface ContainerSecret {
  /** Environment variable name inside the container. */
  name: string
  /** Secret ARN (the execution role is granted exactly these). */
  secretArn: pulumi.Input<string>
  /** JSON key inside the secret, for secrets holding a JSON document (RDS-managed credentials). */
  jsonKey?: string
}

/** Environment and IAM database users of the migration task. */
export interface MigrationIdentity {
  environment: Record<string, pulumi.Input<string>>
  databaseConnectArns: pulumi.Input<string>[]
}

/**
 * A task definition for the one-time role bootstrap. Its execution role alone may read the RDS-managed master
 * secret of `masterDbInstanceArn` (RDS tags the secret with the instance ARN; its name changes each time
 * management is switched on, so the deploy job adds the secret to the container when it starts the task).
 */
export interface BootstrapTask {
  command: string[]
  environment: Record<string, pulumi.Input<string>>
  masterDbInstanceArn: pulumi.Input<string>
}

/** What a region gives the service besides its typed config (ServiceConfig documents each setting). */
export interface ServiceArgs extends ServiceConfig {
  /** ECS cluster name. */
  clusterName: string
  /** The region's network: the tasks run in its private subnets. */
  network: Pick<Network, 'privateSubnetIds'>
  /** The tasks' security group (created before the data stores, which admit it). */
  tasks: Pick<TaskSecurityGroup, 'id'>
  /** The ALB: the service registers in its target group and waits for it (its listener attaches the group). */
  ingress: pulumi.Resource & Pick<Ingress, 'targetGroupArn'>
  /** Environment passed to the service and migration containers. */
  environment: Record<string, pulumi.Input<string>>
  /** Secrets injected from Secrets Manager. */
  secrets: ContainerSecret[]
  /**
   * Secrets only the migration task gets (the schema owner's credentials); an environment variable of the same
   * name is dropped from that task. The service itself never receives them. @default none
   */
  migrationSecrets?: ContainerSecret[]
  /** `rds-db:connect` resources (`arn:aws:rds-db:<region>:<account>:dbuser:<resource id>/<user>`). @default none */
  databaseConnectArns?: pulumi.Input<string>[]
  /**
   * `elasticache:Connect` resources of the service's IAM login to Redis: the replication group's ARN and its
   * user's ARN (IAM authorizes a connection only when both are allowed). @default none
   */
  redisConnectArns?: pulumi.Input<string>[]
  /**
   * The migration task's own database identity: environment that overrides the service's (its DATABASE_URL
   * names the migrator role) and the `rds-db:connect` resources of its own task role, so the service's role
   * cannot connect as the schema owner and the migration's cannot connect as the service.
   * @default the service's environment and task role
   */
  migration?: MigrationIdentity
  /** The role-bootstrap task, run as the RDS master by the deploy job (docs/delivery.md). @default none */
  bootstrap?: BootstrapTask
  /** The region's key: it encrypts the secrets and the log group. */
  keys: Pick<Keys, 'keyArn'>
  /** Bucket ARNs and the object prefix the task may use in each. */
  bucketAccess: { arn: pulumi.Input<string>; prefix: string }[]
  /** SSM parameters the task reads at run time (the writer endpoint). */
  parameterArns: pulumi.Input<string>[]
  region: string
  /**
   * Image the service and migration containers run, when it differs from `image` (the SSM-recorded deploy).
   * `image` still names the ECR repository the execution role may pull from. @default image
   */
  deployedImage?: pulumi.Input<string>
  /** Collector sidecar environment: its config and targets (telemetry.ts `collectorEnvironment`). */
  collectorEnvironment: Record<string, pulumi.Input<string>>
}

/** ECS Fargate service behind the ALB with autoscaling, plus the migration task definition. */
export class Service extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>
  readonly clusterArn: pulumi.Output<string>
  readonly serviceName: pulumi.Output<string>
  readonly migrationTaskDefinitionArn: pulumi.Output<string>
  readonly migrationTaskFamily: string
  /** The role-bootstrap task definition (when `bootstrap` is set). */
  readonly bootstrapTaskDefinitionArn?: pulumi.Output<string>
  readonly logGroupName: pulumi.Output<string>
  /** The task role, for components that grant the service more (mail.ts). */
  readonly taskRoleName: pulumi.Output<string>

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('blueprint:service:Service', name, {}, opts)
    const parent = { parent: this }
    const kmsKeyArn = args.keys.keyArn

    const cluster = new aws.ecs.Cluster(
      `${name}-cluster`,
      { name: args.clusterName, settings: [{ name: 'containerInsights', value: 'enabled' }] },
      parent,
    )
    const capacity = new aws.ecs.ClusterCapacityProviders(
      `${name}-capacity`,
      {
        clusterName: cluster.name,
        capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
        defaultCapacityProviderStrategies: [
          { capacityProvider: 'FARGATE', base: args.onDemandBase, weight: 1 },
        ],
      },
      parent,
    )
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-service-logs`,
      { name: `/ecs/${args.clusterName}`, retentionInDays: args.logRetentionDays, kmsKeyId: kmsKeyArn },
      parent,
    )
    this.logGroupName = logGroup.name

    // Only the service container gets it (not the migration task); the operator sets its value. It is
    // referenced only after the operator says so: ECS fails every task start on a secret without a
    // version, and the circuit breaker would roll each deploy back (docs/infrastructure.md).
    const flags = Object.keys(OPERATOR_SECRETS) as OperatorSecretFlag[]
    const operatorSecrets = flags.flatMap((flag) => {
      const secret = operatorSecret(flag, name, { clusterName: args.clusterName, kmsKeyArn }, parent)
      return args[flag] ? [secret] : []
    })
    const serviceSecrets = [...args.secrets, ...operatorSecrets]
    const repoArn = ecrRepositoryArn(args.image)
    // What every execution role here needs: pull the service image, write its log streams, decrypt with the key.
    const pullAndLog = [
      // GetAuthorizationToken has no resource-level permissions.
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      ...(repoArn
        ? [
            {
              Effect: 'Allow',
              Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
              Resource: repoArn,
            },
          ]
        : []),
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: pulumi.interpolate`${logGroup.arn}:*`,
      },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: kmsKeyArn },
    ]
    const readableSecrets = [
      ...new Set([...serviceSecrets, ...(args.migrationSecrets ?? [])].map((s) => s.secretArn)),
    ]
    const executionRole = new aws.iam.Role(
      `${name}-execution`,
      { assumeRolePolicy: ECS_TASKS_ASSUME },
      parent,
    )
    new aws.iam.RolePolicy(
      `${name}-execution`,
      {
        role: executionRole.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            ...pullAndLog.slice(0, -1),
            // IAM refuses a statement without resources: none when no container receives a secret.
            ...(readableSecrets.length
              ? [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: readableSecrets }]
              : []),
            ...pullAndLog.slice(-1),
          ],
        }),
      },
      parent,
    )

    const taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy: ECS_TASKS_ASSUME }, parent)
    this.taskRoleName = taskRole.name
    new aws.iam.RolePolicy(
      `${name}-task`,
      {
        role: taskRole.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            ...args.bucketAccess.map((b) => ({
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
              Resource: pulumi.interpolate`${b.arn}/${b.prefix}/*`,
            })),
            ...args.bucketAccess.map((b) => ({
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: b.arn,
              Condition: { StringLike: { 's3:prefix': `${b.prefix}/*` } },
            })),
            {
              Effect: 'Allow',
              Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
              Resource: kmsKeyArn,
              Condition: { StringLike: { 'kms:ViaService': `s3.${args.region}.amazonaws.com` } },
            },
            { Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: args.parameterArns },
            ...(args.databaseConnectArns?.length
              ? [{ Effect: 'Allow', Action: 'rds-db:connect', Resource: args.databaseConnectArns }]
              : []),
            ...(args.redisConnectArns?.length
              ? [{ Effect: 'Allow', Action: 'elasticache:Connect', Resource: args.redisConnectArns }]
              : []),
          ],
        }),
      },
      parent,
    )

    // The migration (and bootstrap) task's own role: the writer-endpoint parameter and the migrator's IAM login.
    const migrationTaskRole = args.migration
      ? new aws.iam.Role(`${name}-migrator`, { assumeRolePolicy: ECS_TASKS_ASSUME }, parent)
      : taskRole
    if (args.migration) {
      new aws.iam.RolePolicy(
        `${name}-migrator`,
        {
          role: migrationTaskRole.id,
          policy: pulumi.jsonStringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: args.parameterArns },
              { Effect: 'Allow', Action: 'rds-db:connect', Resource: args.migration.databaseConnectArns },
            ],
          }),
        },
        parent,
      )
    }

    const toEnvironment = (env: Record<string, pulumi.Input<string>>) =>
      Object.entries(env).map(([n, value]) => ({ name: n, value }))
    const environment = toEnvironment(args.environment)
    const toSecret = (s: ContainerSecret) => ({
      name: s.name,
      valueFrom: s.jsonKey ? pulumi.interpolate`${s.secretArn}:${s.jsonKey}::` : s.secretArn,
    })
    const secrets = serviceSecrets.map(toSecret)
    const migrationOnly = new Set((args.migrationSecrets ?? []).map((s) => s.name))
    const migrationSecrets = [
      ...args.secrets.filter((s) => !migrationOnly.has(s.name)),
      ...(args.migrationSecrets ?? []),
    ].map(toSecret)
    const migrationEnvironment = toEnvironment({
      ...args.environment,
      ...args.migration?.environment,
    }).filter((e) => !migrationOnly.has(e.name))
    const logs = (prefix: string) => ({
      logDriver: 'awslogs',
      options: {
        'awslogs-group': logGroup.name,
        'awslogs-region': args.region,
        'awslogs-stream-prefix': prefix,
      },
    })
    const taskDefinition = (
      family: string,
      containers: unknown[],
      roles: { execution: aws.iam.Role; task: aws.iam.Role } = { execution: executionRole, task: taskRole },
    ) =>
      new aws.ecs.TaskDefinition(
        `${name}-${family}`,
        {
          family: `${args.clusterName}-${family}`,
          cpu: String(args.cpu),
          memory: String(args.memory),
          networkMode: 'awsvpc',
          requiresCompatibilities: ['FARGATE'],
          runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
          executionRoleArn: roles.execution.arn,
          taskRoleArn: roles.task.arn,
          containerDefinitions: pulumi.jsonStringify(containers),
          // The root filesystem is read-only; /tmp is a task-scoped scratch volume.
          volumes: [{ name: 'tmp' }],
        },
        parent,
      )

    const app = {
      name: 'service',
      image: args.deployedImage ?? args.image,
      essential: true,
      portMappings: [{ containerPort: args.port, protocol: 'tcp' }],
      environment: [
        ...environment,
        { name: 'PORT', value: String(args.port) },
        ...Object.entries(serviceTelemetryEnvironment(args.region)).map(([n, value]) => ({ name: n, value })),
      ],
      secrets,
      stopTimeout: args.stopTimeoutSeconds,
      logConfiguration: logs('service'),
      dependsOn: [{ containerName: 'otel-collector', condition: 'START' }],
      readonlyRootFilesystem: true,
      mountPoints: [{ sourceVolume: 'tmp', containerPath: '/tmp' }],
      user: '1000',
    }
    const collector = {
      name: 'otel-collector',
      image: args.collectorImage,
      // Losing telemetry must not stop the service: a failing sidecar is restarted with the task
      // at the next deployment, and the SDK drops what it cannot send.
      essential: false,
      // Our config (telemetry.ts) in AOT_CONFIG_CONTENT; permissions in telemetry.ts too.
      environment: Object.entries(args.collectorEnvironment).map(([n, value]) => ({ name: n, value })),
      cpu: 128,
      memory: COLLECTOR_MEMORY_MIB,
      logConfiguration: logs('otel'),
    }
    const serviceTask = taskDefinition('service', [app, collector])
    const oneOff = (container: string, command: string[], env: unknown[], secrets: unknown[]) => ({
      name: container,
      image: args.deployedImage ?? args.image,
      essential: true,
      command,
      environment: env,
      secrets,
      logConfiguration: logs(container),
      readonlyRootFilesystem: true,
      mountPoints: [{ sourceVolume: 'tmp', containerPath: '/tmp' }],
      user: '1000',
    })
    const migrationTask = taskDefinition(
      'migrate',
      [oneOff('migrate', args.migrationCommand, migrationEnvironment, migrationSecrets)],
      { execution: executionRole, task: migrationTaskRole },
    )
    if (args.bootstrap) {
      this.bootstrapTaskDefinitionArn = this.bootstrapTask(name, args.bootstrap, pullAndLog, (execution) =>
        taskDefinition(
          'bootstrap',
          [
            oneOff(
              'bootstrap',
              args.bootstrap?.command ?? [],
              toEnvironment(args.bootstrap?.environment ?? {}),
              [],
            ),
          ],
          { execution, task: migrationTaskRole },
        ),
      )
    }
    this.migrationTaskDefinitionArn = migrationTask.arn
    this.migrationTaskFamily = `${args.clusterName}-migrate`

    const strategies = [
      { capacityProvider: 'FARGATE', base: args.onDemandBase, weight: 1 },
      ...(args.spotWeight > 0
        ? [{ capacityProvider: 'FARGATE_SPOT', base: 0, weight: args.spotWeight }]
        : []),
    ]
    const service = new aws.ecs.Service(
      `${name}-service`,
      {
        name: `${args.clusterName}-service`,
        cluster: cluster.arn,
        taskDefinition: serviceTask.arn,
        desiredCount: args.minTasks,
        capacityProviderStrategies: strategies,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        healthCheckGracePeriodSeconds: args.healthCheckGraceSeconds,
        networkConfiguration: {
          subnets: args.network.privateSubnetIds,
          securityGroups: [args.tasks.id],
          assignPublicIp: false,
        },
        loadBalancers: [
          { targetGroupArn: args.ingress.targetGroupArn, containerName: 'service', containerPort: args.port },
        ],
        enableEcsManagedTags: true,
        propagateTags: 'SERVICE',
        waitForSteadyState: false,
      },
      // The autoscaler owns the task count after creation; a deploy must not reset it.
      // A capacity-provider strategy is rejected until the cluster has those providers attached.
      { parent: this, ignoreChanges: ['desiredCount'], dependsOn: [capacity, args.ingress] },
    )
    this.clusterName = cluster.name
    this.clusterArn = cluster.arn
    this.serviceName = service.name

    const target = new aws.appautoscaling.Target(
      `${name}-scaling`,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
        minCapacity: args.minTasks,
        maxCapacity: args.maxTasks,
      },
      parent,
    )
    const scalingTarget = {
      serviceNamespace: target.serviceNamespace,
      scalableDimension: target.scalableDimension,
      resourceId: target.resourceId,
    }
    // Target tracking holds ~cpuTarget; its own scale-in is off so the slower, explicit scale-in below decides.
    new aws.appautoscaling.Policy(
      `${name}-cpu-target`,
      {
        ...scalingTarget,
        policyType: 'TargetTrackingScaling',
        targetTrackingScalingPolicyConfiguration: {
          targetValue: args.cpuTarget,
          predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          disableScaleIn: true,
          scaleOutCooldown: 60,
        },
      },
      parent,
    )
    const stepPolicy = (kind: 'out' | 'in', adjustment: number, cooldown: number) =>
      new aws.appautoscaling.Policy(
        `${name}-scale-${kind}`,
        {
          ...scalingTarget,
          policyType: 'StepScaling',
          stepScalingPolicyConfiguration: {
            adjustmentType: 'PercentChangeInCapacity',
            minAdjustmentMagnitude: 1,
            cooldown,
            metricAggregationType: 'Average',
            stepAdjustments: [
              kind === 'out'
                ? { metricIntervalLowerBound: '0', scalingAdjustment: adjustment }
                : { metricIntervalUpperBound: '0', scalingAdjustment: adjustment },
            ],
          },
        },
        parent,
      )
    const scaleOut = stepPolicy('out', 50, 60)
    const scaleIn = stepPolicy('in', -10, 300)
    const cpuAlarm = (
      kind: 'out' | 'in',
      threshold: number,
      minutes: number,
      policy: aws.appautoscaling.Policy,
    ) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-scale-${kind}`,
        {
          alarmDescription: `Scale ${kind}: service CPU ${kind === 'out' ? '>' : '<'} ${threshold}% for ${minutes} min`,
          namespace: 'AWS/ECS',
          metricName: 'CPUUtilization',
          dimensions: { ClusterName: cluster.name, ServiceName: service.name },
          statistic: 'Average',
          period: 60,
          evaluationPeriods: minutes,
          datapointsToAlarm: minutes,
          threshold,
          comparisonOperator: kind === 'out' ? 'GreaterThanThreshold' : 'LessThanThreshold',
          alarmActions: [policy.arn],
        },
        parent,
      )
    cpuAlarm('out', args.cpuTarget, args.scaleOutMinutes, scaleOut)
    cpuAlarm('in', args.scaleInCpu, args.scaleInMinutes, scaleIn)
    this.registerOutputs({ clusterName: this.clusterName, serviceName: this.serviceName })
  }

  /**
   * The bootstrap's own execution role: the only role that may read the master secret, and only the one RDS
   * made for this stack's instance (RDS-managed secrets are named `rds!db-<uuid>` and tagged with the instance).
   */
  private bootstrapTask(
    name: string,
    bootstrap: BootstrapTask,
    pullAndLog: unknown[],
    define: (execution: aws.iam.Role) => aws.ecs.TaskDefinition,
  ): pulumi.Output<string> {
    const role = new aws.iam.Role(
      `${name}-bootstrap`,
      { assumeRolePolicy: ECS_TASKS_ASSUME },
      { parent: this },
    )
    const instance = pulumi.output(bootstrap.masterDbInstanceArn)
    // arn:aws:rds:<region>:<account>:db:<id> -> the secrets of that region and account.
    const secrets = instance.apply((arn) => {
      const [, partition, , region, account] = arn.split(':')
      return `arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`
    })
    new aws.iam.RolePolicy(
      `${name}-bootstrap`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            ...pullAndLog,
            {
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: secrets,
              Condition: {
                StringEquals: { 'secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn': instance },
              },
            },
          ],
        }),
      },
      { parent: this },
    )
    return define(role).arn
  }
}

/** ARN of the ECR repository an image URI points at, or undefined for images outside ECR. */
export function ecrRepositoryArn(image: string): string | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)/.exec(image)
  return m ? `arn:aws:ecr:${m[2]}:${m[1]}:repository/${m[3]}` : undefined
}
