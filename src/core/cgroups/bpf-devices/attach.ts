// Puts a device program on a cgroup v2 directory in place of the ones there, with no moment without a filter:
// the new program is attached before any old one goes (one old program is swapped atomically with
// BPF_F_REPLACE; several, or a kernel before 5.6, get attach-then-detach, briefly enforcing both, which only
// ever denies more). Loaded lazily by v2.ts, only for a v2 cgroup with device rules.
import * as fs from 'node:fs'
import {StepFailed, type ErrorContext} from '../../errors'
import {BPF_F_ALLOW_MULTI, BPF_F_REPLACE, BpfError, attachDeviceProgram, detachDeviceProgram, loadDeviceProgram,
  programFdById, queryDevicePrograms} from '../../sys/bpf'
import type {LinuxDeviceCgroup} from '../types'
import {emulateRules} from './emulate'
import {deviceProgram} from './program'

// the program calls no helper, so any license loads; ocirt's own
const LICENSE = 'Apache-2.0'
const STEP = 'apply cgroup device rules'

function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      fs.closeSync(fd)
    } catch {
      // already closed
    }
  }
}

/** The StepFailed for a failed bpf(2) step: errno, and the verifier's log when the kernel refused the program. */
export function deviceFilterError(err: unknown, ctx: ErrorContext, what: string): StepFailed {
  if (!(err instanceof BpfError)) return new StepFailed(`${what}: ${err instanceof Error ? err.message : String(err)}`, {...ctx, step: STEP}, {cause: err})
  // the verifier's log is many lines: it goes last, after the errno
  if (err.log) return new StepFailed(`${what}: ${err.call} failed: ${err.code}; verifier log:\n${err.log}`, {...ctx, step: STEP}, {cause: err})
  return new StepFailed(`${what}: ${err.call} failed`, {...ctx, step: STEP, errno: err.code}, {cause: err})
}

export interface DeviceFilterOptions {
  ctx: ErrorContext
  /** the cgroup was just made by this process, so no program is attached yet */
  fresh?: boolean
}

/** fds of the device programs attached to the cgroup itself (one detached meanwhile is skipped). */
function attachedPrograms(cgroupFd: number): number[] {
  const fds: number[] = []
  try {
    for (const id of queryDevicePrograms(cgroupFd)) {
      try {
        fds.push(programFdById(id))
      } catch (err) {
        if (!(err instanceof BpfError && err.code === 'ENOENT')) throw err
      }
    }
    return fds
  } catch (err) {
    closeAll(fds)
    throw err
  }
}

/** Attaches `progFd` in place of the `old` programs: the new one is on before any old one comes off. */
function swap(cgroupFd: number, progFd: number, old: number[], dir: string, ctx: ErrorContext): void {
  let replaced: number | undefined
  try {
    if (old.length === 1) {
      try {
        attachDeviceProgram(cgroupFd, progFd, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, old[0])
        replaced = old[0]
      } catch (err) {
        if (!(err instanceof BpfError && err.code === 'EINVAL')) throw err // EINVAL: no BPF_F_REPLACE (< 5.6)
      }
    }
    if (replaced === undefined) attachDeviceProgram(cgroupFd, progFd, BPF_F_ALLOW_MULTI)
  } catch (err) {
    throw deviceFilterError(err, ctx, `attach the device program to ${dir}`)
  }
  for (const fd of old) {
    if (fd === replaced) continue
    try {
      detachDeviceProgram(cgroupFd, fd)
    } catch (err) {
      if (!(err instanceof BpfError && err.code === 'ENOENT')) throw deviceFilterError(err, ctx, `detach the old device program from ${dir}`)
    }
  }
}

/**
 * Replaces the device programs of the cgroup directory `dir` with one enforcing `rules` (in order). Rules that
 * restrict nothing on a fresh cgroup need no program at all (and no koffi).
 */
export function setDeviceFilter(dir: string, rules: readonly LinuxDeviceCgroup[], opts: DeviceFilterOptions): void {
  const ctx = opts.ctx
  const state = emulateRules(rules, ctx)
  if (opts.fresh && state.defaultAllow && state.exceptions.length === 0) return
  const program = deviceProgram(state)
  const fds: number[] = []
  try {
    try {
      fds.push(fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY))
    } catch (err) {
      throw new StepFailed(`open ${dir}: ${(err as Error).message}`, {...ctx, step: STEP, errno: (err as NodeJS.ErrnoException).code}, {cause: err})
    }
    const cgroupFd = fds[0]
    let progFd: number
    try {
      progFd = loadDeviceProgram(program, LICENSE, 'ocirt_devices')
    } catch (err) {
      throw deviceFilterError(err, ctx, `load the device program for ${dir}`)
    }
    fds.push(progFd)
    let old: number[]
    try {
      old = attachedPrograms(cgroupFd)
    } catch (err) {
      throw deviceFilterError(err, ctx, `list the device programs of ${dir}`)
    }
    fds.push(...old)
    swap(cgroupFd, progFd, old, dir, ctx)
  } finally {
    closeAll(fds)
  }
}
