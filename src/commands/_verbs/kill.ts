// `ocirt kill ID [SIGNAL]` (default SIGTERM, as runc).
import {defineVerb} from './types'
import {kill} from '../../core/lifecycle/kill'

export const verb = defineVerb({
  summary: 'kill sends the specified signal (default: SIGTERM) to the container\'s init process',
  args: [
    {name: 'id', description: 'container id', required: true},
    {name: 'signal', description: 'signal name (KILL, SIGKILL) or number'},
  ],
  flags: {
    all: {type: 'boolean', char: 'a', description: 'send the specified signal to all processes inside the container'},
  },
  async run({rt, args, flags}) {
    kill(rt, args.id!, args.signal ?? 'SIGTERM', {all: flags.all === true})
  },
})
