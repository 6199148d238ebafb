// Every URN of both stacks, recorded before the region was reshaped: a refactor that renames a resource or moves
// it to another parent changes its URN, and Pulumi then deletes the old resource and creates a new one (for a
// protected database, bucket or key the update fails; for anything else it is a silent replacement). A URN may
// only leave this list when the resource that replaces it declares the old URN as an alias.
//
// Regenerate only for a deliberate change of resources: UPDATE_URN_FIXTURE=1 on this spec, and say why in the commit.
import { readFileSync, writeFileSync } from 'node:fs'
import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import { expect } from 'chai'
import { runUnderMocks } from '../plan/inventory.js'
import type { StackName } from '../src/config.js'
import { stack } from './helpers.js'

const FIXTURE = 'infra/test/fixtures/urns.json'
const STACKS: StackName[] = ['us-east', 'eu-west']

interface Now {
  urns: string[]
  aliases: string[]
  /** URN -> the old URNs it declares as aliases. */
  movedFrom: Map<string, string[]>
}

async function current(): Promise<Record<string, Now>> {
  const out: Record<string, Now> = {}
  for (const s of STACKS) {
    const { inventory } = await stack(s)
    out[s] = {
      urns: inventory.resources.map((r) => r.urn).sort(),
      aliases: inventory.resources.flatMap((r) => r.aliases ?? []),
      movedFrom: new Map(inventory.resources.map((r) => [r.urn, r.aliases ?? []])),
    }
  }
  return out
}

describe('URNs of both stacks (infra/test/fixtures/urns.json)', () => {
  it('keeps every recorded URN, or aliases it from the resource that replaced it', async () => {
    const now = await current()
    if (process.env.UPDATE_URN_FIXTURE === '1') {
      const record = Object.fromEntries(STACKS.map((s) => [s, now[s]?.urns]))
      writeFileSync(FIXTURE, `${JSON.stringify(record, null, 2)}\n`)
    }
    const recorded = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, string[]>
    for (const s of STACKS) {
      const urns = recorded[s] ?? []
      expect(urns.length, `${s}: recorded URNs`).to.be.greaterThan(100)
      const have = new Set([...(now[s]?.urns ?? []), ...(now[s]?.aliases ?? [])])
      expect(
        urns.filter((u) => !have.has(u)),
        `${s}: URNs lost (renamed or reparented without an alias)`,
      ).to.deep.equal([])
    }
  })

  it('adds no resource the recorded stacks did not have (a reshape moves code, not resources)', async () => {
    const now = await current()
    const recorded = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, string[]>
    for (const s of STACKS) {
      const known = new Set(recorded[s])
      // A URN that aliases a recorded one is that resource moved, not a new one.
      const moved = (u: string) => (now[s]?.movedFrom.get(u) ?? []).some((a) => known.has(a))
      expect(
        (now[s]?.urns ?? []).filter((u) => !known.has(u) && !moved(u)),
        `${s}: new URNs`,
      ).to.deep.equal([])
    }
  })

  it('reads aliases as the engine receives them (specs defaulting to the resource), so a moved resource counts', async () => {
    const { resources } = await runUnderMocks('us-east', {}, () => {
      const parent = new pulumi.ComponentResource('blueprint:test:Group', 'group')
      new aws.ssm.Parameter(
        'renamed',
        { type: 'String', insecureValue: 'x' },
        { parent, aliases: [{ name: 'old-name' }, { name: 'top-level', parent: pulumi.rootStackResource }] },
      )
    })
    const moved = resources.find((r) => r.name === 'renamed')
    expect(moved?.urn).to.equal(
      'urn:pulumi:us-east::blueprint::blueprint:test:Group$aws:ssm/parameter:Parameter::renamed',
    )
    expect(moved?.aliases).to.deep.equal([
      'urn:pulumi:us-east::blueprint::blueprint:test:Group$aws:ssm/parameter:Parameter::old-name',
      'urn:pulumi:us-east::blueprint::aws:ssm/parameter:Parameter::top-level',
    ])
  })
})
