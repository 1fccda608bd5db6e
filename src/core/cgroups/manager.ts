// The CgroupManager interface every driver implements (v1, v2, disabled), plus the pieces they share: applying a
// CgroupWrite plan with runc's order retries, signalling every process, and error wrapping with id and step.
import {StepFailed, type ErrorContext} from '../errors'
import {errnoOf, writeCgroupFile} from './fsio'
import type {CgroupStats, CgroupWrite, LinuxResources} from './types'

export interface CgroupManager {
  readonly version: 'v1' | 'v2'
  /** controller → absolute directory (v2 and the hybrid unified hierarchy: key ''); what state.json records */
  paths(): Record<string, string>
  /** mkdir -p in every hierarchy; remembers what it made so destroy() removes only that plus the leaf */
  create(): void
  addProcess(pid: number): void
  apply(res: LinuxResources): void
  setFrozen(frozen: boolean): void
  isFrozen(): boolean
  pids(recursive?: boolean): number[]
  stats(): CgroupStats
  /** signals every process (recursively); SIGKILL also reaches a paused container, which is thawed for it */
  killAll(signal: number): void
  /** removes the leaf (and child cgroups in it) and the parents create() made; a missing dir is fine */
  destroy(): void
  /**
   * The parent directories create() made (outermost first), saved with the container so that a later delete,
   * in another process, removes them too: the spec's delete undoes what create did.
   */
  madeDirs(): string[]
  exists(): boolean
}

export const SIGKILL = 9

/** Turns a Node fs error into a StepFailed naming the container, the step and the file. */
export function cgroupError(err: unknown, ctx: ErrorContext, step: string, file: string): StepFailed {
  const code = errnoOf(err)
  const msg = err instanceof Error ? err.message : String(err)
  // Node says "EINVAL: invalid argument, write"; keep the readable middle, errno is appended by formatMessage
  const reason = code && msg.startsWith(`${code}: `) ? msg.slice(code.length + 2).split(',')[0] : msg
  return new StepFailed(`${file}: ${reason}`, {...ctx, step, errno: code}, {cause: err})
}

function writeOne(dir: string, w: CgroupWrite): void {
  try {
    writeCgroupFile(dir, w.file, w.value)
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err
    if (w.fallback) return writeCgroupFile(dir, w.fallback.file, w.fallback.value)
    if (w.optional) return
    throw err
  }
}

/**
 * Applies writes in order. `dirFor` gives the directory holding a controller's files, or undefined when that
 * controller is not available; `tolerate` names controllers whose absence is ignored (rootless devices, as runc).
 * A write the kernel refuses with EINVAL is retried once after all the others: some pairs must go in the
 * order that keeps the kernel's invariants between the old and the new values (memory limit <= memsw limit,
 * cfs period vs quota against the parent), which depends on the current values. runc reads them to choose;
 * retrying later gives the same result without reading.
 */
export function applyWrites(
  writes: CgroupWrite[],
  dirFor: (controller: string) => string | undefined,
  ctx: ErrorContext,
  tolerate: (controller: string) => boolean = () => false,
): void {
  const step = 'apply cgroup resources'
  const retry: Array<{dir: string; w: CgroupWrite}> = []
  for (const w of writes) {
    const dir = dirFor(w.controller)
    if (dir === undefined) {
      if (tolerate(w.controller)) continue
      throw new StepFailed(`cannot set ${w.file}: the ${w.controller} controller is not available for this cgroup`, {...ctx, step})
    }
    try {
      writeOne(dir, w)
    } catch (err) {
      if (errnoOf(err) !== 'EINVAL') throw cgroupError(err, ctx, step, `write ${JSON.stringify(w.value)} to ${dir}/${w.file}`)
      retry.push({dir, w})
    }
  }
  for (const {dir, w} of retry) {
    try {
      writeOne(dir, w)
    } catch (err) {
      throw cgroupError(err, ctx, step, `write ${JSON.stringify(w.value)} to ${dir}/${w.file}`)
    }
  }
}

/**
 * checkBeforeUpdate: refuse a memory limit below what the cgroup already uses (the kernel would start reclaiming
 * or OOM-killing instead). `usage` is the current usage file's text, undefined for a new cgroup.
 */
export function checkMemoryLimit(res: LinuxResources, usage: string | undefined, ctx: ErrorContext): void {
  const limit = res.memory?.limit
  if (!res.memory?.checkBeforeUpdate || usage === undefined || !limit || limit < 0) return
  const used = Number(usage.trim())
  if (used > limit) {
    throw new StepFailed(`rejecting memory limit ${limit} below current usage ${used}`, {...ctx, step: 'apply cgroup resources'})
  }
}

/**
 * Sends `signal` to every process in the cgroup tree, frozen first so that nothing forks out of reach between
 * listing and signalling. Afterwards the cgroup is thawed if it was running before, or if the signal is SIGKILL
 * (a frozen v1 task only dies once thawed); otherwise it stays paused with the signal pending. runc always
 * thaws, which silently resumes a paused container on `kill --all SIGTERM`; ocirt keeps it paused.
 */
export function signalAll(m: CgroupManager, signal: number, ctx: ErrorContext): void {
  const wasFrozen = m.isFrozen()
  let froze = false
  if (!wasFrozen) {
    try {
      m.setFrozen(true)
      froze = true
    } catch {
      // no freezer: signal anyway, as runc does; a fork racing with us may survive
    }
  }
  try {
    for (const pid of m.pids(true)) {
      try {
        process.kill(pid, signal)
      } catch (err) {
        if (errnoOf(err) !== 'ESRCH') throw cgroupError(err, ctx, 'signal cgroup processes', `pid ${pid}`)
      }
    }
  } finally {
    if (froze || (wasFrozen && signal === SIGKILL)) m.setFrozen(false)
  }
}
