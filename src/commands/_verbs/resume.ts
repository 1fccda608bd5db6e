// `ocirt resume ID`
import {defineVerb} from './types'
import {resume} from '../../core/lifecycle/pause'

export const verb = defineVerb({
  summary: 'resumes all processes that have been previously paused',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {},
  async run({rt, args}) {
    await resume(rt, args.id!)
  },
})
