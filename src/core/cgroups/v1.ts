// The cgroup v1 manager (also used in hybrid mode): one directory per mounted hierarchy (co-mounted controllers
// share one), plus the unified hierarchy's when it is mounted, as runc 1.1 does. Resource values come from resources.ts.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {StepFailed, type ErrorContext} from '../errors'
import {DirOps, REAL_DIR_OPS, errnoOf, listMatching, mkdirAll, readCgroupFile, readCgroupFileIfExists, readPids,
  removeCgroupDir, sleepMs, writeCgroupFile, writePid} from './fsio'
import {applyWrites, cgroupError, checkMemoryLimit, signalAll, type CgroupManager} from './manager'
import {CgroupMount, DEFAULT_CGROUP_ROOT, dirInMount, parseCgroupMounts, parseProcCgroup, rebaseMount} from './paths'
import {resourceWrites} from './resources'
import {HUGETLB_STAT_FILE, parseStats, statFiles} from './stats'
import type {CgroupStats, LinuxResources} from './types'

export interface V1Options {
  id: string
  verb?: string
  /** where the hierarchies are mounted; mount points under /sys/fs/cgroup are moved here (fake trees in tests) */
  root?: string
  /** /proc/self/mountinfo text (default: read it) */
  mountinfo?: string
  /** /proc/self/cgroup text (default: read it); anchors relative paths */
  procCgroup?: string
  dirOps?: DirOps
  /** rootless: device rules are not applied (the kernel refuses them to unprivileged users; runc ignores them) */
  rootless?: boolean
  /** a hierarchy where create() gets EACCES/EPERM/EROFS is left out (runc: rootless without explicit cgroupsPath) */
  skipUnwritable?: boolean
  /** the directories recorded at create (controller → dir): reopen exactly those, no discovery */
  dirs?: Record<string, string>
  /** the parents create() made, as recorded with the container (madeDirs()): destroy() removes them if empty */
  made?: string[]
}

// the hierarchy whose cgroup.procs lists the container's processes (runc uses devices; freezer is always joined)
const PROCS_PREFERENCE = ['freezer', 'devices', 'pids', 'memory', 'cpu', 'name=systemd', '']
const PERMISSION = new Set(['EACCES', 'EPERM', 'EROFS'])

/**
 * Hybrid hosts, rootless: moving a process into the unified (cgroup2) hierarchy follows v2's delegation rule, write
 * access to cgroup.procs of the common ancestor of the source and destination cgroups, which an unprivileged user
 * seldom has even when the v1 hierarchies are delegated. Without it the unified hierarchy is left out, as runc 1.1
 * leaves it out (its container stays in the caller's unified cgroup).
 */
function mayMigrateV2(ownDir: string, dir: string): boolean {
  let anc = path.resolve(ownDir)
  while (anc !== path.dirname(anc) && dir !== anc && !dir.startsWith(anc + '/')) anc = path.dirname(anc)
  try {
    fs.accessSync(path.join(anc, 'cgroup.procs'), fs.constants.W_OK)
    return true
  } catch {
    return false
  }
}

export class V1Manager implements CgroupManager {
  readonly version = 'v1' as const
  private readonly dirs = new Map<string, string>() // controller ('' = unified) → dir
  private readonly mountPoints = new Map<string, string>() // controller → its hierarchy's mount point
  private readonly ctx: ErrorContext
  private readonly ops: DirOps
  private made: string[] = []

  constructor(cgroupPath: string, private readonly opts: V1Options) {
    this.ctx = {verb: opts.verb, id: opts.id}
    this.ops = opts.dirOps ?? REAL_DIR_OPS
    this.made = [...(opts.made ?? [])]
    if (opts.dirs) {
      for (const [k, d] of Object.entries(opts.dirs)) this.dirs.set(k, d)
      return
    }
    const root = opts.root ?? DEFAULT_CGROUP_ROOT
    const own = parseProcCgroup(opts.procCgroup ?? fs.readFileSync('/proc/self/cgroup', 'utf8'))
    const mounts = parseCgroupMounts(opts.mountinfo ?? fs.readFileSync('/proc/self/mountinfo', 'utf8'))
    for (const m0 of mounts) {
      const m: CgroupMount = rebaseMount(m0, root)
      // named hierarchies other than systemd's belong to someone else
      const keys = m.version === 2 ? [''] : m.controllers.filter((c) => !c.startsWith('name=') || c === 'name=systemd')
      if (keys.length === 0) continue
      const dir = dirInMount(m, cgroupPath, own.get(keys[0]) ?? '/')
      if (m.version === 2 && opts.rootless && !mayMigrateV2(dirInMount(m, '', own.get('') ?? '/'), dir)) continue
      for (const k of keys) {
        this.dirs.set(k, dir)
        this.mountPoints.set(k, m.mountPoint)
      }
    }
  }

