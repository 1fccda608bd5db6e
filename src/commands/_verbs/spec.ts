// `ocirt spec [--rootless] [-b DIR]`: writes runc's default config.json (refuses to overwrite, as runc).
import * as fs from 'node:fs'
import * as path from 'node:path'
import {defineVerb} from './types'
import {defaultSpec, rootlessSpec, specToJson} from '../../core/spec/defaults'
import {InvalidInput} from '../../core/errors'

export const verb = defineVerb({
  summary: 'create a new specification file',
  args: [],
  flags: {
    bundle: {type: 'string', char: 'b', description: 'path to the root of the bundle directory'},
    rootless: {type: 'boolean', description: 'generate a configuration for a rootless container'},
  },
  async run({flags}) {
    const dir = (flags.bundle as string | undefined) ?? '.'
    const file = path.join(dir, 'config.json')
    if (fs.existsSync(file)) throw new InvalidInput('File config.json exists. Remove it first', {verb: 'spec'})
    const spec = flags.rootless ? rootlessSpec(process.geteuid!(), process.getegid!()) : defaultSpec()
    fs.writeFileSync(file, specToJson(spec), {mode: 0o666})
  },
})
