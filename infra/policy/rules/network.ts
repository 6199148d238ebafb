// Security groups: nothing is reachable from the whole internet except an application load
// balancer on 80 and 443. Rules can be inline on the group or separate resources (two families),
// and the ALB exception needs the group-to-ALB link, so this is a stack rule.
import type { PolicyResource, StackValidationPolicy } from '@pulumi/policy'
import { refersTo, strings, T } from '../resources.js'

const WORLD = new Set(['0.0.0.0/0', '::/0'])
const ALB_PORTS = new Set([80, 443])

interface Opening {
  group: PolicyResource | undefined
  from: PolicyResource
  protocol: string
  fromPort: number
  toPort: number
}

function openings(resources: PolicyResource[]): Opening[] {
  const groups = resources.filter((r) => r.type === T.securityGroup || r.type === T.defaultSecurityGroup)
  const ownerOf = (rule: PolicyResource) => groups.find((g) => refersTo(rule, 'securityGroupId', g))
  const out: Opening[] = []
  const add = (group: PolicyResource | undefined, from: PolicyResource, p: Record<string, unknown>) =>
    out.push({
      group,
      from,
      protocol: String(p.protocol ?? p.ipProtocol ?? ''),
      fromPort: Number(p.fromPort),
      toPort: Number(p.toPort),
    })
  for (const r of resources) {
    if (r.type === T.securityGroup || r.type === T.defaultSecurityGroup) {
      for (const rule of (r.props.ingress ?? []) as Record<string, unknown>[]) {
        if (strings([rule.cidrBlocks, rule.ipv6CidrBlocks]).some((c) => WORLD.has(c))) add(r, r, rule)
      }
    } else if (r.type === T.securityGroupRule && r.props.type === 'ingress') {
      if (strings([r.props.cidrBlocks, r.props.ipv6CidrBlocks]).some((c) => WORLD.has(c)))
        add(ownerOf(r), r, r.props)
    } else if (r.type === T.ingressRule) {
      if (strings([r.props.cidrIpv4, r.props.cidrIpv6]).some((c) => WORLD.has(c))) add(ownerOf(r), r, r.props)
    }
  }
  return out
}

function isAlbGroup(group: PolicyResource | undefined, resources: PolicyResource[]): boolean {
  if (!group) return false
  return resources.some(
    (lb) =>
      (lb.type === T.loadBalancer || lb.type === T.albLoadBalancer) &&
      (lb.props.loadBalancerType ?? 'application') === 'application' &&
      refersTo(lb, 'securityGroups', group),
  )
}

/** Only an ALB's security group may accept 0.0.0.0/0 or ::/0, and only on TCP 80 and 443. */
export const noOpenIngress: StackValidationPolicy = {
  name: 'sg-no-open-ingress',
  description: 'No security group ingress from 0.0.0.0/0 or ::/0, except an ALB on TCP 80 and 443.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report) => {
    for (const o of openings(resources)) {
      const tcp = o.protocol === 'tcp' || o.protocol === '6'
      const albPort = tcp && o.fromPort === o.toPort && ALB_PORTS.has(o.fromPort)
      if (albPort && isAlbGroup(o.group, resources)) continue
      const where = o.group ? `security group "${o.group.name}"` : `rule "${o.from.name}"`
      const ports = o.fromPort === o.toPort ? `${o.fromPort}` : `${o.fromPort}-${o.toPort}`
      report(`${where} allows ${o.protocol || 'all'} ${ports} from the internet`, o.from.urn)
    }
  },
}
