// `ocirt list`: runc's table (Go tabwriter: min width 12, padding 3) or JSON array.
import {defineVerb} from './types'
import {list} from '../../core/lifecycle/query'

export const verb = defineVerb({
  summary: 'lists containers started by ocirt with the given root',
  args: [],
  flags: {
    format: {type: 'string', char: 'f', description: 'select one of: table or json', options: ['table', 'json'], default: 'table'},
    quiet: {type: 'boolean', char: 'q', description: 'display only container IDs'},
  },
  async run({rt, flags, stdout}) {
    const all = list(rt)
    if (flags.quiet) return void stdout(all.map((s) => s.id + '\n').join(''))
    if (flags.format === 'json') return void stdout(JSON.stringify(all) + '\n')
    stdout(table([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
      ...all.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner])]))
  },
})

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(12, ...rows.map((r) => r[c].length + 3)))
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('') + '\n').join('')
}
