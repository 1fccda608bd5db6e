// The cgroup v2 (unified) manager: one directory, controllers delegated down from the root through
// cgroup.subtree_control, the cgroup.freeze/cgroup.events freezer and cgroup.kill. Resource values come from resources.ts;
// device rules become an eBPF program attached to the directory (bpf-devices/, loaded only when rules are given).
import * as fs from 'node:fs'
import * as path from 'node:path'
import {StepFailed, type ErrorContext} from '../errors'
import {DirOps, REAL_DIR_OPS, errnoOf, listMatching, mkdirAll, readCgroupFileIfExists, readPids, removeCgroupDir,
  sleepMs, writeCgroupFile, writePid} from './fsio'
import {SIGKILL, applyWrites, cgroupError, checkMemoryLimit, signalAll, type CgroupManager} from './manager'
import {DEFAULT_CGROUP_ROOT, anchorCgroupPath, parseProcCgroup} from './paths'
import {resourceWrites} from './resources'
import {HUGETLB_STAT_FILE, parseStats, statFiles} from './stats'
import type {CgroupStats, LinuxDeviceCgroup, LinuxResources} from './types'

/** Enforces device rules on a cgroup directory; bpf-devices/attach.ts's setDeviceFilter unless a test injects one. */
export type DeviceFilterFn = (dir: string, rules: readonly LinuxDeviceCgroup[], opts: {ctx: ErrorContext; fresh?: boolean}) => void

export interface V2Options {
  id: string
  verb?: string
  /** the cgroup2 mount point (default /sys/fs/cgroup; a fake tree in tests) */
  root?: string
  /** /proc/self/cgroup text (default: read it); anchors relative paths */
  procCgroup?: string
  dirOps?: DirOps
  /** the directory recorded at create: reopen exactly it (cgroupPath is then ignored) */
  dir?: string
  /** the parents create() made, as recorded with the container (madeDirs()): destroy() removes them if empty */
  made?: string[]
  /** rootless: device rules are best effort (loading a device program needs privileges; runc ignores the errors) */
  rootless?: boolean
  /** test seam: what enforces device rules (default: an eBPF program, bpf-devices/attach.ts) */
  deviceFilter?: DeviceFilterFn
}

// controllers whose files appear only when enabled in the parent's cgroup.subtree_control
const CONTROLLERS = new Set(['cpu', 'cpuset', 'io', 'memory', 'pids', 'hugetlb', 'rdma', 'misc'])

export class V2Manager implements CgroupManager {
  readonly version = 'v2' as const
  readonly dir: string
  private readonly root: string
  private readonly ctx: ErrorContext
  private readonly ops: DirOps
  private made: string[] = []
  private readonly rootless: boolean
  private readonly deviceFilter?: DeviceFilterFn
  /** a device program may be on the directory: create() made it, but an earlier apply() may have attached one */
  private filtered = false

  constructor(cgroupPath: string, opts: V2Options) {
    this.ctx = {verb: opts.verb, id: opts.id}
    this.rootless = opts.rootless === true
    this.deviceFilter = opts.deviceFilter
    this.ops = opts.dirOps ?? REAL_DIR_OPS
    this.root = opts.root ?? DEFAULT_CGROUP_ROOT
    this.made = [...(opts.made ?? [])]
    // relative paths hang off the parent of our own cgroup: a cgroup with processes in it (ours) cannot enable
    // controllers for children ("no internal processes"), its parent can (runc 1.1's choice)
    if (opts.dir) {
      this.dir = opts.dir
      return
    }
    const own = parseProcCgroup(opts.procCgroup ?? fs.readFileSync('/proc/self/cgroup', 'utf8')).get('') ?? '/'
    this.dir = path.posix.join(this.root, anchorCgroupPath(cgroupPath, path.posix.dirname(own)))
  }

  paths(): Record<string, string> {
    return {'': this.dir}
  }

  create(): void {
    try {
      // level by level: enable every available controller in the parent, then make the child, so each new
      // cgroup is born with the controllers' files (and an empty one never blocks delegation)
      const rel = path.posix.relative(this.root, this.dir)
      let parent = this.root
      for (const part of rel === '' ? [] : rel.split('/')) {
        this.delegate(parent)
        const child = path.posix.join(parent, part)
        if (!fs.existsSync(child)) this.made.push(...mkdirAll(child, this.ops))
        parent = child
      }
    } catch (err) {
      throw cgroupError(err, this.ctx, 'create cgroup', this.dir)
    }
  }

  /** Enables the parent's available controllers for its children; those it may not enable are left as they are. */
  private delegate(dir: string): void {
    const available = (readCgroupFileIfExists(dir, 'cgroup.controllers') ?? '').trim().split(/\s+/).filter(Boolean)
    const enabled = new Set((readCgroupFileIfExists(dir, 'cgroup.subtree_control') ?? '').trim().split(/\s+/))
    const wanted = available.filter((c) => !enabled.has(c))
    if (wanted.length === 0) return
    try {
      writeCgroupFile(dir, 'cgroup.subtree_control', wanted.map((c) => `+${c}`).join(' '))
    } catch {
      // one refused controller (a threaded subtree, a busy cpuset, no permission) fails the whole write: go one by one
      for (const c of wanted) {
        try {
          writeCgroupFile(dir, 'cgroup.subtree_control', `+${c}`)
        } catch {
          // runc also carries on: resources needing it will fail with a clear message at apply
        }
      }
    }
  }

