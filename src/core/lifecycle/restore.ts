// restore: bring a checkpointed container back as container <id> from the bundle given (any id, any bundle:
// the target of a migration has neither the checkpoint's id nor its paths). The cgroup is new and made here;
// CRIU recreates the namespaces and the process tree inside it. Afterwards the container is an ordinary one
// (state.json facts, so state, kill, pause, delete and checkpoint work). Every step that changes the system
// pushes its undo, so a failed restore leaves no state directory, cgroup, mount or process behind. Under the id
// of a container its checkpoint left stopped, the restore takes the id over once its input is checked
// (restore-takeover.ts); if it fails after that, the id is free and the images are as they were.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {InvalidInput, OcirtError, wrapSysError} from '../errors'
import type {Runtime} from '../runtime'
import type {ContainerFacts} from '../state/facts'
import {containerDir, removeContainerDir, reserveId, saveConfig, saveFacts, validateId} from '../state/store'
import {loadBundleSpec, type LoadedBundle} from '../spec/load'
import {validateSpec} from '../spec/validate'
import {openCgroup, resolveCgroupsPath, type CgroupManager} from '../cgroups'
import {parseCgroupMounts} from '../cgroups/paths'
import {SIGKILL} from '../cgroups/manager'
import {deviceCgroupRules} from '../mounts/devices'
import {UndoStack} from '../util/undo'
import {restoreArgs, RESTORE_LOG, type NetworkLock, type RestoreOptions as CriuRestoreOptions} from '../criu/args'
import {CONSOLE, EXTERNAL_NS_KEY, cgroupRoots, externalMounts, inheritPlan, joinedNamespaces, restoreExtMounts, terminalKey, type Descriptor, type Inherited} from '../criu/plan'
import {openPty} from '../sys/tty'
import {listenForActions} from '../criu/action-script'
import {runHooks, runHooksWarnOnly} from '../hooks'
import {runContainerHooks} from './container-hooks'
import type {Spec} from '../spec/types'
import {sendFdToSocket} from '../sys/send-fd'
import {attachTerminal} from '../console'
import {criuFeatureMissing, networkLockFor, requireUsableCriu, runCriu, type TmpfsBuild} from '../criu/client'
import {parseSkeletonKey, skeletonKey} from '../criu/tmpfs-skeleton'
import type {HeldCriu} from '../criu/held'
import {whyNoTmpfsRebuild} from '../criu/launcher'
import {readCheckpointInfo} from '../criu/images'
import {criuRootBind, prepareMountpoints} from '../criu/rootfs'
import {emptyNamespaces, parseManageCgroupsMode, ROOTLESS_UNSUPPORTED} from './checkpoint'
import {hookState, newFacts, type NewContainer} from './container'
import {writePidFile} from './create'
import {deleteContainer} from './delete'
import {takeOverCheckpointed} from './restore-takeover'
import {debug, warn} from '../log'

export interface RestoreOptions {
  id: string
  bundle: string
  /** default: ./checkpoint, as runc */
  imagePath?: string
  /** default: the image path */
  workPath?: string
  tcpEstablished?: boolean
  extUnixSk?: boolean
  shellJob?: boolean
  fileLocks?: boolean
  manageCgroupsMode?: string
  emptyNs?: string[]
  autoDedup?: boolean
  lazyPages?: boolean
  lsmProfile?: string
  lsmMountContext?: string
  /** return once the container runs; otherwise wait for it, relay signals, delete it and return its status */
  detach?: boolean
  pidFile?: string
  consoleSocket?: string
  /** accepted for runc compatibility: ocirt never makes itself a subreaper for a restored container */
  noSubreaper?: boolean
  /** accepted for runc compatibility: CRIU restores the mount namespace itself, pivot_root is not used */
  noPivot?: boolean
  /** fds of ours to hand over where the checkpointed container's stdio came from outside (default: our 0, 1, 2);
   * the migration agent's own stdio is its SSH channel, so it gives /dev/null or the bundle's log files instead */
  inheritStdio?: [number, number, number]
  /** CRIU's --network-lock method (migration: skip, the network namespace is new and empty) */
  networkLock?: NetworkLock
  /** a network namespace (an fd of ours) for a checkpoint whose own one was external (checkpoint externalNetns) */
  netnsFd?: number
  /** awaited right before criu runs, after the cgroup, mounts and fds are ready (migration: the lazy-pages daemon) */
  beforeCriu?: () => Promise<void> | undefined
  /** a criu restore started ahead of time for this restore (criu/held.ts, a migration's target): its root bind and
   * tmpfs directories are used where they match, and runCriu lets it go when everything does */
  heldCriu?: HeldCriu
}

