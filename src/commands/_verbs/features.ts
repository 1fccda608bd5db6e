// `ocirt features`: what this runtime supports, built from the same tables the code uses.
import {defineVerb} from './types'
import {features} from '../../core/features'

export const verb = defineVerb({
  summary: 'show the enabled features',
  args: [],
  flags: {},
  async run({stdout}) {
    stdout(JSON.stringify(features(), null, '    ') + '\n')
  },
})
