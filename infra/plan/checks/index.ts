// Every offline check over both stacks, as one report: what `npm run plan:check` prints.
import type { StackName } from '../../src/config.js'
import { buildStack, type Inventory } from '../inventory.js'
import { driftAfterDeploy, failbackCheck } from './converge.js'
import { drPathCheck } from './dr-path.js'
import { flowsTable, reachability } from './reachability.js'
import {
  foreignRegion,
  globalResources,
  globalResourcesTable,
  globalWritesTable,
  regionLossTable,
} from './regions.js'
import { unreadable } from './storage.js'

/** One check's verdict and what it prints. */
export interface CheckSection {
  name: string
  ok: boolean
  text: string
}

/** Stacks whose DR path must not touch another region's API (the region that takes over). */
export const DR_STACKS: StackName[] = ['eu-west']

/** Runs every check; `inventories` may be given (tests pass mutated ones) to skip the builds. */
export async function runChecks(
  opts: { stacks?: StackName[]; inventories?: Inventory[]; converge?: boolean } = {},
): Promise<CheckSection[]> {
  const stacks = opts.stacks ?? ['us-east', 'eu-west']
  const sections: CheckSection[] = []
  let inventories = opts.inventories
  if (!inventories) {
    const built = []
    for (const s of stacks) built.push(await buildStack(s, { allowProviderErrors: true }))
    const errors = built.flatMap((b) => b.providerErrors.map((e) => `${b.inventory.stack}: ${e}`))
    sections.push({
      name: 'provider semantics',
      ok: !errors.length,
      text: errors.length ? errors.join('\n') : 'nothing the provider would refuse',
    })
    inventories = built.map((b) => b.inventory)
  }
  const flows = reachability(inventories)
  sections.push({ name: 'reachability', ok: flows.every((f) => f.ok), text: flowsTable(flows) })

  const foreign = inventories.flatMap(foreignRegion)
  const drForeign = foreign.filter((e) => DR_STACKS.includes(e.stack as StackName))
  sections.push({
    name: 'region loss',
    ok: !drForeign.length,
    text: `${regionLossTable(foreign)}${drForeign.length ? `\n${DR_STACKS.join(', ')} must list none: each of these blocks its DR path while that region is down` : ''}`,
  })

  // Global services: owning them is fine (created at bootstrap, their data planes keep serving), writing or
  // refreshing them on the DR path is not.
  const drPath: string[] = [globalResourcesTable(inventories.flatMap(globalResources))]
  let drOk = true
  for (const inv of inventories.filter((i) => DR_STACKS.includes(i.stack as StackName))) {
    for (const step of await drPathCheck(inv.stack as StackName, inv)) {
      if (step.writes.length || step.errors.length) drOk = false
      drPath.push(globalWritesTable(`${inv.stack} ${step.operation}`, step.writes))
      drPath.push(...step.errors.map((e) => `  error: ${e}`))
    }
  }
  sections.push({ name: 'DR path and global control planes', ok: drOk, text: drPath.join('\n') })

  const reads = inventories.flatMap(unreadable)
  sections.push({
    name: 'storage readability',
    ok: !reads.length,
    text: reads.length
      ? reads.map((r) => `${r.bucket}: GET at day ${r.ageDays} (${r.storageClass}) -> ${r.error}`).join('\n')
      : 'every served object stays readable by a plain GET at every age',
  })

  if (opts.converge !== false) {
    const steps = await failbackCheck()
    sections.push({
      name: 'failback plan',
      ok: steps.length > 0 && steps.every((s) => s.ok),
      text: steps
        .map((s) =>
          [
            `${s.step} pulumi up --stack ${s.stack}: ${s.ok ? 'ok' : 'FAIL'}`,
            ...s.errors.map((e) => `    error: ${e}`),
            ...s.changes
              .filter((c) => c.error)
              .map((c) => `    ${c.action} ${c.name} (${c.inputs.join(', ')}): ${c.error}`),
          ].join('\n'),
        )
        .join('\n'),
    })
    const drift: string[] = []
    let driftOk = true
    for (const s of stacks) {
      const { effects, diffs, deployed, ssm } = await driftAfterDeploy(s, `deploy-check/${s}:0123abcd`)
      if (diffs.length || !deployed) driftOk = false
      drift.push(
        `${s}: deploy records the image in ${[...effects.runnerConfig.map((p) => `runner config ${p}${effects.commitsStackFile ? ' (committed)' : ' (not committed)'}`), ...ssm.map((p) => `SSM ${p}${effects.refreshes ? ' (pulumi up --refresh)' : ''}`)].join(', ') || 'nothing'}; ${deployed ? '' : 'the deployed task definition does not carry the new image; '}drift preview: ${diffs.length ? diffs.map((d) => `${d.name}.${d.keys.join('/')}`).join(', ') : 'no diff'}`,
      )
    }
    sections.push({ name: 'drift after deploy', ok: driftOk, text: drift.join('\n') })
  }
  return sections
}

/** The report as text: each section with its verdict. */
export function report(sections: CheckSection[]): string {
  return sections.map((s) => `## ${s.name}: ${s.ok ? 'ok' : 'FAIL'}\n${s.text}\n`).join('\n')
}