const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT']

/**
 * What restore checks of its input before it looks at the images: the id, the runtime and the bundle's config.
 * A migration's target runs it before the freeze, so that a bundle it cannot restore stops the migration while the
 * container still runs (and the checks' code is compiled by then).
 */
export function checkRestoreInput(rt: Runtime, id: string, bundleArg: string, verb = 'restore'): LoadedBundle {
  const ctx = {verb, id}
  validateId(id, verb)
  if (rt.rootless) throw new InvalidInput(ROOTLESS_UNSUPPORTED, ctx)
  if (rt.systemdCgroup) throw new InvalidInput('the systemd cgroup driver is not supported yet (no systemd driver): drop --systemd-cgroup to use cgroupfs', ctx)
  const loaded = loadBundleSpec(bundleArg, ctx)
  validateSpec(loaded.spec, {...ctx, requireProcess: true, rootless: rt.rootless})
  return loaded
}

export async function restore(rt: Runtime, opts: RestoreOptions, verb = 'restore'): Promise<number> {
  const {id} = opts
  const ctx = {verb, id}
  const {spec, bundle, rootfs} = checkRestoreInput(rt, id, opts.bundle, verb)
  const imagePath = path.resolve(opts.imagePath || 'checkpoint')
  const workPath = opts.workPath ? path.resolve(opts.workPath) : imagePath
  const info = readCheckpointInfo(imagePath, ctx)
  const ttyKey = terminalKey(info.descriptors)
  checkTerminal(ttyKey, spec.process?.terminal === true, opts, ctx)
  const criuOpts: Omit<CriuRestoreOptions, 'pidFile'> = {
    imagePath, workPath,
    tcpEstablished: opts.tcpEstablished, extUnixSk: opts.extUnixSk, shellJob: opts.shellJob, fileLocks: opts.fileLocks,
    autoDedup: opts.autoDedup, lazyPages: opts.lazyPages, networkLock: opts.networkLock, lsmProfile: opts.lsmProfile, lsmMountContext: opts.lsmMountContext,
    manageCgroupsMode: parseManageCgroupsMode(opts.manageCgroupsMode, ctx),
    emptyNs: emptyNamespaces(opts.emptyNs, ctx),
  }
  criuOpts.networkLock = networkLockFor(requireUsableCriu(rt, ctx), criuOpts.networkLock)
  if (opts.lazyPages) {
    const why = criuFeatureMissing(rt, 'uffd-noncoop')
    if (why) throw new OcirtError(`--lazy-pages needs userfaultfd (criu check --feature uffd-noncoop: ${why})`, {...ctx, step: 'check criu features'})
  }
  // CRIU numbers the fds it inherits from its own fd 3 up: our stdio (and other external files), then namespaces
  const stdio = inheritPlan(info.descriptors, (i) => 3 + i)
  // the terminal: a new pty whose slave CRIU takes for the dumped one, whose master goes to the console socket
  const pty = ttyKey ? step(ctx, 'open a pty', () => openPty()) : undefined
  let slaveOpen = pty !== undefined
  const ours = (h: Inherited) => (pty && h.key === ttyKey ? pty.slave : h.ours <= 2 && opts.inheritStdio ? opts.inheritStdio[h.ours] : h.ours)
  const undo = new UndoStack()
  const nsFds: number[] = []
  let tookOver = false
  try {
    for (const h of stdio) requireInheritable({...h, ours: ours(h)}, info.descriptors.find((d) => d.fd === h.ours)!, ctx)
    const cgroupPath = resolveCgroupsPath(spec.linux?.cgroupsPath, id, {rootless: rt.rootless})
    const cgroup = openCgroup(cgroupPath, {id, rootless: rt.rootless, verb})
    const view = {version: cgroup.version, paths: cgroup.paths()}
    const mounts = externalMounts(spec, bundle, view)
    // the new pty's slave stands in for the old one at /dev/console (checkpoints made before it was external lack the key)
    if (pty) mounts.push({point: CONSOLE, source: pty.slavePath})
    // tmpfs mounts dumped as skeletons are built in criu's mount namespace, each on an empty directory of the state dir
    const tmpfs: TmpfsBuild[] = []
    // a held criu's directories, while it still waits to be let go
    const held = opts.heldCriu?.held ? opts.heldCriu.setup : undefined
    const extMounts = restoreExtMounts(info.extMountKeys, mounts, {...ctx, step: 'map external mounts'}, (key) => {
      const skeleton = parseSkeletonKey(key)!
      const same = held?.tmpfs[tmpfs.length]
      const dir = same && skeletonKey(same.skeleton) === key ? same.dir : path.join(containerDir(rt, id), `criu-tmpfs-${tmpfs.length}`)
      tmpfs.push({dir, skeleton})
      return dir
    })

    // a /dev described with its device nodes needs the launcher to make them: said before anything changes
    const noRebuild = whyNoTmpfsRebuild(tmpfs)
    if (noRebuild) throw new InvalidInput(noRebuild, {...ctx, step: 'rebuild tmpfs'})
    // the input is checked: a container that its checkpoint left stopped under this id gives the id up now
    tookOver = await takeOverCheckpointed(rt, id, verb)
    step(ctx, `create work directory ${workPath}`, () => fs.mkdirSync(workPath, {recursive: true, mode: 0o700}))
    reserveId(rt, id, verb)
    // the held criu's root bind, if it binds this rootfs as this restore would
    const heldRoot = held && held.root.rootfs === rootfs && held.root.readonly === (spec.root?.readonly === true) ? held.root : undefined
    const root = heldRoot?.target ?? path.join(containerDir(rt, id), 'criu-root')
    // the rootfs is bound at `root` only inside criu's mount namespace, so the state dir holds no mount
    undo.push('remove state directory', () => removeContainerDir(rt, id))
    saveConfig(rt, id, spec)

    step(ctx, 'create cgroup', () => cgroup.create())
    undo.push('remove cgroup', () => destroyCgroup(cgroup))
    step(ctx, 'apply cgroup resources', () => cgroup.apply({...spec.linux?.resources, devices: deviceCgroupRules(spec)}))
    prepareMountpoints(spec, bundle, rootfs)
    const joined = joinedNamespaces(spec)
    const inherit = stdio.map((h) => ({fd: h.fd, key: h.key}))
    for (const ns of joined.external) {
      nsFds.push(step(ctx, `open namespace ${ns.path}`, () => fs.openSync(ns.path, 'r')))
      inherit.push({fd: 3 + stdio.length + nsFds.length - 1, key: ns.key})
    }
    if (info.externalNetns && !joined.external.some((n) => n.type === 'network')) {
      if (opts.netnsFd === undefined) throw new InvalidInput('the checkpoint left its network namespace out (a migration\'s): this restore needs one to join', {...ctx, step: 'network namespace'})
      // a copy: nsFds are closed after the restore, the caller's fd stays the caller's
      nsFds.push(step(ctx, 'open the network namespace given', () => fs.openSync(`/proc/self/fd/${opts.netnsFd}`, 'r')))
      inherit.push({fd: 3 + stdio.length + nsFds.length - 1, key: EXTERNAL_NS_KEY.network})
    }

    const bindRoot = heldRoot ?? step(ctx, `create ${root}`, () => criuRootBind(rootfs, root, spec.root?.readonly === true))
    for (const t of tmpfs) if (!held?.tmpfs.some((h) => h.dir === t.dir)) step(ctx, `create ${t.dir}`, () => fs.mkdirSync(t.dir, {mode: 0o700}))
    // hooks that runc runs at CRIU's setup-namespaces notification: the tree exists, nothing runs yet
    const hookCtx = {...ctx, bundle}
    const actions = needsActionScript(spec) ? listenForActions(containerDir(rt, id), async (initPid) => {
      const facts = restoredFacts(rt, {id, pid: initPid, bundle, rootfs, spec, cgroup, cgroupPath}, pty !== undefined)
      const creating = hookState(facts, 'creating')
      debug(`restore ${id}: setup-namespaces, pid ${initPid}: running hooks`)
      await runHooks('prestart', spec.hooks?.prestart, creating, hookCtx)
      await runHooks('createRuntime', spec.hooks?.createRuntime, creating, hookCtx)
      await runContainerHooks(spec.hooks?.createContainer, facts, creating, ctx)
    }) : undefined
    if (actions) undo.push('remove action script', () => actions.close())
    const pidFile = path.join(containerDir(rt, id), 'criu.pid')
    const argv = restoreArgs({...criuOpts, pidFile}, {
      root,
      cgroupRoots: cgroupRoots(view, parseCgroupMounts(fs.readFileSync('/proc/self/mountinfo', 'utf8'))),
      extMounts,
      inheritFds: inherit,
      joinNs: joined.join,
      actionScript: actions?.script,
    })
    const procs = [...new Set(Object.values(view.paths))].map((d) => path.join(d, 'cgroup.procs'))
    await opts.beforeCriu?.()
    debug(`restore ${id}: cgroup, mounts and fds ready; running criu`)
    await runCriu(rt, argv, {
      ctx: {...ctx, step: 'criu restore'},
      logFile: path.join(workPath, RESTORE_LOG),
      extraFds: [...stdio.map((h) => ours(h)), ...nsFds],
      joinCgroupProcs: procs,
      bindRoot,
      tmpfs,
      held: opts.heldCriu,
    }).catch((err) => {
      // a failing hook made the script fail, and CRIU with it: the hook's error says why
      throw actions?.failure() ?? err
    })
    actions?.close()
    const pid = readPid(pidFile, ctx)
    undo.push('kill restored process', () => killQuietly(pid))
    fs.rmdirSync(root)
    for (const t of tmpfs) fs.rmdirSync(t.dir)
    fs.rmSync(pidFile, {force: true})

    if (pty) {
      fs.closeSync(pty.slave) // the restored init holds it now
      slaveOpen = false
    }
    if (pty && opts.consoleSocket) {
      const sock = path.resolve(opts.consoleSocket)
      step(ctx, `send the pty master to ${sock}`, () => sendFdToSocket(sock, pty.master, Buffer.from(pty.slavePath)))
    }

    const facts = restoredFacts(rt, {id, pid, bundle, rootfs, spec, cgroup, cgroupPath}, pty !== undefined)
    saveFacts(rt, facts)
    if (opts.pidFile) writePidFile(opts.pidFile, pid, ctx)
    undo.clear()
    debug(`restore ${id}: pid ${pid} from ${imagePath}`)
    // the spec: a failing poststart hook is logged, the others still run and the container keeps running
    await runHooksWarnOnly('poststart', spec.hooks?.poststart, hookState(facts, 'running'), hookCtx)
    if (opts.detach) return 0
    return await foreground(rt, id, pid, verb, pty && !opts.consoleSocket ? pty.master : undefined)
  } catch (err) {
    const problems = await undo.run()
    for (const p of problems) warn(`${verb} ${id}: cleanup: ${p}`)
    if (tookOver) warn(`${verb} ${id}: the container stopped by the checkpoint was removed before this restore failed; the images in ${imagePath} are intact, restore from them again`)
    throw wrapSysError(err, {...ctx, step: 'restore'})
  } finally {
    for (const fd of nsFds) fs.closeSync(fd)
    // never twice: by now the number may belong to another open file (a double close crashed node's readFileSync)
    if (pty && slaveOpen) closeQuietly(pty.slave)
    // a foreground restore without a console socket relays the master (foreground() closes it)
    if (pty && (opts.detach || opts.consoleSocket)) closeQuietly(pty.master)
  }
}

