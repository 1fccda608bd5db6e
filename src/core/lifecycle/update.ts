// update: change the resource limits of a created, running or paused container, as `runc update` does. The new
// values are merged into the saved config (spec.linux.resources), the changed groups are written to the live
// cgroup, and only then is the merged config saved, so a value the kernel refuses leaves the config as it was.
import {InvalidInput, OcirtError, SENTINEL} from '../errors'
import type {Runtime} from '../runtime'
import {reopenCgroup, resourceWrites} from '../cgroups'
import type {LinuxResources} from '../cgroups/types'
import {loadConfig, saveConfig} from '../state/store'
import {loadContainer, lockForOperation} from './container'

/** What `runc update` can change: its flags, or the LinuxResources JSON of --resources. */
export interface UpdateRequest {
  resources: LinuxResources
  /** Intel RDT schemas (--l3-cache-schema, --mem-bw-schema): not supported by ocirt */
  l3CacheSchema?: string
  memBwSchema?: string
}

const set = (v: unknown): boolean => v !== undefined && v !== null && v !== 0 && v !== ''

/** Copies the set (non-zero, non-empty) fields of `from` over `into`: runc's "unchanged values can be omitted". */
function mergeSet<T extends object>(into: T | undefined, from: T | undefined): {merged: T | undefined; changed: boolean} {
  if (!from) return {merged: into, changed: false}
  const out = {...(into ?? {})} as Record<string, unknown>
  let changed = false
  for (const [k, v] of Object.entries(from)) {
    if (!set(v)) continue
    out[k] = v
    changed = true
  }
  return {merged: changed ? (out as T) : into, changed}
}

/**
 * The merged resources and the subset to write now: a changed group is written whole from the merged values
 * (a new quota goes with the saved period, a new memory limit with the saved swap), untouched groups not at all.
 */
export function mergeResources(saved: LinuxResources, req: LinuxResources): {merged: LinuxResources; delta: LinuxResources} {
  const merged: LinuxResources = {...saved}
  const delta: LinuxResources = {}
  const mem = mergeSet(saved.memory, req.memory)
  if (mem.changed) {
    // runc: memory set to unlimited without a swap value lifts swap too ("unable to set swap limit without memory limit")
    const m = {...mem.merged!}
    if (m.limit === -1 && !set(req.memory?.swap)) delete m.swap
    merged.memory = m
    delta.memory = {limit: m.limit, swap: m.swap, reservation: req.memory?.reservation ? m.reservation : undefined,
      kernelTCP: req.memory?.kernelTCP ? m.kernelTCP : undefined, kernel: req.memory?.kernel ? m.kernel : undefined}
    if (!set(req.memory?.limit) && !set(req.memory?.swap)) {
      delete delta.memory.limit
      delete delta.memory.swap
    }
  }
  const cpu = mergeSet(saved.cpu, req.cpu)
  if (cpu.changed) {
    merged.cpu = cpu.merged
    const c = cpu.merged!
    const r = req.cpu!
    delta.cpu = {}
    if (set(r.cpus)) delta.cpu.cpus = c.cpus
    if (set(r.mems)) delta.cpu.mems = c.mems
    if (set(r.shares)) delta.cpu.shares = c.shares
    if (set(r.quota) || set(r.period)) Object.assign(delta.cpu, {quota: c.quota, period: c.period})
    if (set(r.realtimePeriod) || set(r.realtimeRuntime)) Object.assign(delta.cpu, {realtimePeriod: c.realtimePeriod, realtimeRuntime: c.realtimeRuntime})
    if (r.burst !== undefined && r.burst !== null) delta.cpu.burst = merged.cpu!.burst = r.burst
    if (r.idle !== undefined && r.idle !== null) delta.cpu.idle = merged.cpu!.idle = r.idle
  }
  if (set(req.pids?.limit)) {
    merged.pids = {...saved.pids, limit: req.pids!.limit}
    delta.pids = {limit: req.pids!.limit}
  }
  if (set(req.blockIO?.weight)) {
    merged.blockIO = {...saved.blockIO, weight: req.blockIO!.weight}
    delta.blockIO = {weight: req.blockIO!.weight}
  }
  if (req.unified && Object.keys(req.unified).length > 0) {
    merged.unified = {...saved.unified, ...req.unified}
    delta.unified = {...req.unified}
  }
  return {merged, delta}
}

