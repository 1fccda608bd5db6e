// checkpoint: dump a running container with CRIU into an image directory, with what a restore needs beside
// the images (ocirt-checkpoint.json). Without --leave-running CRIU kills the tasks and the container is left
// stopped, as one whose init exited: its poststop hooks run then (as runc runs them), and state.json (now recording
// the checkpoint, its image path and that the hooks ran) and the empty cgroup stay until `delete`; a restore under the
// same id takes it over (restore-takeover.ts). runc destroys it instead; engines delete it right after, which works
// either way.
// A failed dump leaves it running as it was: CRIU resumes the tasks it froze, and ocirt's state is unchanged.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {InvalidInput, OcirtError, wrapSysError} from '../errors'
import type {Runtime} from '../runtime'
import {loadConfig, saveFacts} from '../state/store'
import {lockContainer} from '../state/lock'
import {hookState, loadContainer} from './container'
import {runHooksWarnOnly} from '../hooks'
import {waitInitGone} from '../state/status'
import {dumpArgs, DUMP_LOG, type DumpOptions, type ManageCgroupsMode, type NetworkLock} from '../criu/args'
import {CONSOLE, EXTERNAL_NS_KEY, checkMountPoints, dumpExtMounts, skeletonCandidates, dumpExternals, MAX_SKELETONS, externalTerminal, externalMounts, externalNsArg, inheritPlan, joinedNamespaces} from '../criu/plan'
import {criuFeatureMissing, networkLockFor, requireUsableCriu, runCriu} from '../criu/client'
import {maskedPaths, readDescriptors, writeCheckpointInfo} from '../criu/images'
import {parseSkeletonKey, skeletonKey, tmpfsSkeletons, type TmpfsSkeleton} from '../criu/tmpfs-skeleton'
import type {CriuService} from '../criu/service'
import {criuLauncher} from '../criu/launcher'
import type {ContainerFacts} from '../state/facts'
import type {Spec} from '../spec/types'
import {debug, warn} from '../log'

/** which tmpfs skeletons a dump may use (CheckpointOptions.tmpfsSkeletons) */
export type SkeletonLevel = boolean | 'writable' | 'read-only'

export interface CheckpointOptions {
  /** default: ./checkpoint, as runc */
  imagePath?: string
  /** default: the image path */
  workPath?: string
  /** images of a previous pre-dump, relative to imagePath */
  parentPath?: string
  leaveRunning?: boolean
  tcpEstablished?: boolean
  extUnixSk?: boolean
  shellJob?: boolean
  lazyPages?: boolean
  /** an fd of the caller where CRIU writes \0 once lazy pages can be fetched */
  statusFd?: number
  /** ADDRESS:PORT */
  pageServer?: string
  /** instead of pageServer: an fd of the caller (a socket) that carries CRIU's page-server protocol (--ps-socket) */
  pageSocket?: number
  fileLocks?: boolean
  preDump?: boolean
  manageCgroupsMode?: string
  /** extra namespaces to leave empty (runc accepts "network" only, which is always left empty anyway) */
  emptyNs?: string[]
  autoDedup?: boolean
  /** more criu dump arguments (migration: the page server's --tls keys) */
  criuExtraArgs?: string[]
  /** kills criu when aborted (the container is left as CRIU leaves it on failure: running, or frozen if it was) */
  signal?: AbortSignal
  /** CRIU's --network-lock method (migration: skip) */
  networkLock?: NetworkLock
  /** a criu swrk started beforehand with statusFd/pageSocket as its fds (service.ts): the dump goes to it if it can */
  service?: CriuService
  /**
   * the container's own network namespace is external (not dumped): its restore joins one it is given (a
   * migration's target makes it, loopback up). A namespace the config joins by path is external anyway.
   */
  externalNetns?: boolean
  /**
   * Which tmpfs mounts may go as skeletons (tmpfs-skeleton.ts) instead of CRIU's tar: all that qualify (true; a
   * writable one only while the container is paused), 'writable' ones but none with device nodes or symlinks (a
   * /dev), 'read-only' ones only, or none (false). A migration asks for what its target rebuilds; the default is
   * all, nodes only where this host's restore could make them (the launcher is built).
   */
  tmpfsSkeletons?: SkeletonLevel
}

/**
 * Why CRIU 4.1 cannot checkpoint a rootless container (what was tried: docs/rootless.md). Outside the container's
 * user namespace, `criu --unprivileged` with CAP_CHECKPOINT_RESTORE must still switch to the namespace's ids to
 * check its other namespaces (setgroups: CAP_SETGID, as good as root); inside it, criu has every capability over
 * the container's namespaces but /proc/<pid>/map_files wants CAP_CHECKPOINT_RESTORE in the initial namespace.
 */
