// `ocirt pause ID`
import {defineVerb} from './types'
import {pause} from '../../core/lifecycle/pause'

export const verb = defineVerb({
  summary: 'pause suspends all processes inside the container',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {},
  async run({rt, args}) {
    await pause(rt, args.id!)
  },
})
