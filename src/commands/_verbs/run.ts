// `ocirt run`: create + start; in the foreground it relays signals and returns the container's exit status.
import {defineVerb} from './types'
import {CREATE_FLAGS, createOptionsFrom} from './create'
import {run} from '../../core/lifecycle/run'

export const verb = defineVerb({
  summary: 'create and run a container',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {
    ...CREATE_FLAGS,
    detach: {type: 'boolean', char: 'd', description: "detach from the container's process"},
    keep: {type: 'boolean', description: 'do not delete the container after it exits'},
    'no-subreaper': {type: 'boolean', description: 'disable the use of the subreaper used to reap reparented processes'},
  },
  async run({rt, args, flags}) {
    return run(rt, {
      ...createOptionsFrom(args, flags),
      detach: flags.detach === true,
      keep: flags.keep === true,
    })
  },
})
