import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { expect } from 'chai'
import { IMAGE_COMMAND, IMAGE_ENV, root } from './service.js'

/** The runtime stage of the Dockerfile: what production runs. */
function runtimeStage(): string {
  const dockerfile = readFileSync(resolve(root, 'Dockerfile'), 'utf8')
  return dockerfile.slice(dockerfile.indexOf(' AS runtime'))
}

describe('bench service process', () => {
  it('starts the service with the image command', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(runtimeStage())?.[1]
    expect(JSON.parse(cmd ?? '[]')).to.deep.equal(['node', ...IMAGE_COMMAND])
  })

  it('sets the runtime environment the image sets', () => {
    const stage = runtimeStage()
    for (const [name, value] of Object.entries(IMAGE_ENV)) {
      expect(stage, name).to.match(new RegExp(`^ENV ${name}=${value}$`, 'm'))
    }
  })
})
