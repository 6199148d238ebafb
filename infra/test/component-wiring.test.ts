import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import ts from 'typescript'

// Loose ids of other components (a VPC id, subnet ids, a security group, a key or target group ARN, an ARN
// suffix, a cluster name): the shapes the issue asks components not to take from the region that composes them.
const LOOSE_ID = /(Id|Ids|Arn|ArnSuffix|Cidr|Bucket|ClusterIds|Identifier|Identifiers|ServiceName)$/
const COMPONENTS = [
  ['ingress.ts', 'IngressArgs'],
  ['service.ts', 'ServiceArgs'],
  ['observability.ts', 'ObservabilityArgs'],
] as const

/** Own (not inherited) members of an exported interface, with their declared type text. */
function members(file: string, name: string): { name: string; type: string }[] {
  const path = fileURLToPath(new URL(`../src/${file}`, import.meta.url))
  const source = ts.createSourceFile(path, ts.sys.readFile(path) ?? '', ts.ScriptTarget.Latest, true)
  const found = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  )
  expect(found, `${file} declares ${name}`).to.not.equal(undefined)
  return (found as ts.InterfaceDeclaration).members.filter(ts.isPropertySignature).map((m) => ({
    name: m.name.getText(source),
    type: m.type?.getText(source) ?? '',
  }))
}

describe('component wiring', () => {
  for (const [file, args] of COMPONENTS) {
    it(`${args} takes the components it depends on, not their ids`, () => {
      const loose = members(file, args).filter(
        (m) => LOOSE_ID.test(m.name) && /pulumi\.(Input|Output)<string>/.test(m.type),
      )
      expect(loose.map((m) => `${m.name}: ${m.type}`)).to.deep.equal([])
    })
  }

  it('ServiceArgs, IngressArgs and ObservabilityArgs name their dependencies by component type', () => {
    const typeOf = (file: string, args: string, key: string) =>
      members(file, args).find((m) => m.name === key)?.type ?? '(missing)'
    expect(typeOf('ingress.ts', 'IngressArgs', 'network')).to.equal('IngressNetwork')
    expect(typeOf('service.ts', 'ServiceArgs', 'ingress')).to.contain("Pick<Ingress, 'targetGroupArn'>")
    expect(typeOf('service.ts', 'ServiceArgs', 'network')).to.contain('Pick<Network')
    expect(typeOf('observability.ts', 'ObservabilityArgs', 'service')).to.contain('Pick<Service')
    expect(typeOf('observability.ts', 'ObservabilityArgs', 'database')).to.equal('ObservedDatabase')
  })
})
