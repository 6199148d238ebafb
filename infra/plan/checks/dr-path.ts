// The DR path of a region, run in the model: the promotion's config change and an image deploy, each as the
// `pulumi up` after it would see them, and the refresh targets the DR command prints. None may touch a global
// service's control plane (see regions.ts): those live in us-east-1, the region whose loss the path is for.
import { ssmParameters } from '../../../app/src/contract.js'
import { promotionRefreshTargets } from '../../dr/pulumi-steps.js'
import { buildTopology, siteOf } from '../../dr/topology.js'
import type { StackName } from '../../src/config.js'
import { buildStack, type Inventory, PROJECT, stackConfig } from '../inventory.js'
import { type GlobalWrite, globalControlPlane, globalWrites } from './regions.js'

/** What one DR-path operation would do to global services, or which printed refresh target is wrong. */
export interface DrPathStep {
  operation: string
  writes: GlobalWrite[]
  /** Problems with the printed commands (a refresh target missing from the stack or in a global service). */
  errors: string[]
}

/** `section` of the stack file's config with `changes` merged, as a config override. */
function withSection(stack: StackName, section: string, changes: Record<string, unknown>) {
  const key = `${PROJECT}:${section}`
  const current = JSON.parse(stackConfig(stack)[key] ?? '{}') as Record<string, unknown>
  return { [key]: JSON.stringify({ ...current, ...changes }) }
}

/**
 * Runs `stack`'s DR path in the model from `base` (the stack as committed): the promotion's
 * `database.role primary` (when the stack is a replica) and a deploy of a new image (SSM parameter + refresh of it).
 */
export async function drPathCheck(stack: StackName, base?: Inventory): Promise<DrPathStep[]> {
  const before = base ?? (await buildStack(stack, { allowProviderErrors: true })).inventory
  const steps: DrPathStep[] = []
  const role = (JSON.parse(stackConfig(stack)[`${PROJECT}:database`] ?? '{}') as { role?: string }).role
  if (role === 'replica') {
    const promoted = await buildStack(stack, {
      config: withSection(stack, 'database', { role: 'primary' }),
      allowProviderErrors: true,
    })
    const site = siteOf(buildTopology({ project: PROJECT }), stack)
    const errors = promotionRefreshTargets(buildTopology({ project: PROJECT }), site).flatMap((urn) => {
      const r = before.resources.find((x) => x.urn === urn)
      if (!r) return [`refresh target ${urn} is not a resource of ${stack}`]
      const plane = globalControlPlane(r)
      return plane ? [`refresh target ${urn} is in a global service (control plane ${plane})`] : []
    })
    steps.push({
      operation: `promote: refresh the DB and writer parameter, database.role primary, pulumi up --stack ${stack}`,
      writes: globalWrites(before, promoted.inventory),
      errors,
    })
  }
  const image = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/blueprint-service:dr-path-check`
  const deployed = await buildStack(stack, {
    parameters: { [ssmParameters.serviceImage(PROJECT, stack)]: image },
    allowProviderErrors: true,
  })
  // Not vacuous: the deploy must reach the service's task definition, or nothing was deployed.
  const carries = deployed.inventory.resources.some(
    (r) =>
      r.type === 'aws:ecs/taskDefinition:TaskDefinition' &&
      String(r.inputs.containerDefinitions).includes(image),
  )
  steps.push({
    operation: `deploy a new image: SSM image parameter, targeted refresh, pulumi up --stack ${stack}`,
    writes: globalWrites(before, deployed.inventory),
    errors: carries ? [] : [`the deployed task definitions do not carry ${image}`],
  })
  return steps
}
