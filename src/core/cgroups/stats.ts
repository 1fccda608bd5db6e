// Cgroup statistics: which files to read for v1 and v2, and parseStats, which turns their text into the `data` of
// runc's `events --stats` (same keys, same omitted zeros). Reading the files is the managers' job.
import type {BlkioEntry, BlkioStats, CgroupStats, CpuUsage, CpusetStats, HugetlbStats, MemoryEntry, U64} from './types'

const MAX_U64 = 18446744073709551615n
const BLKIO_KINDS = [
  ['io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ['io_serviced_recursive', 'ioServicedRecursive'],
  ['io_queued_recursive', 'ioQueueRecursive'],
  ['io_service_time_recursive', 'ioServiceTimeRecursive'],
  ['io_wait_time_recursive', 'ioWaitTimeRecursive'],
  ['io_merged_recursive', 'ioMergedRecursive'],
  ['time_recursive', 'ioTimeRecursive'],
  ['sectors_recursive', 'sectorsRecursive'],
] as const
// v1 blkio stats come from the first family that has data: BFQ, CFQ (kernels < 5.0), then the throttle counters
const BLKIO_FAMILIES = ['blkio.bfq.', 'blkio.', 'blkio.throttle.']
const CPUSET_FLAGS = ['cpu_exclusive', 'mem_hardwall', 'mem_exclusive', 'memory_migrate', 'memory_spread_page',
  'memory_spread_slab', 'memory_pressure', 'sched_load_balance', 'sched_relax_domain_level'] as const
const MEM_V1 = ['', 'memsw.', 'kmem.', 'kmem.tcp.']

/** The stat files to read, by name (hugetlb files vary by page size: see HUGETLB_STAT_FILE). */
export function statFiles(version: 'v1' | 'v2'): string[] {
  if (version === 'v2') {
    return ['cpu.stat', 'cpuset.cpus.effective', 'cpuset.mems.effective', 'memory.current', 'memory.peak', 'memory.max',
      'memory.stat', 'memory.events', 'memory.swap.current', 'memory.swap.max', 'memory.swap.events', 'pids.current',
      'pids.max', 'io.stat']
  }
  return [
    'cpuacct.usage', 'cpuacct.usage_percpu', 'cpuacct.usage_all', 'cpuacct.stat', 'cpu.stat', 'cpuset.cpus', 'cpuset.mems',
    ...CPUSET_FLAGS.map((f) => `cpuset.${f}`), 'memory.stat',
    ...MEM_V1.flatMap((p) => ['usage_in_bytes', 'max_usage_in_bytes', 'failcnt', 'limit_in_bytes'].map((f) => `memory.${p}${f}`)),
    'pids.current', 'pids.max',
    ...BLKIO_FAMILIES.flatMap((fam) => BLKIO_KINDS.map(([f]) => fam + f)),
  ]
}

export const HUGETLB_STAT_FILE: Record<'v1' | 'v2', RegExp> = {
  v1: /^hugetlb\.[^.]+\.(usage_in_bytes|max_usage_in_bytes|failcnt)$/,
  v2: /^hugetlb\.[^.]+\.(current|events)$/,
}

/** A counter: exact number when safe, bigint beyond 2^53 ("max" is 2^64-1, as runc reports it). */
function u64(s: string | undefined): U64 {
  if (s === undefined) return 0
  const t = s.trim()
  if (t === '' ) return 0
  const b = t === 'max' ? MAX_U64 : BigInt(t)
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b
}
const big = (v: U64) => BigInt(v)
const isZero = (v: U64 | undefined) => v === undefined || v === 0 || v === 0n
/** Go's omitempty for numbers: drop the key when the value is zero. */
function nz<T extends object>(o: T): T {
  for (const [k, v] of Object.entries(o)) {
    const empty = typeof v === 'object' && v !== null && Object.keys(v).length === 0 // [] and {} (nil slice, map)
    if (isZero(v as U64) || empty) delete (o as Record<string, unknown>)[k]
  }
  return o
}

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events) → map. */
export function keyValues(text: string | undefined): Record<string, U64> {
  const out: Record<string, U64> = {}
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/)
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = u64(v)
  }
  return out
}

