// What one host can do for a migration, gathered on each end (the target answers `hello` with it) and compared by
// the preflight before anything is frozen.
import * as fs from 'node:fs'
import * as os from 'node:os'
import type {Runtime} from '../../core/runtime'
import {criuFeatureMissing, criuVersion, criuUnusable} from '../../core/criu/client'
import {version} from '../../core/version'
import {criuLauncher} from '../../core/criu/launcher'

export interface HostFacts {
  ocirt: string
  node: string
  hostname: string
  arch: string
  kernel: string
  root: string
  /** the criu version, or why there is no usable one */
  criu: {version?: string; problem?: string}
  /** CRIU features, each '' when present or the reason it is missing */
  features: {lazyPages: string; dirtyTracking: string}
  /** x86 cpu flags (from /proc/cpuinfo): a process may use any of them, so the target must have them all */
  cpuFlags: string[]
  /** the source's address as this host sees it (from SSH_CONNECTION): where a direct page server connection goes */
  peer?: string
  /** this host's clock (ms since the epoch) when it answered: the source compares it with its own */
  time?: number
  /** the agent makes the restored container's new network namespace (loopback up): the source need not dump its own */
  makesNetns?: boolean
  /** this host's restore rebuilds read-only tmpfs mounts dumped as skeletons (criu/tmpfs-skeleton.ts) */
  rebuildsTmpfs?: boolean
  /** and writable ones, which were empty at the freeze (criu/tmpfs-skeleton.ts WRITABLE_KEY_PREFIX) */
  rebuildsWritableTmpfs?: boolean
  /** and writable ones with device nodes and symlinks (a /dev), which needs the criu launcher here */
  rebuildsTmpfsNodes?: boolean
}

export function hostFacts(rt: Runtime): HostFacts {
  const facts: HostFacts = {
    ocirt: version(),
    node: process.version,
    hostname: os.hostname(),
    arch: process.arch,
    kernel: os.release(),
    root: rt.root,
    criu: {},
    features: {lazyPages: 'criu unusable', dirtyTracking: 'criu unusable'},
    cpuFlags: cpuFlags(),
    peer: process.env.SSH_CONNECTION?.split(' ')[0] || undefined,
    time: Date.now(),
    makesNetns: true,
    rebuildsTmpfs: true,
    rebuildsWritableTmpfs: true,
    rebuildsTmpfsNodes: criuLauncher() !== undefined,
  }
  try {
    const v = criuVersion(rt, {verb: 'migrate', step: 'criu version'})
    facts.criu.version = v.text
    facts.criu.problem = criuUnusable(v, os.release(), rt.criu)
  } catch (err) {
    facts.criu.problem = (err as Error).message
  }
  if (!facts.criu.problem) {
    facts.features.lazyPages = criuFeatureMissing(rt, 'uffd-noncoop') ?? ''
    facts.features.dirtyTracking = criuFeatureMissing(rt, 'mem_dirty_track') ?? ''
  }
  return facts
}

function cpuFlags(): string[] {
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))
    return m ? m[1].trim().split(/\s+/).sort() : []
  } catch {
    return []
  }
}

/** Bytes free on the filesystem that holds dir (or its nearest existing parent). */
export function freeBytes(dir: string): number {
  let d = dir
  for (;;) {
    try {
      const st = fs.statfsSync(d)
      return st.bavail * st.bsize
    } catch {
      const up = d.replace(/\/[^/]*\/?$/, '') || '/'
      if (up === d) return 0
      d = up
    }
  }
}
