import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { stack } from './helpers.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Workflows and docs that read stack outputs by name (CI jobs, operators' commands). */
function readers(): { file: string; text: string }[] {
  const dirs = ['.github/workflows', 'docs', 'docs/runbooks']
  return dirs.flatMap((dir) =>
    readdirSync(`${root}${dir}`)
      .filter((f) => /\.(ya?ml|md)$/.test(f))
      .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(`${root}${dir}/${f}`, 'utf8') })),
  )
}

/** Output names in `pulumi stack output [flags] NAME` and in jq filters over a saved outputs document. */
export function outputNamesRead(text: string): string[] {
  const names = new Set<string>()
  for (const m of text.matchAll(/pulumi stack output([^\n`)|>;]*)/g)) {
    const tokens = (m[1] ?? '').trim().split(/\s+/).filter(Boolean)
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as string
      if (t === '--stack' || t === '-s') i++
      else if (!t.startsWith('-') && /^[a-z][A-Za-z]+$/.test(t)) {
        names.add(t)
        break
      }
    }
  }
  for (const line of text.split('\n')) {
    if (!/outputs\.json|<<<"\$outputs"/.test(line)) continue
    for (const filter of line.matchAll(/jq -[a-z]+ '([^']*)'/g))
      for (const key of (filter[1] ?? '').matchAll(/\.([a-z][A-Za-z]+)/g)) names.add(key[1] as string)
  }
  return [...names]
}

describe('stack output names read outside the program', () => {
  it('finds the names in both command shapes', () => {
    expect(
      outputNamesRead(
        'a=$(pulumi stack output --stack "$STACK" clusterName)\nb=$(jq -er \'.dbIdentifier\' <<<"$outputs")',
      ),
    ).to.deep.equal(['clusterName', 'dbIdentifier'])
  })

  it('every output a workflow or a doc reads is one the program declares (a rename fails here, not in a deploy)', async () => {
    const declared = new Set<string>()
    for (const name of ['us-east', 'eu-west'] as const) {
      for (const key of Object.keys((await stack(name)).outputs)) declared.add(key)
    }
    const unknown = readers().flatMap(({ file, text }) =>
      outputNamesRead(text)
        .filter((n) => !declared.has(n))
        .map((n) => `${file}: ${n}`),
    )
    expect(readers().flatMap(({ text }) => outputNamesRead(text))).to.include('migrationTaskDefinitionArn')
    expect(unknown).to.deep.equal([])
  })
})
