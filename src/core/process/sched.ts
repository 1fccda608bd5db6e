// The OCI 1.2 process fields that tune how the kernel schedules the process: ioPriority (ioprio_set),
// scheduler (sched_setattr) and execCPUAffinity (sched_setaffinity). Tables of the kernel's numbers, the
// checks by config path, and the turning of each field into the numbers the helper passes to the syscalls.
import type {CPUAffinity, LinuxIOPriority, LinuxScheduler} from '../spec/types'
import {isObject, stringArray, type Report} from '../spec/check'

/** include/uapi/linux/ioprio.h */
export const IOPRIO_CLASSES: Readonly<Record<string, number>> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
}
const IOPRIO_CLASS_SHIFT = 13

/** include/uapi/linux/sched.h; SCHED_ISO (4) is reserved there and never implemented by Linux */
export const SCHED_POLICIES: Readonly<Record<string, number>> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
}

export const SCHED_FLAGS: Readonly<Record<string, number>> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
}

/** The largest CPU number a list may name (the kernel's NR_CPUS maximum). */
export const MAX_CPU = 8191

/** What sched_setattr(2) receives (struct sched_attr), the policy and flags as numbers. */
export interface SchedAttr {
  policy: number
  flags: bigint
  nice: number
  priority: number
  runtime: bigint
  deadline: bigint
  period: bigint
}

const has = (table: Readonly<Record<string, number>>, k: unknown): k is string =>
  typeof k === 'string' && Object.prototype.hasOwnProperty.call(table, k)

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v)

/** ioprio_set's value: the class in the top bits, the level below. */
export function ioprioValue(p: LinuxIOPriority): number {
  return (IOPRIO_CLASSES[p.class] << IOPRIO_CLASS_SHIFT) | p.priority
}

export function schedAttr(s: LinuxScheduler): SchedAttr {
  return {
    policy: SCHED_POLICIES[s.policy],
    flags: BigInt((s.flags ?? []).reduce((m, f) => m | SCHED_FLAGS[f], 0)),
    nice: s.nice ?? 0,
    priority: s.priority ?? 0,
    runtime: BigInt(s.runtime ?? 0),
    deadline: BigInt(s.deadline ?? 0),
    period: BigInt(s.period ?? 0),
  }
}

/**
 * "0-3,7" → the CPU numbers, or a message saying what is wrong. An empty string means "no setting" (the spec:
 * an empty `final` keeps the cgroup's CPUs), so it gives [].
 */
export function parseCpuList(list: string): number[] | string {
  if (list.trim() === '') return []
  const cpus = new Set<number>()
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part)
    if (!m) return `invalid CPU list ${JSON.stringify(list)}: ${JSON.stringify(part)} is not a CPU number or range`
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (hi < lo) return `invalid CPU list ${JSON.stringify(list)}: range ${part.trim()} ends before it starts`
    if (hi > MAX_CPU) return `invalid CPU list ${JSON.stringify(list)}: CPU ${hi} is above ${MAX_CPU}`
    for (let c = lo; c <= hi; c++) cpus.add(c)
  }
  return [...cpus].sort((a, b) => a - b)
}

/** The cpu_set_t bytes for sched_setaffinity (bit N of byte N/8), as long as the highest CPU needs, in 8-byte words. */
export function cpuMask(cpus: readonly number[]): Buffer {
  const max = cpus.length ? Math.max(...cpus) : 0
  const mask = Buffer.alloc(Math.ceil((max + 1) / 64) * 8)
  for (const c of cpus) mask[c >> 3] |= 1 << (c & 7)
  return mask
}

/**
 * The masks of execCPUAffinity; a list left out or empty gives no mask. Only valid input (see checkCPUAffinity).
 * With `initial` but no `final` the process must still end on the container's CPUs (the spec's default), and
 * joining a cpuset cgroup does not always reset the affinity (the kernel skips it when the old and new cpusets
 * have the same CPUs): every CPU is asked for, which the kernel narrows to the cgroup's cpuset.
 */
export function affinityMasks(a: CPUAffinity | undefined): {initial?: Buffer; final?: Buffer} {
  const mask = (list: string | undefined) => {
    const cpus = list === undefined ? [] : parseCpuList(list)
    return typeof cpus === 'string' || cpus.length === 0 ? undefined : cpuMask(cpus)
  }
  const initial = mask(a?.initial)
  return {initial, final: mask(a?.final) ?? (initial ? Buffer.alloc((MAX_CPU + 1) / 8, 0xff) : undefined)}
}

