// `ocirt state`: runc's state JSON, indented as runc prints it.
import {defineVerb} from './types'
import {state} from '../../core/lifecycle/query'

export const verb = defineVerb({
  summary: 'output the state of a container',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {},
  async run({rt, args, stdout}) {
    stdout(JSON.stringify(state(rt, args.id!), null, 2) + '\n')
  },
})
