// The translation table from OCI LinuxResources to cgroup file writes, for v1 and v2 (crun style: one file, not one
// per controller). Pure: no fs access. Applying the writes (and retrying order-sensitive ones) is apply.ts's job.
import {InvalidInput, type ErrorContext} from '../errors'
import type {CgroupWrite, LinuxDeviceCgroup, LinuxResources} from './types'

export type CgroupVersion = 'v1' | 'v2'

/** runc's cpu.shares (2..262144) → cpu.weight (1..10000) mapping; 0 means unset. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0
  return 1 + Math.floor(((shares - 2) * 9999) / 262142)
}

/** runc's blkio weight (10..1000) → io.weight (1..10000) mapping; 0 means unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0
  return 1 + Math.floor(((weight - 10) * 9999) / 990)
}

/**
 * OCI `memory.swap` is memory+swap (the v1 memsw meaning); v2's memory.swap.max is swap alone, so v2 gets
 * swap - limit, as runc converts it. Returns -1 for "max", 0 for "leave unset".
 */
export function swapToV2(swap: number, limit: number, ctx: ErrorContext = {}): number {
  // memory set to unlimited with swap unset means "both unlimited", as v1 behaves
  if (limit === -1 && swap === 0) return -1
  if (swap === -1 || swap === 0) return swap
  const bad = (detail: string) => new InvalidInput(detail, {...ctx, step: ctx.step ?? 'linux.resources.memory.swap'})
  if (limit === 0 || limit === -1) throw bad('unable to set swap limit without memory limit')
  if (limit < 0) throw bad(`invalid memory value: ${limit}`)
  if (swap < limit) throw bad('memory+swap limit should be >= memory limit')
  return swap - limit
}

/** Formats an integer as the kernel expects it (no exponent notation for large values). */
function int(n: number, field: string, ctx: ErrorContext): string {
  if (!Number.isInteger(n)) throw new InvalidInput(`${field} must be an integer, got ${n}`, ctx)
  return BigInt(n).toString()
}

/** v2 numbers: -1 is "max"; 0 is unset (returns undefined). */
function v2num(n: number | undefined, field: string, ctx: ErrorContext): string | undefined {
  if (n === undefined || n === 0) return undefined
  return n === -1 ? 'max' : int(n, field, ctx)
}

/** A v1 device rule line, e.g. `c 1:3 rwm`, `a *:* rwm`. */
export function deviceRuleLine(d: LinuxDeviceCgroup): string {
  const type = d.type || 'a'
  const num = (n: number | null | undefined) => (n === undefined || n === null || n === -1 ? '*' : String(n))
  return `${type} ${num(d.major)}:${num(d.minor)} ${d.access || 'rwm'}`
}

/**
 * The writes that apply `res`, in the order to make them. Fields the kernel has no file for on `version` are
 * skipped exactly where runc skips them (each is marked "skip" below); invalid values throw InvalidInput.
 */