/** Checks every number of the request before anything is written. */
function checkNumbers(res: LinuxResources, ctx: {verb: string; id: string}): void {
  const groups: [string, Record<string, unknown> | undefined][] = [
    ['memory', res.memory as unknown as Record<string, unknown>], ['cpu', res.cpu as unknown as Record<string, unknown>],
    ['pids', res.pids as unknown as Record<string, unknown>], ['blockIO', res.blockIO as unknown as Record<string, unknown>],
  ]
  for (const [g, obj] of groups) {
    if (obj !== undefined && (obj === null || typeof obj !== 'object' || Array.isArray(obj))) {
      throw new InvalidInput(`${g} must be an object`, {...ctx, step: `linux.resources.${g}`})
    }
    for (const [k, v] of Object.entries(obj ?? {})) {
      if (k === 'cpus' || k === 'mems') {
        if (v !== undefined && v !== null && typeof v !== 'string') throw new InvalidInput(`${g}.${k} must be a string, got ${JSON.stringify(v)}`, {...ctx, step: `linux.resources.${g}.${k}`})
      } else if (typeof v === 'number' ? !Number.isInteger(v) : v !== undefined && v !== null && typeof v !== 'boolean') {
        throw new InvalidInput(`${g}.${k} must be an integer, got ${JSON.stringify(v)}`, {...ctx, step: `linux.resources.${g}.${k}`})
      }
    }
  }
  const w = res.blockIO?.weight
  if (set(w) && (w! < 10 || w! > 1000)) throw new InvalidInput(`invalid blkio weight ${w}: the range is 10 to 1000`, {...ctx, step: 'linux.resources.blockIO.weight'})
  for (const k of ['shares', 'period', 'realtimePeriod'] as const) {
    const v = res.cpu?.[k]
    if (typeof v === 'number' && v < 0) throw new InvalidInput(`cpu.${k} must not be negative, got ${v}`, {...ctx, step: `linux.resources.cpu.${k}`})
  }
}

export async function update(rt: Runtime, id: string, req: UpdateRequest, verb = 'update'): Promise<void> {
  const ctx = {verb, id}
  // runc's libcontainer: Set on a stopped container is ErrNotRunning
  if (loadContainer(rt, id, verb).status === 'stopped') throw new OcirtError(SENTINEL.notRunning, ctx)
  if (req.l3CacheSchema) throw new InvalidInput('Intel RDT/CAT: l3 cache schema is not enabled (ocirt does not support Intel RDT)', {...ctx, step: 'l3-cache-schema'})
  if (req.memBwSchema) throw new InvalidInput('Intel RDT/MBA: memory bandwidth schema is not enabled (ocirt does not support Intel RDT)', {...ctx, step: 'mem-bw-schema'})
  checkNumbers(req.resources, ctx)

  let locked
  try {
    locked = await lockForOperation(rt, id, 'update', verb)
  } catch (err) {
    if (err instanceof OcirtError && err.message.endsWith('a container that is stopped')) throw new OcirtError(SENTINEL.notRunning, ctx)
    throw err
  }
  const {unlock, facts} = locked
  try {
    const version = facts.cgroup.version
    if (version === 'v2' && (set(req.resources.memory?.kernel) || set(req.resources.memory?.kernelTCP))) {
      const field = set(req.resources.memory?.kernel) ? 'memory.kernel' : 'memory.kernelTCP'
      throw new InvalidInput(`kernel memory limits are not supported on cgroup v2`, {...ctx, step: `linux.resources.${field}`})
    }
    const spec = loadConfig(rt, id, verb)
    spec.linux ??= {}
    const saved = (spec.linux.resources ?? {}) as LinuxResources
    const {merged, delta} = mergeResources(saved, req.resources)
    const m = merged.memory
    if (version === 'v1' && m && set(m.swap) && m.swap !== -1 && set(m.limit) && m.limit !== -1 && m.swap! < m.limit!) {
      throw new InvalidInput('memory+swap limit should be >= memory limit', {...ctx, step: 'linux.resources.memory.swap'})
    }
    // validate the whole merged set (and the delta) as create would, before the first write
    resourceWrites(merged, version, ctx)
    resourceWrites(delta, version, ctx)
    const cgroup = reopenCgroup(facts.cgroup, {id, rootless: facts.rootless, verb})
    cgroup.apply(delta)
    spec.linux.resources = merged
    saveConfig(rt, id, spec)
  } finally {
    unlock()
  }
}