  addProcess(pid: number): void {
    try {
      writePid(this.dir, pid)
    } catch (err) {
      throw cgroupError(err, this.ctx, 'join cgroup', `add pid ${pid} to ${this.dir}`)
    }
  }

  apply(res: LinuxResources): void {
    const writes = resourceWrites(res, 'v2', this.ctx)
    checkMemoryLimit(res, readCgroupFileIfExists(this.dir, 'memory.current'), this.ctx)
    const listed = readCgroupFileIfExists(this.dir, 'cgroup.controllers')
    const available = new Set((listed ?? '').trim().split(/\s+/))
    // a controller missing from cgroup.controllers has no files here: name it rather than report ENOENT
    const dirFor = (c: string) => (!CONTROLLERS.has(c) || listed === undefined || available.has(c) ? this.dir : undefined)
    if (res.devices && res.devices.length > 0) this.applyDevices(res.devices)
    applyWrites(writes, dirFor, this.ctx)
  }

  /** No rules leave the current program as it is, as the v1 driver then writes nothing. */
  private applyDevices(rules: LinuxDeviceCgroup[]): void {
    // rootless without root: the kernel never lets it load a device program (runc tries and ignores the error)
    if (this.rootless && process.geteuid?.() !== 0) return
    const set = this.deviceFilter ?? (require('./bpf-devices/attach') as typeof import('./bpf-devices/attach')).setDeviceFilter
    try {
      const fresh = this.made.includes(this.dir) && !this.filtered
      this.filtered = true
      set(this.dir, rules, {ctx: this.ctx, fresh})
    } catch (err) {
      if (this.rootless && err instanceof StepFailed) return
      throw err
    }
  }

  /** Writes cgroup.freeze and waits for cgroup.events to report the new state; a freeze that never settles is undone. */
  setFrozen(frozen: boolean): void {
    const step = frozen ? 'freeze cgroup' : 'thaw cgroup'
    const want = frozen ? '1' : '0'
    try {
      writeCgroupFile(this.dir, 'cgroup.freeze', want)
      const deadline = Date.now() + 5000
      for (let i = 0; Date.now() <= deadline; i++) {
        const events = readCgroupFileIfExists(this.dir, 'cgroup.events') ?? ''
        const state = /^frozen (\d)$/m.exec(events)?.[1]
        if (state === undefined || state === want) return // no events file: nothing to wait for
        sleepMs(Math.min(1 + i, 10))
      }
      if (frozen) writeCgroupFile(this.dir, 'cgroup.freeze', '0')
    } catch (err) {
      const detail = errnoOf(err) === 'ENOENT' ? `${this.dir}/cgroup.freeze (no freezer: kernel < 5.2 or no cgroup)` : `${this.dir}/cgroup.freeze`
      throw cgroupError(err, this.ctx, step, detail)
    }
    throw new StepFailed(`${this.dir}/cgroup.events did not report frozen ${want} within 5s`, {...this.ctx, step})
  }

  isFrozen(): boolean {
    return readCgroupFileIfExists(this.dir, 'cgroup.freeze')?.trim() === '1'
  }

  pids(recursive = false): number[] {
    try {
      return readPids(this.dir, recursive)
    } catch (err) {
      throw cgroupError(err, this.ctx, 'list cgroup processes', this.dir)
    }
  }

  stats(): CgroupStats {
    const files: Record<string, string> = {}
    try {
      for (const name of [...statFiles('v2'), ...listMatching(this.dir, HUGETLB_STAT_FILE.v2)]) {
        const text = readCgroupFileIfExists(this.dir, name)
        if (text !== undefined) files[name] = text
      }
    } catch (err) {
      throw cgroupError(err, this.ctx, 'read cgroup stats', this.dir)
    }
    return parseStats('v2', files)
  }

  /** SIGKILL goes through cgroup.kill (Linux 5.14+): atomic, reaches frozen tasks, no fork race. */
  killAll(signal: number): void {
    if (signal === SIGKILL && fs.existsSync(path.join(this.dir, 'cgroup.kill'))) {
      try {
        writeCgroupFile(this.dir, 'cgroup.kill', '1')
      } catch (err) {
        throw cgroupError(err, this.ctx, 'kill cgroup processes', `${this.dir}/cgroup.kill`)
      }
      if (this.isFrozen()) this.setFrozen(false)
      return
    }
    signalAll(this, signal, this.ctx)
  }

  destroy(): void {
    try {
      removeCgroupDir(this.dir, this.ops)
    } catch (err) {
      throw cgroupError(err, this.ctx, 'remove cgroup', this.dir)
    } finally {
      for (const dir of this.made.slice().reverse()) {
        if (dir === this.dir) continue
        try {
          this.ops.rmdir(dir)
        } catch {
          // still holds other cgroups, or already gone
        }
      }
      this.made = []
    }
  }

  madeDirs(): string[] {
    return this.made.filter((d) => d !== this.dir)
  }

  exists(): boolean {
    return fs.existsSync(this.dir)
  }
}