/** Go prints map keys sorted; so do we (memory.stat's raw map). */
function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** "0-2,4" → [0, 1, 2, 4] */
export function parseCpuList(text: string | undefined): number[] {
  const out: number[] = []
  for (const part of (text ?? '').trim().split(',')) {
    if (part === '') continue
    const [a, b] = part.split('-').map(Number)
    for (let i = a; i <= (b ?? a); i++) out.push(i)
  }
  return out
}

function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = []
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/)
    const m = /^(\d+):(\d+)$/.exec(f[0] ?? '')
    if (!m) continue // "Total N" and blank lines
    const [op, value] = f.length === 3 ? [f[1], f[2]] : [undefined, f[1]]
    out.push(nz({major: Number(m[1]), minor: Number(m[2]), op, value: u64(value)}))
  }
  return out
}

function memEntry(limit: U64, usage: U64, max: U64, failcnt: U64): MemoryEntry {
  const e: MemoryEntry = {limit, usage, max, failcnt}
  if (isZero(usage)) delete e.usage
  if (isZero(max)) delete e.max
  return e
}

/** In runc's key order: cpus, cpu_exclusive, mems, then the other flags; empty lists are omitted. */
function cpusetStats(cpus: string | undefined, mems: string | undefined, flag: (name: string) => U64): CpusetStats {
  const c: Record<string, unknown> = {cpus: parseCpuList(cpus), cpu_exclusive: flag('cpu_exclusive'), mems: parseCpuList(mems)}
  for (const f of CPUSET_FLAGS) c[f] = flag(f)
  for (const k of ['cpus', 'mems']) if ((c[k] as number[]).length === 0) delete c[k]
  return c as unknown as CpusetStats
}

/** Stats from the files of one cgroup, keyed by file name (as statFiles() lists them). Missing files count 0. */
export function parseStats(version: 'v1' | 'v2', files: Record<string, string>): CgroupStats {
  return version === 'v1' ? parseV1(files) : parseV2(files)
}

function hugetlb(files: Record<string, string>, usage: string, max: string | undefined, v2: boolean) {
  const out: Record<string, HugetlbStats> = {}
  for (const name of Object.keys(files).sort()) {
    const m = /^hugetlb\.([^.]+)\.(\w+)$/.exec(name)
    if (!m || m[2] !== usage) continue
    const size = m[1]
    const failcnt = v2 ? (keyValues(files[`hugetlb.${size}.events`]).max ?? 0) : u64(files[`hugetlb.${size}.failcnt`])
    const e: HugetlbStats = {usage: u64(files[name]), max: max ? u64(files[`hugetlb.${size}.${max}`]) : 0, failcnt}
    out[size] = nz(e)
    out[size].failcnt = failcnt
  }
  return out
}

function parseV1(f: Record<string, string>): CgroupStats {
  const ns = (ticks: U64) => u64(String(big(ticks) * 10_000_000n)) // cpuacct.stat counts USER_HZ (100/s) ticks
  const acct = keyValues(f['cpuacct.stat'])
  const all = (f['cpuacct.usage_all'] ?? '').split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((r) => r.length === 3)
  const usage: CpuUsage = nz({
    total: u64(f['cpuacct.usage']),
    percpu: (f['cpuacct.usage_percpu'] ?? '').trim().split(/\s+/).filter(Boolean).map(u64),
    percpu_kernel: all.map((r) => u64(r[2])),
    percpu_user: all.map((r) => u64(r[1])),
    kernel: ns(acct.system ?? 0),
    user: ns(acct.user ?? 0),
  })
  usage.kernel = ns(acct.system ?? 0)
  usage.user = ns(acct.user ?? 0)
  const cs = keyValues(f['cpu.stat'])
  const mem = (p: string) =>
    memEntry(u64(f[`memory.${p}limit_in_bytes`]), u64(f[`memory.${p}usage_in_bytes`]), u64(f[`memory.${p}max_usage_in_bytes`]), u64(f[`memory.${p}failcnt`]))
  const raw = sortedKeys(keyValues(f['memory.stat']))
  const blkio: BlkioStats = {}
  const family = BLKIO_FAMILIES.find((fam) => blkioEntries(f[fam + 'io_serviced_recursive']).length > 0)
  if (family) for (const [file, key] of BLKIO_KINDS) blkio[key] = blkioEntries(f[family + file])
  return {
    cpu: {usage, throttling: nz({periods: cs.nr_periods, throttledPeriods: cs.nr_throttled, throttledTime: cs.throttled_time})},
    cpuset: cpusetStats(f['cpuset.cpus'], f['cpuset.mems'], (flag) => u64(f[`cpuset.${flag}`])),
    memory: nz({cache: raw.cache ?? 0, usage: mem(''), swap: mem('memsw.'), kernel: mem('kmem.'), kernelTCP: mem('kmem.tcp.'), raw}),
    pids: nz({current: u64(f['pids.current']), limit: f['pids.max']?.trim() === 'max' ? 0 : u64(f['pids.max'])}),
    blkio: nz(blkio),
    hugetlb: hugetlb(f, 'usage_in_bytes', 'max_usage_in_bytes', false),
    intel_rdt: {},
    network_interfaces: null,
  }
}

