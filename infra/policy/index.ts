// Entry point the Pulumi CLI runs for `pulumi preview|up --policy-pack infra/policy`. Importing it
// starts the policy gRPC server, so tests import policies.ts instead.
import { PolicyPack } from '@pulumi/policy'
import { guardrails, PACK_NAME } from './policies.js'

new PolicyPack(PACK_NAME, { enforcementLevel: 'mandatory', policies: guardrails })
