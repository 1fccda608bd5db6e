// events: runc's `events` verb. `--stats` prints one stats event and returns; otherwise a stats event every
// interval and an oom event whenever the OOM killer fires in the container's cgroup, until the container stops.
// OOM is detected by polling the cgroup's counters (v1 memory.oom_control: oom_kill, under_oom; v2 memory.events:
// oom, oom_kill), not by runc's eventfd: simpler, and honest at a short poll period.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {InvalidInput, OcirtError} from '../errors'
import type {Runtime} from '../runtime'
import {reopenCgroup, statsToJson, type CgroupManager} from '../cgroups'
import {loadContainer} from './container'

export interface EventsOptions {
  stats: boolean
  /** milliseconds between stats events */
  intervalMs: number
  /** receives each event as one line of JSON, newline included */
  emit: (line: string) => void
}

// micro sign and Greek mu as escapes: the bundle stays ASCII, which Node reads and hashes fastest (scripts/bundle.mjs)
const UNIT_NS: Record<string, number> = {ns: 1, us: 1e3, '\u00b5s': 1e3, '\u03bcs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}

/** Go's time.ParseDuration, in milliseconds ("5s", "500ms", "1m30s", "1.5h"). Throws on bad syntax. */
export function parseGoDuration(text: string): number {
  const bad = () => new InvalidInput(`time: invalid duration ${JSON.stringify(text)}`)
  let s = text
  let sign = 1
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1
    s = s.slice(1)
  }
  if (s === '0') return 0
  if (s === '') throw bad()
  let ns = 0
  const re = /^(\d*\.?\d*)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/
  while (s !== '') {
    const m = re.exec(s)
    if (!m || m[1] === '' || m[1] === '.') throw bad()
    ns += Number(m[1]) * UNIT_NS[m[2]]
    s = s.slice(m[0].length)
  }
  return (sign * ns) / 1e6
}

function event(type: string, id: string, data?: unknown): string {
  // runc: json.Encoder of types.Event{Type, ID, Data (omitempty)}
  return statsToJson(data === undefined ? {type, id} : {type, id, data}) + '\n'
}

/** The OOM counter of a cgroup: a number that grows with each OOM, or undefined without a memory controller. */
function oomCount(cg: CgroupManager): number | undefined {
  const paths = cg.paths()
  try {
    if (cg.version === 'v2') {
      const dir = paths['']
      if (!dir) return undefined
      const kv = parseKv(fs.readFileSync(path.join(dir, 'memory.events'), 'utf8'))
      return Math.max(kv.oom ?? 0, kv.oom_kill ?? 0)
    }
    const dir = paths.memory
    if (!dir) return undefined
    const kv = parseKv(fs.readFileSync(path.join(dir, 'memory.oom_control'), 'utf8'))
    // oom_kill (kernel >= 4.13) counts kills; under_oom is a state, counted once per entry into it
    return kv.oom_kill ?? 0
  } catch {
    return undefined
  }
}

function underOom(cg: CgroupManager): boolean {
  if (cg.version === 'v2') return false
  const dir = cg.paths().memory
  if (!dir) return false
  try {
    return parseKv(fs.readFileSync(path.join(dir, 'memory.oom_control'), 'utf8')).under_oom === 1
  } catch {
    return false
  }
}

function parseKv(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/)
    if (k && v !== undefined) out[k] = Number(v)
  }
  return out
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function events(rt: Runtime, id: string, opts: EventsOptions, verb = 'events'): Promise<void> {
  const loaded = loadContainer(rt, id, verb)
  // runc's order: the container first, then the interval, then the status
  if (!(opts.intervalMs > 0)) throw new InvalidInput('duration interval must be greater than 0', {verb, id})
  if (loaded.status === 'stopped') throw new OcirtError(`container with id ${id} is not running`, {verb, id})
  const cg = reopenCgroup(loaded.facts.cgroup, {id, rootless: loaded.facts.rootless, verb})
  const statsEvent = () => event('stats', id, cg.stats())

  if (opts.stats) {
    opts.emit(statsEvent())
    return
  }

  // status and OOM are polled more often than the stats interval, so that the stream ends soon after the
  // container stops and an OOM is reported close to when it happened
  const poll = Math.min(opts.intervalMs, 200)
  let lastOom = oomCount(cg) ?? 0
  let wasUnder = underOom(cg)
  const checkOom = () => {
    const n = oomCount(cg)
    const under = underOom(cg)
    if ((n !== undefined && n > lastOom) || (under && !wasUnder)) opts.emit(event('oom', id))
    if (n !== undefined) lastOom = n
    wasUnder = under
  }
  let nextStats = Date.now() + opts.intervalMs
  for (;;) {
    await sleep(Math.max(0, Math.min(poll, nextStats - Date.now())))
    checkOom()
    let status
    try {
      status = loadContainer(rt, id, verb).status
    } catch {
      return // deleted under us
    }
    if (status === 'stopped') return
    if (Date.now() >= nextStats) {
      nextStats += opts.intervalMs
      if (nextStats < Date.now()) nextStats = Date.now() + opts.intervalMs
      try {
        opts.emit(statsEvent())
      } catch (err) {
        // runc logs a failed stats read and goes on
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
      }
    }
  }
}