/**
 * A checkpoint of a terminal container restores with a new pty: its master goes to --console-socket (runc's
 * protocol, as create) or, in the foreground without one, is relayed to ocirt's stdio. The config decides as for
 * create: process.terminal must match the checkpoint, and a console socket needs a terminal.
 */
function checkTerminal(ttyKey: string | undefined, terminal: boolean, opts: RestoreOptions, ctx: {verb: string; id: string}): void {
  if (ttyKey && !terminal) throw new InvalidInput('the checkpointed container had a terminal: its config.json needs process.terminal: true', ctx)
  if (!ttyKey && terminal) throw new InvalidInput('the checkpointed container had no terminal: its config.json must not set process.terminal', ctx)
  if (!terminal && opts.consoleSocket) throw new InvalidInput('--console-socket given but the container has no terminal (process.terminal is not set)', ctx)
  if (terminal && opts.detach && !opts.consoleSocket) throw new InvalidInput('the container has a terminal: a detached restore needs --console-socket', ctx)
}

function needsActionScript(spec: Spec): boolean {
  const h = spec.hooks
  return Boolean(h?.prestart?.length || h?.createRuntime?.length || h?.createContainer?.length)
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd)
  } catch {
    // closed already
  }
}

/** The restored init is our child (--restore-sibling): wait for it, relay signals, then delete the container. */
async function foreground(rt: Runtime, id: string, pid: number, verb: string, master?: number): Promise<number> {
  const {waitForChild} = require('../criu/wait') as typeof import('../criu/wait')
  const forward = (sig: NodeJS.Signals) => killQuietly(pid, sig)
  for (const s of FORWARDED) process.on(s, forward)
  const term = master === undefined ? undefined : attachTerminal(master)
  try {
    const code = (await waitForChild(pid)).code
    // what the container wrote last may still sit in the pty
    if (term) await Promise.race([term.closed, new Promise((r) => setTimeout(r, 200))])
    return code
  } finally {
    term?.detach() // closes the master: its read stream owns it (a second close hit another file and crashed node)
    for (const s of FORWARDED) process.off(s, forward)
    await deleteContainer(rt, id, {force: true}, verb).catch((err) => warn((err as Error).message))
  }
}

