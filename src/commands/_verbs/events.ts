// `ocirt events [--stats] [--interval D] ID`: runc's container events (stats, oom) as JSON lines.
import {defineVerb} from './types'
import {InvalidInput} from '../../core/errors'
import {events, parseGoDuration} from '../../core/lifecycle/events'

export const verb = defineVerb({
  summary: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {
    interval: {type: 'string', default: '5s', description: 'set the stats collection interval'},
    stats: {type: 'boolean', description: 'display the container\'s stats then exit'},
  },
  async run({rt, args, flags, stdout}) {
    const text = String(flags.interval ?? '5s')
    let intervalMs: number
    try {
      intervalMs = parseGoDuration(text)
    } catch {
      throw new InvalidInput(`invalid value ${JSON.stringify(text)} for flag -interval: parse error`)
    }
    await events(rt, args.id!, {stats: flags.stats === true, intervalMs, emit: stdout})
  },
})
