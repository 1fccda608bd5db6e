// `ocirt ps [-f table|json] ID [ps options]`: json is the array of host pids (containerd reads it);
// table runs the host's ps and keeps the lines of the container's processes, as runc does.
import {spawnSync} from 'node:child_process'
import {defineVerb} from './types'
import {ps} from '../../core/lifecycle/query'
import {OcirtError} from '../../core/errors'

export const verb = defineVerb({
  summary: 'ps displays the processes running inside a container',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: {
    format: {type: 'string', char: 'f', description: 'select one of: table or json', options: ['table', 'json'], default: 'table'},
  },
  // runc's ps: everything after the id goes to ps(1) (`ocirt ps ID -o pid,comm`)
  stopAtPositional: true,
  variadic: true,
  async run({rt, args, rest, flags, stdout}) {
    const pids = ps(rt, args.id!)
    // runc marshals a nil slice: `null` when there is no process (a stopped container)
    if (flags.format === 'json') return void stdout(JSON.stringify(pids.length ? pids : null) + '\n')
    const r = spawnSync('ps', rest.length ? rest : ['-ef'], {encoding: 'utf8'})
    if (r.status !== 0) throw new OcirtError(`ps failed: ${r.stderr || r.error?.message}`, {verb: 'ps', id: args.id})
    const lines = r.stdout.split('\n')
    const pidCol = lines[0].trim().split(/\s+/).indexOf('PID')
    if (pidCol < 0) throw new OcirtError('couldn\'t find PID field in ps output', {verb: 'ps', id: args.id})
    const wanted = new Set(pids.map(String))
    stdout([lines[0], ...lines.slice(1).filter((l) => wanted.has(l.trim().split(/\s+/)[pidCol]))].join('\n') + '\n')
  },
})