export function checkIOPriority(v: unknown, report: Report): void {
  const where = 'process.ioPriority'
  if (!isObject(v)) return report(where, 'must be an object')
  if (!has(IOPRIO_CLASSES, v.class)) {
    report(`${where}.class`, `unknown class ${JSON.stringify(v.class)} (${Object.keys(IOPRIO_CLASSES).join(', ')})`)
  }
  if (!isInt(v.priority) || v.priority < 0 || v.priority > 7) report(`${where}.priority`, 'must be an integer from 0 (highest) to 7 (lowest)')
}

export function checkScheduler(v: unknown, report: Report): void {
  const where = 'process.scheduler'
  if (!isObject(v)) return report(where, 'must be an object')
  const policy = v.policy
  if (!has(SCHED_POLICIES, policy)) {
    report(`${where}.policy`, `unknown policy ${JSON.stringify(policy)} (${Object.keys(SCHED_POLICIES).join(', ')})`)
  } else if (policy === 'SCHED_ISO') {
    report(`${where}.policy`, 'SCHED_ISO is reserved by Linux and not implemented by it')
  }
  if (v.nice !== undefined && (!isInt(v.nice) || v.nice < -20 || v.nice > 19)) report(`${where}.nice`, 'must be an integer from -20 to 19')
  const realtime = policy === 'SCHED_FIFO' || policy === 'SCHED_RR'
  if (v.priority !== undefined) {
    if (!isInt(v.priority) || v.priority < 0 || v.priority > 99) report(`${where}.priority`, 'must be an integer from 0 to 99')
    else if (!realtime && v.priority !== 0) report(`${where}.priority`, `must be 0 for ${String(policy)} (a static priority is for SCHED_FIFO and SCHED_RR)`)
  }
  if (realtime && !(isInt(v.priority) && v.priority >= 1)) report(`${where}.priority`, `${policy} needs a priority from 1 to 99`)
  if (stringArray(v.flags, `${where}.flags`, report)) {
    ;(v.flags as string[] | undefined)?.forEach((f, i) => {
      if (!has(SCHED_FLAGS, f)) report(`${where}.flags[${i}]`, `unknown flag ${JSON.stringify(f)}`)
    })
  }
  const dl = {runtime: v.runtime, deadline: v.deadline, period: v.period}
  for (const [k, n] of Object.entries(dl)) {
    if (n === undefined) continue
    if (!isInt(n) || n < 0) report(`${where}.${k}`, 'must be a non-negative integer of nanoseconds')
    else if (n !== 0 && policy !== 'SCHED_DEADLINE') report(`${where}.${k}`, 'is only for SCHED_DEADLINE')
  }
  if (policy === 'SCHED_DEADLINE') checkDeadline(dl as Record<string, number | undefined>, report)
}

/** The kernel's rule (sched_dl_param_valid): 1024 ns <= runtime <= deadline <= period (period 0 = deadline). */
function checkDeadline(dl: Record<string, number | undefined>, report: Report): void {
  const runtime = dl.runtime ?? 0
  const deadline = dl.deadline ?? 0
  const period = dl.period ?? 0
  if (![runtime, deadline, period].every((n) => isInt(n) && n >= 0)) return
  if (runtime < 1024) report('process.scheduler.runtime', 'SCHED_DEADLINE needs a runtime of at least 1024 ns')
  else if (deadline < runtime) report('process.scheduler.deadline', `must be at least the runtime (${runtime} ns)`)
  else if (period !== 0 && period < deadline) report('process.scheduler.period', `must be 0 or at least the deadline (${deadline} ns)`)
}

export function checkCPUAffinity(v: unknown, report: Report): void {
  const where = 'process.execCPUAffinity'
  if (!isObject(v)) return report(where, 'must be an object')
  for (const k of ['initial', 'final'] as const) {
    if (v[k] === undefined) continue
    if (typeof v[k] !== 'string') {
      report(`${where}.${k}`, 'must be a string of CPUs such as "0-3,7"')
      continue
    }
    const cpus = parseCpuList(v[k] as string)
    if (typeof cpus === 'string') report(`${where}.${k}`, cpus)
  }
}
