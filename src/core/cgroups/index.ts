// Entry to the cgroups module: detect the host's cgroup mode and open the right manager for a container's cgroup
// path (as resolveCgroupsPath gives it). Hybrid hosts are driven as v1, as youki and runc do.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {DisabledManager} from './disabled'
import type {DirOps} from './fsio'
import type {CgroupManager} from './manager'
import {DEFAULT_CGROUP_ROOT, dirInMount, parseCgroupMounts, parseProcCgroup, rebaseMount} from './paths'
import {V1Manager} from './v1'
import {V2Manager} from './v2'

export type {CgroupManager} from './manager'
export type {CgroupVersion} from './resources'
export {resourceWrites} from './resources'
export {resolveCgroupsPath} from './paths'
export {parseStats, statsToJson} from './stats'
export type * from './types'

export type CgroupMode = 'v1' | 'v2' | 'hybrid'

/**
 * Two existsSync calls, no statfs: a cgroup2 mount at the root shows cgroup.controllers; a hybrid host has a tmpfs
 * root with v1 hierarchies and cgroup2 at <root>/unified; anything else is plain v1.
 */
export function detectCgroupMode(root = DEFAULT_CGROUP_ROOT): CgroupMode {
  if (fs.existsSync(path.join(root, 'cgroup.controllers'))) return 'v2'
  if (fs.existsSync(path.join(root, 'unified', 'cgroup.controllers'))) return 'hybrid'
  return 'v1'
}

export interface OpenCgroupOptions {
  id: string
  rootless: boolean
  /** cgroupfs mount root (default /sys/fs/cgroup); tests point it at a fake tree */
  root?: string
  /** the verb, for error messages (`<verb> <id>: <step>: ...`) */
  verb?: string
  /** the spec gave linux.cgroupsPath explicitly: rootless then fails on an unwritable cgroup, as runc does */
  explicitPath?: boolean
  /** test seams: /proc/self/mountinfo and /proc/self/cgroup texts, directory operations */
  mountinfo?: string
  procCgroup?: string
  dirOps?: DirOps
}

/** Whether we may create `dir` (or write to it, if it exists): the nearest existing ancestor must be writable. */
function writable(dir: string): boolean {
  let d = dir
  while (!fs.existsSync(d) && d !== path.dirname(d)) d = path.dirname(d)
  try {
    fs.accessSync(d === dir ? path.join(d, 'cgroup.procs') : d, fs.constants.W_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The manager for the container's cgroup at `cgroupPath` (absolute, or relative to the runtime's own cgroup).
 * Rootless (runc's rules): without a delegated cgroup a rootless container runs with no cgroup at all; create and
 * join are no-ops, exists() is false, and only asking for limits fails ("cannot set <controller> limit: container
 * could not join or create cgroup"). An explicit cgroupsPath that cannot be created fails at create(). With a
 * partly writable v1 tree, the writable hierarchies are used and the others left out.
 */
export function openCgroup(cgroupPath: string, opts: OpenCgroupOptions): CgroupManager {
  const root = opts.root ?? DEFAULT_CGROUP_ROOT
  const mode = detectCgroupMode(root)
  const ctx = {verb: opts.verb, id: opts.id}
  const procCgroup = opts.procCgroup ?? fs.readFileSync('/proc/self/cgroup', 'utf8')
  const noCgroup = `cannot create cgroup ${cgroupPath}: no permission (rootless needs a delegated cgroup or no cgroupsPath)`
  if (mode === 'v2') {
    const m = new V2Manager(cgroupPath, {id: opts.id, verb: opts.verb, root, procCgroup, dirOps: opts.dirOps, rootless: opts.rootless})
    if (opts.rootless && !writable(m.dir)) return new DisabledManager('v2', ctx, opts.explicitPath ? noCgroup : undefined)
    return m
  }
  const mountinfo = opts.mountinfo ?? fs.readFileSync('/proc/self/mountinfo', 'utf8')
  if (opts.rootless) {
    const own = parseProcCgroup(procCgroup)
    const anyWritable = parseCgroupMounts(mountinfo).some((m0) => {
      const m = rebaseMount(m0, root)
      const key = m.version === 2 ? '' : m.controllers[0]
      return writable(dirInMount(m, cgroupPath, own.get(key) ?? '/'))
    })
    if (!anyWritable) return new DisabledManager('v1', ctx, opts.explicitPath ? noCgroup : undefined)
  }
  return new V1Manager(cgroupPath, {
    id: opts.id,
    verb: opts.verb,
    root,
    mountinfo,
    procCgroup,
    dirOps: opts.dirOps,
    rootless: opts.rootless,
    skipUnwritable: opts.rootless && !opts.explicitPath,
  })
}

/**
 * The caller's own cgroup directories, keyed as the managers' paths() are (controller, '' for cgroup2). A rootless
 * container without a cgroup of its own (nothing delegated) stays in these, so its /sys/fs/cgroup shows them,
 * as runc shows them.
 */
export function ownCgroupDirs(opts: {root?: string; mountinfo?: string; procCgroup?: string} = {}): Record<string, string> {
  const root = opts.root ?? DEFAULT_CGROUP_ROOT
  const own = parseProcCgroup(opts.procCgroup ?? fs.readFileSync('/proc/self/cgroup', 'utf8'))
  const out: Record<string, string> = {}
  for (const m0 of parseCgroupMounts(opts.mountinfo ?? fs.readFileSync('/proc/self/mountinfo', 'utf8'))) {
    const m = rebaseMount(m0, root)
    const keys = m.version === 2 ? [''] : m.controllers.filter((c) => !c.startsWith('name=') || c === 'name=systemd')
    for (const k of keys) out[k] = path.resolve(dirInMount(m, '', own.get(keys[0]) ?? '/'))
  }
  return out
}

/**
 * Reopens a container's cgroup from the directories recorded at create (ContainerFacts.cgroup), as runc reopens
 * from state.json's cgroup_paths. Re-resolving a relative cgroupsPath later would depend on the cgroup of whichever
 * process runs delete/kill/pause (a shim, a shell), and could miss the container's cgroup. No recorded paths
 * means the container ran without a cgroup (rootless, not delegated).
 */
export function reopenCgroup(
  saved: {version: 'v1' | 'v2'; paths: Record<string, string>; made?: string[]},
  opts: {id: string; rootless: boolean; verb?: string; dirOps?: DirOps},
): CgroupManager {
  const ctx = {verb: opts.verb, id: opts.id}
  if (Object.keys(saved.paths).length === 0) return new DisabledManager(saved.version, ctx)
  if (saved.version === 'v2') {
    return new V2Manager('', {...ctx, id: opts.id, dir: saved.paths[''], made: saved.made, dirOps: opts.dirOps, rootless: opts.rootless})
  }
  return new V1Manager('', {...ctx, id: opts.id, dirs: saved.paths, made: saved.made, rootless: opts.rootless, dirOps: opts.dirOps})
}
