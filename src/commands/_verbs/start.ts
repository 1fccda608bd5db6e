// `ocirt start`
import {defineVerb} from './types'
import {start} from '../../core/lifecycle/start'

export const verb = defineVerb({
  summary: 'executes the user defined process in a created container',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {},
  async run({rt, args}) {
    await start(rt, args.id!)
  },
})
