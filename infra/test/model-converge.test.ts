import * as aws from '@pulumi/aws'
import { expect } from 'chai'
import {
  configSet,
  deployEffects,
  driftAfterDeploy,
  failbackCheck,
  printedFailbackPlan,
  runPlan,
} from '../plan/checks/converge.js'
import { runUnderMocks, stackConfig } from '../plan/inventory.js'

const IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/blueprint-service:deadbeef'

const workflow = (run: string) => `
name: deploy-stack
on: workflow_call
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      STACK: x
    steps:
      - run: |
${run
  .split('\n')
  .map((l) => `          ${l}`)
  .join('\n')}
`

describe('offline model: failback and drift', () => {
  it('applies pulumi config set --path to a nested key as the CLI does', () => {
    const next = configSet(stackConfig('us-east'), 'blueprint:database.readReplicas', '0', true)
    expect(JSON.parse(next['blueprint:database'] as string)).to.include({
      role: 'primary',
      readReplicas: '0',
    })
  })

  // Fails while the printed plan leaves readReplicas at 1 and replaces the protected databases (infra-fixes).
  it('the printed failback plan runs: every pulumi up accepted, nothing stateful replaced', async () => {
    const steps = await failbackCheck()
    expect(steps.length).to.be.greaterThan(0)
    expect(
      steps.filter((s) => !s.ok),
      JSON.stringify(
        steps.filter((s) => !s.ok),
        null,
        2,
      ),
    ).to.deep.equal([])
  })

  it('fires on a step the config validation refuses (a replica-role region with same-region readers)', async () => {
    const plan = [
      'A.3  Apply:',
      'pulumi config set --stack us-east --path blueprint:database.role replica',
      'pulumi config set --stack us-east --path blueprint:database.sourceStack organization/blueprint/eu-west',
      'pulumi up --stack us-east --yes',
    ]
    const [step] = await runPlan(plan, { 'us-east': stackConfig('us-east') })
    expect(step?.ok).to.equal(false)
    expect(step?.errors.join()).to.include('database.readReplicas')
  })

  it('fires on a step that replaces the protected database', async () => {
    const plan = [
      'B.1 x',
      'pulumi config set --stack us-east --path blueprint:database.identifier blueprint-us-east-db-2',
      'pulumi up --stack us-east',
    ]
    const [step] = await runPlan(plan, { 'us-east': stackConfig('us-east') })
    expect(step?.ok).to.equal(false)
    expect(step?.changes.find((c) => c.error)?.error).to.include('protected')
  })

  it('fires on a placeholder the operator cannot fill', async () => {
    const plan = [
      'C.1 x',
      'pulumi config set --stack us-east --path blueprint:database.instanceClass <your class>',
      'pulumi up --stack us-east',
    ]
    const [step] = await runPlan(plan, { 'us-east': stackConfig('us-east') })
    expect(step?.errors).to.deep.equal([
      'blueprint:database.instanceClass: placeholder <your class> has no value',
    ])
  })

  it('passes a step the program accepts with in-place changes only', async () => {
    const plan = [
      'D.1 x',
      'pulumi config set --stack us-east --path blueprint:database.instanceClass db.r6g.4xlarge',
      'pulumi up --stack us-east',
    ]
    const [step] = await runPlan(plan, { 'us-east': stackConfig('us-east') })
    expect(step, JSON.stringify(step)).to.deep.include({ ok: true, errors: [] })
  })

  it('reads the printed plan from infra/dr (pulumi up per rebuilt stack)', () => {
    expect(printedFailbackPlan().filter((l) => /pulumi up --stack/.test(l)).length).to.be.greaterThan(1)
  })

  it('reads what a deploy job records: runner config, commits, SSM parameters', () => {
    expect(
      deployEffects(
        workflow('pulumi config set --stack "$STACK" --path "$CONFIG_PATH" "$IMAGE"'),
        'eu-west',
        'service.image',
      ),
    ).to.deep.include({
      runnerConfig: ['service.image'],
      commitsStackFile: false,
      parameters: [],
    })
    const ssm = deployEffects(
      workflow('aws ssm put-parameter --overwrite --name "/blueprint/$STACK/service/image" --value "$IMAGE"'),
      'eu-west',
      'service.image',
    )
    expect(ssm.parameters).to.deep.equal(['/blueprint/eu-west/service/image'])
  })

  it('fires when the deploy keeps the image only in the runner copy of the stack file', async () => {
    const { diffs, deployed } = await driftAfterDeploy(
      'us-east',
      IMAGE,
      workflow('pulumi config set --stack "$STACK" --path "$CONFIG_PATH" "$IMAGE"'),
    )
    expect(deployed).to.equal(true)
    expect(diffs.map((d) => d.name)).to.include('blueprint-us-east-service')
  })

  it('passes when the deploy commits the stack file it changed', async () => {
    const run =
      'pulumi config set --stack "$STACK" --path "$CONFIG_PATH" "$IMAGE"\ngit commit -am deploy && git push'
    const { diffs, deployed } = await driftAfterDeploy('us-east', IMAGE, workflow(run))
    expect({ diffs, deployed }).to.deep.equal({ diffs: [], deployed: true })
  })

  it('fires when the deploy records the image nowhere the program reads', async () => {
    const { deployed } = await driftAfterDeploy('us-east', IMAGE, workflow('echo "$IMAGE"'))
    expect(deployed).to.equal(false)
  })

  // Fails while the deploy workflow only `pulumi config set`s the image on the runner (infra-fixes).
  it('the real deploy workflow: a drift preview right after a deploy shows no diff', async () => {
    const { diffs, deployed } = await driftAfterDeploy('eu-west', IMAGE.replace('us-east-1', 'eu-west-1'))
    expect({ diffs, deployed }).to.deep.equal({ diffs: [], deployed: true })
  })
})

