// `ocirt update [--resources FILE|-] [--memory M] ... ID`: runc's update. With --resources (a file, or - for
// stdin) the LinuxResources JSON is used and every other flag is ignored, as runc does.
import * as fs from 'node:fs'
import {defineVerb, type FlagSpec, type FlagValues} from './types'
import {UsageError} from './argv'
import {update, type UpdateRequest} from '../../core/lifecycle/update'
import type {LinuxResources} from '../../core/cgroups/types'

const RESOURCES_HELP = `path to the file containing the resources to update or '-' to read from the standard input
(a LinuxResources JSON; unchanged values can be omitted; all other options are then ignored)`

export const UPDATE_FLAGS: Record<string, FlagSpec> = {
  resources: {type: 'string', char: 'r', description: RESOURCES_HELP},
  'blkio-weight': {type: 'integer', default: 0, description: 'Specifies per cgroup weight, range is from 10 to 1000'},
  'cpu-period': {type: 'string', description: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default'},
  'cpu-quota': {type: 'string', description: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period'},
  'cpu-share': {type: 'string', description: 'CPU shares (relative weight vs. other containers)'},
  'cpu-rt-period': {type: 'string', description: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default'},
  'cpu-rt-runtime': {type: 'string', description: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period'},
  'cpuset-cpus': {type: 'string', description: 'CPU(s) to use'},
  'cpuset-mems': {type: 'string', description: 'Memory node(s) to use'},
  memory: {type: 'string', description: 'Memory limit (in bytes, or with a unit: 512M, 1g)'},
  'memory-reservation': {type: 'string', description: 'Memory reservation or soft_limit (in bytes)'},
  'memory-swap': {type: 'string', description: "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
  'kernel-memory': {type: 'string', hidden: true, description: 'Kernel memory limit (in bytes) (obsolete)'},
  'kernel-memory-tcp': {type: 'string', hidden: true, description: 'Kernel memory limit for tcp buffer (in bytes) (obsolete)'},
  'pids-limit': {type: 'integer', default: 0, description: 'Maximum number of pids allowed in the container'},
  'l3-cache-schema': {type: 'string', description: 'The string of Intel RDT/CAT L3 cache schema'},
  'mem-bw-schema': {type: 'string', description: 'The string of Intel RDT/MBA memory bandwidth schema'},
}

const UNITS: Record<string, number> = {'': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5}

/** docker's units.RAMInBytes, as runc parses sizes: 512, 512k, 512M, 1g, 1.5GiB, 1 gb (binary multiples). */
export function ramInBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i.exec(text)
  if (!m) throw new Error(`invalid size: '${text}'`)
  const n = Number(m[1])
  if (!Number.isFinite(n)) throw new Error(`invalid size: '${text}'`)
  const v = Math.trunc(n * UNITS[(m[2] ?? '').toLowerCase()])
  if (!Number.isSafeInteger(v)) throw new Error(`invalid size: '${text}': too large`)
  return v
}

function parseInteger(flag: string, text: string, unsigned: boolean): number {
  const re = unsigned ? /^\+?\d+$/ : /^[+-]?\d+$/
  const n = Number(text)
  if (!re.test(text) || !Number.isSafeInteger(n)) {
    throw new UsageError(`invalid value for ${flag}: strconv.Parse${unsigned ? 'Uint' : 'Int'}: parsing ${JSON.stringify(text)}: invalid syntax`)
  }
  return n
}

/** The LinuxResources the flags ask for (runc's update.go); zero and empty values mean "unchanged". */
export function resourcesFromFlags(flags: FlagValues): LinuxResources {
  const str = (name: string) => {
    const v = flags[name]
    return typeof v === 'string' && v !== '' ? v : undefined
  }
  const res: LinuxResources = {memory: {}, cpu: {}, blockIO: {}}
  const weight = flags['blkio-weight'] as number | undefined
  if (weight) res.blockIO!.weight = weight
  if (str('cpuset-cpus')) res.cpu!.cpus = str('cpuset-cpus')
  if (str('cpuset-mems')) res.cpu!.mems = str('cpuset-mems')
  for (const [flag, key] of [['cpu-period', 'period'], ['cpu-rt-period', 'realtimePeriod'], ['cpu-share', 'shares']] as const) {
    const v = str(flag)
    if (v !== undefined) res.cpu![key] = parseInteger(flag, v, true)
  }
  for (const [flag, key] of [['cpu-quota', 'quota'], ['cpu-rt-runtime', 'realtimeRuntime']] as const) {
    const v = str(flag)
    if (v !== undefined) res.cpu![key] = parseInteger(flag, v, false)
  }
  const memFlags = [['memory', 'limit'], ['memory-swap', 'swap'], ['kernel-memory', 'kernel'], ['kernel-memory-tcp', 'kernelTCP'],
    ['memory-reservation', 'reservation']] as const
  for (const [flag, key] of memFlags) {
    const v = str(flag)
    if (v === undefined) continue
    try {
      res.memory![key] = v === '-1' ? -1 : ramInBytes(v)
    } catch (err) {
      throw new UsageError(`invalid value for ${flag}: ${(err as Error).message}`)
    }
  }
  const pids = flags['pids-limit'] as number | undefined
  if (pids) res.pids = {limit: pids}
  return res
}

/** The --resources JSON (a file, or - for stdin). */
export function resourcesFromJson(source: string): LinuxResources {
  let text: string
  try {
    text = fs.readFileSync(source === '-' ? 0 : source, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read the resources from ${source === '-' ? 'stdin' : source}: ${(err as Error).message}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`invalid resources JSON: ${(err as Error).message}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('invalid resources JSON: not an object')
  return value as LinuxResources
}

export const verb = defineVerb({
  summary: 'update container resource constraints',
  description: 'Sizes take a unit (512M, 1g); -1 means unlimited. Zero or omitted values are left unchanged.',
  args: [{name: 'id', description: 'container id', required: true}],
  flags: UPDATE_FLAGS,
  async run({rt, args, flags}) {
    const source = flags.resources as string | undefined
    const req: UpdateRequest = {
      resources: source ? resourcesFromJson(source) : resourcesFromFlags(flags),
      l3CacheSchema: (flags['l3-cache-schema'] as string | undefined) || undefined,
      memBwSchema: (flags['mem-bw-schema'] as string | undefined) || undefined,
    }
    await update(rt, args.id!, req)
  },
})
