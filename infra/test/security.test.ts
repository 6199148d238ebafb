import { expect } from 'chai'
import type { StackName } from '../src/config.js'
import { all, idOf, list, one, only, type PolicyStatement, stack, statements } from './helpers.js'

const allowed = (st: PolicyStatement[]) => st.filter((s) => s.Effect === 'Allow')
const actionsOf = (st: PolicyStatement[]) => st.flatMap((s) => list(s.Action))

for (const name of ['us-east', 'eu-west'] as StackName[]) {
  describe(`security (${name})`, () => {
    it('lets the execution role pull only the service repository, write only its log group, read exactly its secrets', async () => {
      const { inventory } = await stack(name)
      const st = allowed(statements(one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-execution')))
      const region = inventory.region
      const byAction = (a: string) => st.filter((s) => list(s.Action).includes(a))
      expect(byAction('ecr:BatchGetImage')[0]?.Resource).to.equal(
        `arn:aws:ecr:${region}:123456789012:repository/blueprint-service`,
      )
      expect(byAction('ecr:GetAuthorizationToken')[0]?.Resource).to.equal('*')
      expect(byAction('logs:PutLogEvents')[0]?.Resource).to.equal(
        `arn:aws:logs:${region}:123456789012:log-group:/ecs/blueprint-${name}:*`,
      )
      // No credential at all: the service and migrations reach PostgreSQL and Redis with IAM tokens; the master
      // secret is the bootstrap execution role's alone. IAM refuses a statement without resources, so none.
      expect(byAction('secretsmanager:GetSecretValue')).to.deep.equal([])
      // The funding webhook key joins (service container only) once the operator sets service.fundingWebhook:
      // production-config.test.ts.
      // Wildcards only where AWS offers no resource-level permission.
      for (const s of st) {
        if (list(s.Resource).includes('*'))
          expect(list(s.Action)).to.deep.equal(['ecr:GetAuthorizationToken'])
      }
    })

    it('lets the task role reach only its bucket prefixes, X-Ray and the writer-endpoint parameter', async () => {
      const { inventory } = await stack(name)
      const st = allowed(statements(one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-task')))
      const objects = st
        .filter((s) => list(s.Action).includes('s3:PutObject'))
        .flatMap((s) => list(s.Resource))
      expect(objects).to.deep.equal([`arn:aws:s3:::blueprint-${name}-uploads-123456789012/users/*`])
      const list_ = only(st.filter((x) => list(x.Action).includes('s3:ListBucket')))
      expect(list_.Resource).to.equal(`arn:aws:s3:::blueprint-${name}-uploads-123456789012`)
      expect(list_.Condition?.StringLike?.['s3:prefix']).to.equal('users/*')
      const wildcard = st.filter((s) => list(s.Resource).includes('*'))
      expect(actionsOf(wildcard).every((a) => a.startsWith('xray:'))).to.equal(true)
      expect(actionsOf(st).some((a) => a === 's3:*' || a === '*')).to.equal(false)
      const ssm = st.find((s) => list(s.Action).includes('ssm:GetParameter'))
      expect(ssm?.Resource).to.deep.equal([
        `arn:aws:ssm:${inventory.region}:123456789012:parameter/blueprint/${name}/db/writer-endpoint`,
      ])
    })

    it('lets the task role connect to Redis with IAM as exactly its replication group and user', async () => {
      const { inventory } = await stack(name)
      const st = allowed(statements(one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-task')))
      const connect = st.filter((s) => actionsOf([s]).some((a) => a.startsWith('elasticache:')))
      const account = `${inventory.region}:123456789012`
      expect(connect).to.deep.equal([
        {
          Effect: 'Allow',
          Action: 'elasticache:Connect',
          Resource: [
            `arn:aws:elasticache:${account}:replicationgroup:blueprint-${name}-redis`,
            `arn:aws:elasticache:${account}:user:blueprint-${name}-redis-service`,
          ],
        },
      ])
      // The migration and bootstrap tasks never touch Redis.
      const migrator = statements(one(inventory, 'aws:iam/rolePolicy:RolePolicy', '-migrator'))
      expect(actionsOf(migrator).filter((a) => a.startsWith('elasticache:'))).to.deep.equal([])
    })

    it('uses separate execution and task roles, both assumable only by ECS tasks', async () => {
      const { inventory } = await stack(name)
      const td = one(inventory, 'aws:ecs/taskDefinition:TaskDefinition', '-service')
      expect(td.inputs.executionRoleArn).to.not.equal(td.inputs.taskRoleArn)
      for (const role of [
        one(inventory, 'aws:iam/role:Role', '-execution'),
        one(inventory, 'aws:iam/role:Role', '-task'),
      ]) {
        expect(statements(role, 'assumeRolePolicy')[0]?.Principal).to.deep.equal({
          Service: 'ecs-tasks.amazonaws.com',
        })
        expect(
          td.inputs.executionRoleArn === `arn:aws:iam::123456789012:role/${idOf(role)}` ||
            td.inputs.taskRoleArn === `arn:aws:iam::123456789012:role/${idOf(role)}`,
        ).to.equal(true)
      }
    })

    it('rotates every KMS key', async () => {
      const { inventory } = await stack(name)
      const keys = all(inventory, 'aws:kms/key:Key')
      expect(keys.length).to.be.greaterThan(0)
      for (const k of keys) expect(k.inputs.enableKeyRotation, k.name).to.equal(true)
    })
  })
}