export const ROOTLESS_UNSUPPORTED = 'checkpoint and restore of rootless containers are not supported: CRIU 4.1 needs CAP_CHECKPOINT_RESTORE in the initial user namespace (for /proc/<pid>/map_files) together with CAP_SETUID and CAP_SETGID there (to enter the container\'s user namespace), which only root has; see docs/rootless.md'

export async function checkpoint(rt: Runtime, id: string, opts: CheckpointOptions = {}, verb = 'checkpoint'): Promise<void> {
  const ctx = {verb, id}
  const loaded = loadContainer(rt, id, verb)
  if (rt.rootless || loaded.facts.rootless) throw new InvalidInput(ROOTLESS_UNSUPPORTED, ctx)
  if (loaded.status === 'created' || loaded.status === 'stopped') {
    // runc's text
    throw new OcirtError(`Container cannot be checkpointed in ${loaded.status} state`, ctx)
  }
  if (loaded.status !== 'running' && loaded.status !== 'paused') throw new OcirtError(`cannot checkpoint a container that is ${loaded.status}`, ctx)
  const dump = dumpOptions(opts, ctx)
  const unlock = await lockContainer(rt, id, verb)
  try {
    const {facts, status} = loadContainer(rt, id, verb) // again, under the lock
    const spec = loadConfig(rt, id, verb)
    const criu = requireUsableCriu(rt, ctx)
    dump.networkLock = networkLockFor(criu, dump.networkLock)
    requireFeatures(rt, dump, ctx)
    makeDir(dump.imagePath, ctx, 'create image directory')
    makeDir(dump.workPath, ctx, 'create work directory')
    if (dump.parentPath) checkParent(dump.imagePath, dump.parentPath, ctx)

    const mounts = externalMounts(spec, facts.bundle, facts.cgroup)
    checkMountPoints(mounts, ctx)
    const {extMounts, descriptors, joined, ownNetns} = dumpView(facts, spec, opts, {mounts, frozen: status === 'paused'})
    const externals = dumpExternals(descriptors)
    for (const ns of joined) externals.push(externalNsArg(ns.type, fs.statSync(ns.path).ino, ns.key))
    if (ownNetns) externals.push(externalNsArg('network', fs.statSync(`/proc/${facts.pid}/ns/net`).ino, EXTERNAL_NS_KEY.network))
    if (!dump.preDump) {
      writeCheckpointInfo(dump.imagePath, {
        id, created: new Date().toISOString(), criu: criu.text, bundle: facts.bundle, rootfs: facts.rootfs,
        cgroupPath: facts.cgroup.path, descriptors, extMountKeys: extMounts.map((m) => m.value), spec,
        ...(ownNetns ? {externalNetns: true} : {}),
      })
    }

    const freezer = facts.cgroup.version === 'v1' ? facts.cgroup.paths.freezer : facts.cgroup.paths['']
    const argv = [...dumpArgs(dump, {pid: facts.pid, rootfs: facts.rootfs, freezerCgroup: freezer, extMounts, externals}), ...(opts.criuExtraArgs ?? [])]
    await runCriu(rt, argv, {
      ctx: {...ctx, step: dump.preDump ? 'criu pre-dump' : 'criu dump'},
      logFile: path.join(dump.workPath, DUMP_LOG),
      extraFds: criuFds(opts),
      signal: opts.signal,
      service: opts.service,
    })
    debug(`checkpoint ${id}: images in ${dump.imagePath}`)
    if (dump.leaveRunning || dump.preDump) return
    // CRIU killed the tasks: the container is stopped once its init is gone. Its poststop hooks run now (network
    // teardown belongs to the moment the processes went, as in runc); then its state says so, still under the lock,
    // so that a restore under this id may take the stopped record over and delete does not run the hooks again.
    await waitInitGone(facts)
    await runHooksWarnOnly('poststop', spec.hooks?.poststop, hookState(facts, 'stopped'), {verb, id, bundle: facts.bundle})
    try {
      saveFacts(rt, {...facts, checkpointed: {imagePath: dump.imagePath, time: new Date().toISOString(), poststopRan: true}})
    } catch (err) {
      // the dump itself succeeded; without the mark only a restore under the same id needs a `delete` first
      warn(`checkpoint ${id}: recording the checkpoint in the container's state: ${(err as Error).message}`)
    }
  } finally {
    unlock()
  }
}