function parseV2(f: Record<string, string>): CgroupStats {
  const cs = keyValues(f['cpu.stat'])
  const us = (k: string) => u64(String(big(cs[k] ?? 0) * 1000n))
  const usage: CpuUsage = nz({total: us('usage_usec'), kernel: 0, user: 0})
  usage.kernel = us('system_usec')
  usage.user = us('user_usec')
  const raw = sortedKeys(keyValues(f['memory.stat']))
  const memCur = u64(f['memory.current'])
  const memMax = f['memory.max'] === undefined ? 0 : u64(f['memory.max'])
  const usageE = memEntry(memMax, memCur, u64(f['memory.peak']), keyValues(f['memory.events']).max ?? 0)
  // v1 reported memory+swap; v2 reports swap alone, so add memory for the same meaning (as runc does)
  let swapE = memEntry(0, 0, 0, 0)
  if (f['memory.swap.current'] !== undefined) {
    const swMax = u64(f['memory.swap.max'])
    const sum = big(swMax) === MAX_U64 || big(memMax) === MAX_U64 ? MAX_U64 : big(swMax) + big(memMax)
    swapE = memEntry(u64(String(sum)), u64(String(big(memCur) + big(u64(f['memory.swap.current'])))), 0, keyValues(f['memory.swap.events']).max ?? 0)
  }
  const blkio: BlkioStats = {}
  for (const line of (f['io.stat'] ?? '').split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/)
    const m = /^(\d+):(\d+)$/.exec(dev ?? '')
    if (!m) continue
    const vals = keyValues(kv.map((p) => p.replace('=', ' ')).join('\n'))
    const push = (key: keyof BlkioStats, op: string, v: U64 | undefined) =>
      (blkio[key] ??= []).push(nz({major: Number(m[1]), minor: Number(m[2]), op, value: v ?? 0}))
    push('ioServiceBytesRecursive', 'Read', vals.rbytes)
    push('ioServiceBytesRecursive', 'Write', vals.wbytes)
    push('ioServicedRecursive', 'Read', vals.rios)
    push('ioServicedRecursive', 'Write', vals.wios)
  }
  return {
    cpu: {usage, throttling: nz({periods: cs.nr_periods, throttledPeriods: cs.nr_throttled, throttledTime: us('throttled_usec')})},
    // v2 has no cpuset flag files; the effective lists are what the container can use
    cpuset: cpusetStats(f['cpuset.cpus.effective'], f['cpuset.mems.effective'], () => 0),
    memory: nz({cache: raw.file ?? 0, usage: usageE, swap: swapE, kernel: memEntry(0, 0, 0, 0), kernelTCP: memEntry(0, 0, 0, 0), raw}),
    pids: nz({current: u64(f['pids.current']), limit: f['pids.max']?.trim() === 'max' ? 0 : u64(f['pids.max'])}),
    blkio,
    hugetlb: hugetlb(f, 'current', undefined, true),
    intel_rdt: {},
    network_interfaces: null,
  }
}

/** JSON text of a value holding bigint counters, printed as plain integers (JSON.stringify rejects bigint). */
export function statsToJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `__u64:${v}__` : v))
  return text.replace(/"__u64:(-?\d+)__"/g, '$1')
}