describe('offline model: deploy state in SSM', () => {
  const NAME = '/blueprint/us-east/service/image'
  /** A parameter seeded from config whose value feeds a task-like resource, as a region reads its image. */
  const program = (ignore: boolean) => () => {
    const p = new aws.ssm.Parameter(
      'image',
      { name: NAME, type: 'String', insecureValue: 'seed:1' },
      ignore ? { ignoreChanges: ['insecureValue'] } : {},
    )
    new aws.ssm.Parameter('consumer', { name: '/consumer', type: 'String', insecureValue: p.insecureValue })
    return {}
  }
  const consumer = (resources: { name: string; inputs: Record<string, unknown> }[]) =>
    resources.find((r) => r.name === 'consumer')?.inputs.insecureValue

  it('a refreshed run reads a value-ignored parameter from SSM; without ignoreChanges or refresh it keeps its input', async () => {
    const parameters = { [NAME]: 'deployed:2' }
    expect(consumer((await runUnderMocks('us-east', {}, program(true), { parameters })).resources)).to.equal(
      'deployed:2',
    )
    expect(consumer((await runUnderMocks('us-east', {}, program(false), { parameters })).resources)).to.equal(
      'seed:1',
    )
    const stale = await runUnderMocks('us-east', {}, program(true), { parameters, refresh: false })
    expect(consumer(stale.resources)).to.equal('seed:1')
  })

  it('reads a parameter named by a stack output and a refreshing pulumi up', () => {
    const text = `
jobs:
  deploy:
    steps:
      - run: aws ssm put-parameter --overwrite --type String --name "$(jq -er '.imageParameter' "$RUNNER_TEMP/outputs.json")" --value "$IMAGE"
      - uses: pulumi/actions@v6
        with:
          command: up
          refresh: true
`
    expect(deployEffects(text, 'us-east', 'service.image')).to.deep.include({
      parameterOutputs: ['imageParameter'],
      refreshes: true,
      runnerConfig: [],
    })
  })
})