/**
 * What the dump says of the container's mounts, fds and namespaces, read from it as it is now. `frozen`: it cannot
 * change before CRIU dumps it (paused), so that a writable tmpfs found empty may go as a skeleton.
 */
function dumpView(facts: ContainerFacts, spec: Spec, opts: Pick<CheckpointOptions, 'tmpfsSkeletons' | 'externalNetns'>, o: {mounts?: {point: string; source: string}[]; frozen: boolean}) {
  const mounts = o.mounts ?? externalMounts(spec, facts.bundle, facts.cgroup)
  const masked = maskedPaths(facts.pid, spec)
  const candidates = skeletonCandidates(spec, facts.cgroup.version, masked.dirs)
  const level = opts.tmpfsSkeletons ?? (criuLauncher() ? true : 'writable')
  const writable = o.frozen && (level === true || level === 'writable')
  // no more than a restore takes (plan.ts restoreExtMounts): the rest goes through tar
  const skeletons = level === false ? [] : distinctKeysUpTo(tmpfsSkeletons(facts.pid, candidates, {writable, nodes: writable && level === true}), MAX_SKELETONS)
  const extMounts = dumpExtMounts(mounts, masked.files, skeletons)
  // a terminal container's /dev/console is its pty slave bound there: external, rebound from the new pty on restore
  if (facts.terminal) extMounts.push({key: CONSOLE, value: CONSOLE})
  // a terminal's master is outside the container: its slave is dumped as external (plan.ts externalTerminal)
  const descriptors = facts.terminal ? externalTerminal(readDescriptors(facts.pid)) : readDescriptors(facts.pid)
  const joined = joinedNamespaces(spec).external
  const ownNetns = opts.externalNetns === true && !joined.some((n) => n.type === 'network') && (spec.linux?.namespaces ?? []).some((n) => n.type === 'network')
  return {extMounts, descriptors, joined, ownNetns}
}

/** The skeletons, as long as their distinct keys number at most `max`. */
function distinctKeysUpTo<T extends {skeleton: TmpfsSkeleton}>(skeletons: T[], max: number): T[] {
  const keys = new Set<string>()
  return skeletons.filter((s) => {
    const key = skeletonKey(s.skeleton)
    if (!keys.has(key) && keys.size >= max) return false
    keys.add(key)
    return true
  })
}

/** What a restore of a checkpoint hands to criu (restore.ts), as a restore started ahead of time must have it. */
export interface RestoreLayout {
  /** the container fds (0-2) whose files criu inherits, in the order criu gets them (its fd 3 up) */
  stdio: number[]
  /** the container's network namespace comes after them (a dump that leaves it out, externalNetns) */
  netns: boolean
  /** the distinct tmpfs skeleton keys, in the order the restore builds them */
  tmpfsKeys: string[]
}

/**
 * The layout a checkpoint of the paused container with these options would give its restore, for a migration to start the
 * target's criu restore before the freeze (criu/held.ts). Undefined where that restore needs more than the layout
 * says (a terminal's pty, namespaces joined by path, an inherited fd above 2). The container may still change
 * before the freeze: the target compares what the images say with what it started, and spawns criu when they differ.
 */
export function restoreLayout(rt: Runtime, id: string, opts: Pick<CheckpointOptions, 'tmpfsSkeletons' | 'externalNetns'>, verb = 'migrate'): RestoreLayout | undefined {
  const {facts} = loadContainer(rt, id, verb)
  if (facts.terminal) return undefined
  // as the dump will see it: frozen
  const view = dumpView(facts, loadConfig(rt, id, verb), opts, {frozen: true})
  if (view.joined.length) return undefined
  const stdio = inheritPlan(view.descriptors, (i) => 3 + i).map((h) => h.ours)
  if (stdio.some((fd) => fd > 2)) return undefined
  // one tmpfs per distinct key, as restoreExtMounts (plan.ts) builds them
  const tmpfsKeys = [...new Set(view.extMounts.map((m) => m.value))].filter((v) => parseSkeletonKey(v) !== undefined)
  return {stdio, netns: view.ownNetns, tmpfsKeys}
}

