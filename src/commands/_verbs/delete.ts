// `ocirt delete [--force] ID`
import {defineVerb} from './types'
import {deleteContainer} from '../../core/lifecycle/delete'

export const verb = defineVerb({
  summary: 'delete any resources held by the container often used with detached container',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {
    force: {type: 'boolean', char: 'f', description: 'forcibly deletes the container if it is still running (uses SIGKILL)'},
  },
  async run({rt, args, flags}) {
    await deleteContainer(rt, args.id!, {force: flags.force === true})
  },
})