  paths(): Record<string, string> {
    return Object.fromEntries([...this.dirs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) // bytewise, as Go prints maps
  }

  private uniqueDirs(): string[] {
    return [...new Set(this.dirs.values())]
  }

  create(): void {
    for (const dir of this.uniqueDirs()) {
      try {
        this.made.push(...mkdirAll(dir, this.ops))
      } catch (err) {
        if (this.opts.skipUnwritable && PERMISSION.has(errnoOf(err) ?? '')) {
          for (const [k, d] of [...this.dirs]) if (d === dir) this.dirs.delete(k)
          continue
        }
        throw cgroupError(err, this.ctx, 'create cgroup', dir)
      }
    }
    const cpuset = this.dirs.get('cpuset')
    if (cpuset) this.initCpuset(cpuset)
  }

  /**
   * A new cpuset cgroup starts with empty cpus and mems, and no task may join it until both are set. Copy them
   * from the parent at every level, top down, wherever they are still empty.
   */
  private initCpuset(leaf: string): void {
    const mount = this.mountPoints.get('cpuset') ?? '/'
    const levels: string[] = []
    for (let d = leaf; d !== mount && d !== path.dirname(d); d = path.dirname(d)) levels.unshift(d)
    for (const dir of levels) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        try {
          if (readCgroupFile(dir, file).trim() !== '') continue
          writeCgroupFile(dir, file, readCgroupFile(path.dirname(dir), file).trim())
        } catch (err) {
          throw cgroupError(err, this.ctx, 'create cgroup', `${dir}/${file}`)
        }
      }
    }
  }

  addProcess(pid: number): void {
    for (const dir of this.uniqueDirs()) {
      try {
        writePid(dir, pid)
      } catch (err) {
        throw cgroupError(err, this.ctx, 'join cgroup', `add pid ${pid} to ${dir}`)
      }
    }
  }

  apply(res: LinuxResources): void {
    let writes = resourceWrites(res, 'v1', this.ctx)
    // rootless: the kernel never lets an unprivileged user change device rules, and runc ignores those errors
    if (this.opts.rootless) writes = writes.filter((w) => w.controller !== 'devices')
    const mem = this.dirs.get('memory')
    checkMemoryLimit(res, mem && readCgroupFileIfExists(mem, 'memory.usage_in_bytes'), this.ctx)
    applyWrites(writes, (c) => this.dirs.get(c), this.ctx)
  }

  private freezerDir(step: string): string {
    const dir = this.dirs.get('freezer')
    if (!dir) throw new StepFailed('the freezer cgroup is not mounted', {...this.ctx, step})
    return dir
  }

  /**
   * Writes FROZEN or THAWED and waits until freezer.state reports it. Freezing can stay in FREEZING when a task
   * is in an uninterruptible sleep or races with fork; re-writing the request (after a brief thaw) unsticks it.
   * A freeze that never settles is undone, so the container is not left half frozen.
   */
  setFrozen(frozen: boolean): void {
    const step = frozen ? 'freeze cgroup' : 'thaw cgroup'
    const dir = this.freezerDir(step)
    const want = frozen ? 'FROZEN' : 'THAWED'
    try {
      const deadline = Date.now() + 5000
      for (let i = 0; ; i++) {
        if (i % 25 === 0) {
          if (frozen && i > 0) writeCgroupFile(dir, 'freezer.state', 'THAWED')
          writeCgroupFile(dir, 'freezer.state', want)
        }
        if (readCgroupFile(dir, 'freezer.state').trim() === want) return
        if (Date.now() > deadline) break
        sleepMs(Math.min(1 + i, 10))
      }
      if (frozen) writeCgroupFile(dir, 'freezer.state', 'THAWED')
    } catch (err) {
      throw cgroupError(err, this.ctx, step, `${dir}/freezer.state`)
    }
    throw new StepFailed(`${dir}/freezer.state did not reach ${want} within 5s`, {...this.ctx, step})
  }

  /** Frozen by its own request (freezer.self_freezing), not merely because an ancestor is frozen. */
  isFrozen(): boolean {
    const dir = this.dirs.get('freezer')
    if (!dir) return false
    const state = readCgroupFileIfExists(dir, 'freezer.state')?.trim()
    if (state === undefined || state === 'THAWED') return false
    const self = readCgroupFileIfExists(dir, 'freezer.self_freezing')
    return self === undefined || self.trim() === '1' // kernels without the file: trust the state
  }

  private procsDir(): string | undefined {
    for (const k of PROCS_PREFERENCE) if (this.dirs.has(k)) return this.dirs.get(k)
    return this.uniqueDirs()[0]
  }

  pids(recursive = false): number[] {
    const dir = this.procsDir()
    try {
      return dir ? readPids(dir, recursive) : []
    } catch (err) {
      throw cgroupError(err, this.ctx, 'list cgroup processes', dir ?? '')
    }
  }

  stats(): CgroupStats {
    const files: Record<string, string> = {}
    const read = (dir: string, name: string) => {
      const text = readCgroupFileIfExists(dir, name)
      if (text !== undefined) files[name] = text
    }
    try {
      for (const name of statFiles('v1')) {
        const dir = this.dirs.get(name.slice(0, name.indexOf('.')))
        if (dir) read(dir, name)
      }
      const huge = this.dirs.get('hugetlb')
      if (huge) for (const name of listMatching(huge, HUGETLB_STAT_FILE.v1)) read(huge, name)
    } catch (err) {
      throw cgroupError(err, this.ctx, 'read cgroup stats', 'stat files')
    }
    return parseStats('v1', files)
  }

  killAll(signal: number): void {
    signalAll(this, signal, this.ctx)
  }

  destroy(): void {
    const errors: unknown[] = []
    for (const dir of this.uniqueDirs()) {
      try {
        removeCgroupDir(dir, this.ops)
      } catch (err) {
        errors.push(cgroupError(err, this.ctx, 'remove cgroup', dir))
      }
    }
    // parents this manager made, deepest first; one that now holds other cgroups (EBUSY) is someone else's too
    for (const dir of this.made.slice().reverse()) {
      if (this.uniqueDirs().includes(dir)) continue
      try {
        this.ops.rmdir(dir)
      } catch {
        // still in use or already gone
      }
    }
    this.made = []
    if (errors.length > 0) throw errors[0]
  }

  madeDirs(): string[] {
    const leaves = this.uniqueDirs()
    return this.made.filter((d) => !leaves.includes(d))
  }

  exists(): boolean {
    const dir = this.procsDir()
    return dir !== undefined && fs.existsSync(dir)
  }
}