export function resourceWrites(res: LinuxResources, version: CgroupVersion, ctx: ErrorContext = {}): CgroupWrite[] {
  const v2 = version === 'v2'
  const out: CgroupWrite[] = []
  const add = (controller: string, file: string, value: string, extra: Partial<CgroupWrite> = {}) =>
    out.push({controller, file, value, ...extra})
  const at = (field: string): ErrorContext => ({...ctx, step: `linux.resources.${field}`})
  const cpu = res.cpu ?? {}

  // cpuset first: tasks cannot run in a cpuset cgroup whose cpus/mems are empty
  if (cpu.cpus) add('cpuset', 'cpuset.cpus', cpu.cpus)
  if (cpu.mems) add('cpuset', 'cpuset.mems', cpu.mems)

  // devices: v1 rules in spec order; a spec that starts with a deny-all turns the inherited allow-all into
  // a whitelist. skip on v2: device access there is an eBPF program attached to the cgroup, not a file.
  if (!v2) for (const d of res.devices ?? []) add('devices', d.allow ? 'devices.allow' : 'devices.deny', deviceRuleLine(d))

  const mem = res.memory
  if (mem) {
    const limit = mem.limit ?? 0
    const swap = mem.swap ?? 0
    if (v2) {
      const sw = swapToV2(swap, limit, at('memory.swap'))
      let swStr = sw === 0 ? undefined : sw === -1 ? 'max' : int(sw, 'memory.swap', ctx)
      if (sw === 0 && swap > 0) swStr = '0' // swap == limit: no swap at all
      // swap before max, as runc; a kernel without swap accounting lacks the file, and "max"/"0" are then no-ops
      if (swStr !== undefined) add('memory', 'memory.swap.max', swStr, swStr === 'max' || swStr === '0' ? {optional: true} : {})
      const max = v2num(mem.limit, 'memory.limit', at('memory.limit'))
      if (max) add('memory', 'memory.max', max)
      const low = v2num(mem.reservation, 'memory.reservation', at('memory.reservation'))
      if (low) add('memory', 'memory.low', low)
      // skip on v2 (runc ignores them too): kernel, kernelTCP, swappiness, disableOOMKiller, useHierarchy
    } else {
      const limitW: CgroupWrite = {controller: 'memory', file: 'memory.limit_in_bytes', value: int(limit, 'memory.limit', at('memory.limit'))}
      // unlimited memory with swap unset also lifts memsw, when the kernel has swap accounting
      const swapW: CgroupWrite | undefined =
        swap !== 0
          ? {controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: int(swap, 'memory.swap', at('memory.swap'))}
          : limit === -1
            ? {controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: '-1', optional: true}
            : undefined
      // The kernel keeps limit <= memsw at every step. Going unlimited, memsw must rise first; otherwise limit
      // goes first and, if it fails with EINVAL because the new limit exceeds the old memsw, apply retries it
      // after memsw (runc reads the current limit to pick the order; a pure table cannot).
      if (swapW && swapW.value === '-1') out.push(swapW)
      if (limit !== 0) out.push(limitW)
      if (swapW && swapW.value !== '-1') out.push(swapW)
      if (mem.reservation) add('memory', 'memory.soft_limit_in_bytes', int(mem.reservation, 'memory.reservation', at('memory.reservation')))
      // skip: memory.kernel. Kernel memory limits are deprecated (the kernel rejects them since 6.1) and runc
      // ignores the field.
      if (mem.kernelTCP) add('memory', 'memory.kmem.tcp.limit_in_bytes', int(mem.kernelTCP, 'memory.kernelTCP', at('memory.kernelTCP')))
      // -1 (uint64 max once parsed by Go clients) means unset, as in runc
      if (mem.swappiness !== undefined && mem.swappiness !== null && mem.swappiness !== -1) {
        if (mem.swappiness < 0 || mem.swappiness > 100)
          throw new InvalidInput(`invalid value:${mem.swappiness}. valid memory swappiness range is 0-100`, at('memory.swappiness'))
        add('memory', 'memory.swappiness', int(mem.swappiness, 'memory.swappiness', ctx))
      }
      if (mem.disableOOMKiller) add('memory', 'memory.oom_control', '1')
      // skip: useHierarchy. Kernels since 5.x always use the hierarchy; runc dropped the field.
    }
  }

  if (v2) {
    if (cpu.shares) add('cpu', 'cpu.weight', String(sharesToWeight(cpu.shares)))
    if (cpu.quota || cpu.period) {
      // runc: quota <= 0 means unlimited; a missing period gets the kernel default so the line stays well-formed
      const quota = cpu.quota && cpu.quota > 0 ? int(cpu.quota, 'cpu.quota', at('cpu.quota')) : 'max'
      add('cpu', 'cpu.max', `${quota} ${cpu.period ? int(cpu.period, 'cpu.period', at('cpu.period')) : '100000'}`)
    }
    if (cpu.burst !== undefined && cpu.burst !== null) add('cpu', 'cpu.max.burst', int(cpu.burst, 'cpu.burst', at('cpu.burst')))
    if (cpu.idle !== undefined && cpu.idle !== null) add('cpu', 'cpu.idle', int(cpu.idle, 'cpu.idle', at('cpu.idle')))
    // skip: realtimeRuntime/realtimePeriod. cgroup v2 has no per-cgroup RT budget; runc ignores them there.
  } else {
    if (cpu.shares) add('cpu', 'cpu.shares', int(cpu.shares, 'cpu.shares', at('cpu.shares')))
    // period before quota; if the kernel refuses the period (EINVAL: old quota/new period would exceed the
    // parent's), apply retries it after the quota, as runc does
    if (cpu.period) add('cpu', 'cpu.cfs_period_us', int(cpu.period, 'cpu.period', at('cpu.period')))
    if (cpu.quota) add('cpu', 'cpu.cfs_quota_us', int(cpu.quota, 'cpu.quota', at('cpu.quota')))
    if (cpu.burst !== undefined && cpu.burst !== null) add('cpu', 'cpu.cfs_burst_us', int(cpu.burst, 'cpu.burst', at('cpu.burst')))
    if (cpu.realtimePeriod) add('cpu', 'cpu.rt_period_us', int(cpu.realtimePeriod, 'cpu.realtimePeriod', at('cpu.realtimePeriod')))
    if (cpu.realtimeRuntime) add('cpu', 'cpu.rt_runtime_us', int(cpu.realtimeRuntime, 'cpu.realtimeRuntime', at('cpu.realtimeRuntime')))
    if (cpu.idle !== undefined && cpu.idle !== null) add('cpu', 'cpu.idle', int(cpu.idle, 'cpu.idle', at('cpu.idle')))
  }

  // pids: 0 is unset, negative is unlimited
  const pl = res.pids?.limit
  if (pl) add('pids', 'pids.max', pl > 0 ? int(pl, 'pids.limit', at('pids.limit')) : 'max')

  const bio = res.blockIO
  if (bio) {
    const dev = (d: {major: number; minor: number}) => `${d.major}:${d.minor}`
    if (v2) {
      // BFQ takes the OCI 10..1000 weight unconverted; without BFQ, io.weight takes the converted value
      if (bio.weight) {
        const w = String(bio.weight)
        add('io', 'io.bfq.weight', w, {fallback: {file: 'io.weight', value: String(blkioWeightToIoWeight(bio.weight))}})
      }
      for (const d of bio.weightDevice ?? []) if (d.weight) add('io', 'io.bfq.weight', `${dev(d)} ${d.weight}`)
      // skip on v2: leafWeight (a CFQ-only notion; runc ignores it)
      const io = (list: typeof bio.throttleReadBpsDevice, key: string) => {
        for (const d of list ?? []) add('io', 'io.max', `${dev(d)} ${key}=${d.rate === 0 ? 'max' : int(d.rate, key, ctx)}`)
      }
      io(bio.throttleReadBpsDevice, 'rbps')
      io(bio.throttleWriteBpsDevice, 'wbps')
      io(bio.throttleReadIOPSDevice, 'riops')
      io(bio.throttleWriteIOPSDevice, 'wiops')
    } else {
      // kernels without CFQ (5.0+) have only the BFQ files, which take the same 10..1000 weight
      const weight = (file: string, bfq: string, value: string) => add('blkio', file, value, {fallback: {file: bfq, value}})
      if (bio.weight) weight('blkio.weight', 'blkio.bfq.weight', int(bio.weight, 'blockIO.weight', at('blockIO.weight')))
      if (bio.leafWeight) add('blkio', 'blkio.leaf_weight', int(bio.leafWeight, 'blockIO.leafWeight', at('blockIO.leafWeight')))
      for (const d of bio.weightDevice ?? []) {
        if (d.weight) weight('blkio.weight_device', 'blkio.bfq.weight_device', `${dev(d)} ${d.weight}`)
        if (d.leafWeight) add('blkio', 'blkio.leaf_weight_device', `${dev(d)} ${d.leafWeight}`)
      }
      const thr = (list: typeof bio.throttleReadBpsDevice, file: string) => {
        for (const d of list ?? []) add('blkio', `blkio.throttle.${file}`, `${dev(d)} ${int(d.rate, file, ctx)}`)
      }
      thr(bio.throttleReadBpsDevice, 'read_bps_device')
      thr(bio.throttleWriteBpsDevice, 'write_bps_device')
      thr(bio.throttleReadIOPSDevice, 'read_iops_device')
      thr(bio.throttleWriteIOPSDevice, 'write_iops_device')
    }
  }

  for (const h of res.hugepageLimits ?? []) {
    const file = v2 ? `hugetlb.${h.pageSize}.max` : `hugetlb.${h.pageSize}.limit_in_bytes`
    add('hugetlb', file, int(h.limit, 'hugepageLimits.limit', at('hugepageLimits')))
  }

  // skip on v2: network. net_cls/net_prio exist only in v1 (v2 uses eBPF for both); runc ignores them on v2.
  if (!v2 && res.network) {
    if (res.network.classID) add('net_cls', 'net_cls.classid', int(res.network.classID, 'network.classID', at('network.classID')))
    for (const p of res.network.priorities ?? []) add('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`)
  }

  for (const [device, r] of Object.entries(res.rdma ?? {})) {
    let line = device
    if (r.hcaHandles !== undefined && r.hcaHandles !== null) line += ` hca_handle=${r.hcaHandles}`
    if (r.hcaObjects !== undefined && r.hcaObjects !== null) line += ` hca_object=${r.hcaObjects}`
    add('rdma', 'rdma.max', line)
  }

  const unified = Object.entries(res.unified ?? {})
  if (unified.length > 0) {
    if (!v2) throw new InvalidInput('invalid configuration: cannot use unified on cgroup v1', at('unified'))
    // last, so that unified keys win over the typed fields (runc's order)
    for (const [key, value] of unified) {
      if (key.includes('/') || key.startsWith('.') || !key.includes('.'))
        throw new InvalidInput(`invalid unified key ${JSON.stringify(key)}`, at('unified'))
      add(key.slice(0, key.indexOf('.')), key, value)
    }
  }
  return out
}
