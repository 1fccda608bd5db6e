// `ocirt migrate-agent`: not for people. `ocirt migrate` starts it on the target host through its SSH connection:
// without flags it serves the migration conversation on stdin/stdout (src/migrate/agent/server.ts); with --unpack
// DIR it extracts the tar stream on stdin into DIR (bundle or images) and prints what it wrote as JSON.
import {defineVerb} from './types'

export const verb = defineVerb({
  summary: 'the target side of ocirt migrate (started by it over SSH)',
  hidden: true,
  args: [],
  flags: {
    unpack: {type: 'string', description: 'extract the tar stream on stdin into this directory'},
  },
  async run({rt, flags, stdout}) {
    if (typeof flags.unpack === 'string') {
      const {extractTree} = require('../../migrate/stream') as typeof import('../../migrate/stream')
      const done = await extractTree(flags.unpack, process.stdin)
      stdout(`${JSON.stringify(done)}\n`)
      return 0
    }
    const {serveAgent} = require('../../migrate/agent/server') as typeof import('../../migrate/agent/server')
    await serveAgent(rt, process.stdin, process.stdout)
    return 0
  },
})
