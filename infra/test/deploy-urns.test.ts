import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import { PROJECT, type StackName, ssmParameters } from '../../app/src/contract.js'
import { stackUrn, URN_KEYS } from '../dr/urn.js'
import { one, stack } from './helpers.js'

const workflow = readFileSync(
  fileURLToPath(new URL('../../.github/workflows/deploy-stack.yml', import.meta.url)),
  'utf8',
)

describe('URNs the deploy workflow targets', () => {
  for (const name of ['us-east', 'eu-west'] as StackName[]) {
    it(`the printed image-parameter URN is the parameter the program registers (${name})`, async () => {
      const { inventory } = await stack(name)
      const parameter = inventory.resources.find(
        (r) =>
          r.type === 'aws:ssm/parameter:Parameter' &&
          r.inputs.name === ssmParameters.serviceImage(PROJECT, name),
      )
      expect(parameter, 'the image parameter').to.not.equal(undefined)
      expect(stackUrn('service-image', name)).to.equal(parameter?.urn)
    })

    it(`every key the URN script prints names a resource of the stack (${name})`, async () => {
      const { inventory } = await stack(name)
      for (const key of Object.keys(URN_KEYS)) {
        const urn = stackUrn(key, name)
        expect(
          inventory.resources.some((r) => r.urn === urn),
          `${key}: ${urn}`,
        ).to.equal(true)
      }
      expect(one(inventory, 'aws:ssm/parameter:Parameter', `blueprint-${name}-service-image`).urn).to.equal(
        stackUrn('service-image', name),
      )
    })
  }

  it('the workflow refreshes the image parameter by the printed URN, never a copied one', () => {
    expect(workflow).to.not.match(/urn:pulumi:/)
    const refresh = workflow.slice(workflow.indexOf('- name: refresh the image parameter'))
    expect(refresh).to.match(/urn=\$\(npm run -s urn -- service-image "\$STACK"\)/)
    expect(refresh).to.match(/pulumi refresh --stack "\$STACK"[^\n]*--target "\$urn"/)
  })

  it('refuses an unknown resource or stack instead of printing a URN that targets nothing', () => {
    expect(() => stackUrn('image', 'us-east')).to.throw(/unknown resource/)
    expect(() => stackUrn('service-image', 'eu-central')).to.throw(/unknown stack/)
  })
})