function restoredFacts(rt: Runtime, c: NewContainer, terminal: boolean): ContainerFacts {
  const facts = newFacts(rt, c)
  // CRIU restores the tree into a time namespace of its own (the clocks continue from the checkpoint)
  if (!facts.namespaces.time && nsLink(c.pid, 'time') !== undefined && nsLink(c.pid, 'time') !== nsLink('self', 'time')) {
    facts.namespaces.time = `/proc/${c.pid}/ns/time`
  }
  return {...facts, terminal, restored: true}
}

function nsLink(pid: number | 'self', file: string): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${file}`)
  } catch {
    return undefined
  }
}

function readPid(file: string, ctx: {verb: string; id: string}): number {
  let text = ''
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw wrapSysError(err, {...ctx, step: 'read restored pid'})
  }
  const pid = Number(text.trim())
  if (!Number.isInteger(pid) || pid <= 0) throw new OcirtError(`criu wrote no pid to ${file} (${JSON.stringify(text)})`, {...ctx, step: 'read restored pid'})
  return pid
}

/**
 * The fds of ours that CRIU is to hand over must be open. One that CRIU reopens (plan.ts inheritPlan) must also be
 * something open(2) accepts through /proc/self/fd: a socket (Node and some engines pass socketpairs as stdio)
 * fails deep inside CRIU with ENXIO, so say so before anything is made.
 */
function requireInheritable(h: Inherited, d: Descriptor, ctx: {verb: string; id: string}): void {
  let st: fs.Stats
  try {
    st = fs.fstatSync(h.ours)
  } catch {
    throw new InvalidInput(`the checkpointed container had fd ${h.ours} (${d.link}) opened outside the container; restore gives it ocirt's fd ${h.ours}, which is not open`, {...ctx, step: 'inherit fds'})
  }
  if (h.reopen && st.isSocket()) {
    throw new InvalidInput(`ocirt's fd ${h.ours} is a socket, which criu cannot reopen as the restored container's fd ${h.ours} (${d.link} at checkpoint): give restore a file, a pipe or /dev/null there`, {...ctx, step: 'inherit fds'})
  }
}

/** Kills what CRIU may have left in the cgroup (nothing, normally: it kills the tree it fails to restore). */
async function destroyCgroup(cgroup: CgroupManager): Promise<void> {
  if (cgroup.exists() && cgroup.pids(true).length) {
    cgroup.killAll(SIGKILL)
    for (let i = 0; i < 200 && cgroup.pids(true).length; i++) await new Promise((r) => setTimeout(r, 10))
  }
  cgroup.destroy()
}

function step<T>(ctx: {verb: string; id: string}, name: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw wrapSysError(err, {...ctx, step: name})
  }
}

function killQuietly(pid: number, sig: NodeJS.Signals | number = SIGKILL): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}