function dumpOptions(opts: CheckpointOptions, ctx: {verb: string; id: string}): DumpOptions {
  const imagePath = path.resolve(opts.imagePath || 'checkpoint')
  return {
    imagePath,
    workPath: opts.workPath ? path.resolve(opts.workPath) : imagePath,
    parentPath: opts.parentPath || undefined,
    leaveRunning: opts.leaveRunning,
    tcpEstablished: opts.tcpEstablished,
    extUnixSk: opts.extUnixSk,
    shellJob: opts.shellJob,
    fileLocks: opts.fileLocks,
    preDump: opts.preDump,
    autoDedup: opts.autoDedup,
    lazyPages: opts.lazyPages,
    networkLock: opts.networkLock,
    // our fds are passed to criu as its fds 3, 4 (runCriu's extra fds, in criuFds' order)
    statusFd: hasStatusFd(opts) ? 3 : undefined,
    pageSocket: opts.pageSocket !== undefined ? (hasStatusFd(opts) ? 4 : 3) : undefined,
    pageServer: opts.pageServer ? parsePageServer(opts.pageServer, ctx) : undefined,
    manageCgroupsMode: parseManageCgroupsMode(opts.manageCgroupsMode, ctx),
    emptyNs: emptyNamespaces(opts.emptyNs, ctx),
  }
}

function hasStatusFd(opts: CheckpointOptions): boolean {
  return opts.statusFd !== undefined && opts.statusFd >= 0
}

/** Our fds that criu gets as its 3, 4: the status fd, then the page socket (dumpOptions numbers them so). */
function criuFds(opts: CheckpointOptions): number[] {
  return [...(hasStatusFd(opts) ? [opts.statusFd!] : []), ...(opts.pageSocket !== undefined ? [opts.pageSocket] : [])]
}

/** runc's --manage-cgroups-mode values (empty = CRIU's default, soft). */
export function parseManageCgroupsMode(mode: string | undefined, ctx: {verb: string; id: string}): ManageCgroupsMode | undefined {
  if (!mode) return undefined
  if (mode === 'soft' || mode === 'full' || mode === 'strict' || mode === 'ignore') return mode
  throw new InvalidInput(`invalid --manage-cgroups-mode ${JSON.stringify(mode)}: expected soft, full, strict or ignore`, ctx)
}

/** runc always leaves the network namespace empty (networking belongs to the engine); --empty-ns may only repeat it. */
export function emptyNamespaces(extra: string[] | undefined, ctx: {verb: string; id: string}): string[] {
  for (const ns of extra ?? []) {
    if (ns !== 'network') throw new InvalidInput(`namespace ${JSON.stringify(ns)} is not supported by --empty-ns (only "network")`, ctx)
  }
  return ['network']
}

function parsePageServer(value: string, ctx: {verb: string; id: string}): {address: string; port: number} {
  const m = /^(.*):(\d+)$/.exec(value)
  const address = m?.[1].replace(/^\[(.*)\]$/, '$1')
  if (!m || !address) throw new InvalidInput('Use --page-server ADDRESS:PORT to specify page server', ctx)
  return {address, port: Number(m[2])}
}

/** Refuses, before anything runs, what this kernel cannot do: pre-copy needs dirty-page tracking, lazy pages uffd. */
function requireFeatures(rt: Runtime, dump: DumpOptions, ctx: {verb: string; id: string}): void {
  if (dump.preDump || dump.parentPath) {
    const why = criuFeatureMissing(rt, 'mem_dirty_track')
    if (why) {
      const flag = dump.preDump ? '--pre-dump' : '--parent-path'
      throw new OcirtError(`${flag} needs memory dirty tracking, which this kernel lacks (no CONFIG_MEM_SOFT_DIRTY; \`criu check --feature mem_dirty_track\` says: ${why}); take a plain checkpoint instead`, {...ctx, step: 'check criu features'})
    }
  }
  if (dump.lazyPages) {
    const why = criuFeatureMissing(rt, 'uffd-noncoop')
    if (why) throw new OcirtError(`--lazy-pages needs userfaultfd (criu check --feature uffd-noncoop: ${why})`, {...ctx, step: 'check criu features'})
  }
}

function makeDir(dir: string, ctx: {verb: string; id: string}, step: string): void {
  try {
    // images hold the container's memory: only root may read them
    fs.mkdirSync(dir, {recursive: true, mode: 0o700})
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), {code: 'ENOTDIR'})
  } catch (err) {
    throw wrapSysError(err, {...ctx, step: `${step} ${dir}`})
  }
}

function checkParent(imagePath: string, parent: string, ctx: {verb: string; id: string}): void {
  if (path.isAbsolute(parent)) throw new InvalidInput('--parent-path must be relative', ctx)
  const real = path.join(imagePath, parent)
  if (!fs.existsSync(real) || !fs.statSync(real).isDirectory()) throw new InvalidInput(`invalid --parent-path: ${real} is not a directory`, ctx)
}
