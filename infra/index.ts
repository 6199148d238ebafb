// Stack entry: read typed config, build the region. Its return value is the stack's outputs (declared once, in
// buildRegion); Pulumi exports a default-exported object as the outputs.
import { loadConfig } from './src/config.js'
import { buildRegion } from './src/region.js'

export default buildRegion(loadConfig())
