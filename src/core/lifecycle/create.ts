// create: build a container from a bundle and leave its init waiting on the exec fifo (status "created").
// Every step that changes the system pushes its undo, so a failure at any point leaves nothing behind.
import * as path from 'node:path'
import type {StdioOptions} from 'node:child_process'
import {InvalidInput, wrapSysError} from '../errors'
import type {Runtime} from '../runtime'
import type {ContainerFacts} from '../state/facts'
import type {Spec} from '../spec/types'
import {containerDir, fifoPath, removeContainerDir, reserveId, saveConfig, saveFacts, validateId, writeFileAtomic} from '../state/store'
import {loadBundleSpec} from '../spec/load'
import {validateSpec} from '../spec/validate'
import {openCgroup, ownCgroupDirs, resolveCgroupsPath} from '../cgroups'
import {buildInitPlan} from '../init/build-plan'
import {deviceCgroupRules} from '../mounts/devices'
import {encodePlan} from '../init/codec'
import {FRAME} from '../init/protocol'
import {InitSession} from '../init/session'
import {writeIdMaps} from '../userns'
import {runHooks} from '../hooks'
import {runContainerHooks} from './container-hooks'
import {UndoStack} from '../util/undo'
import {readProcStat} from '../state/status'
import {lockContainer, type Unlock} from '../state/lock'
import {hookState, newFacts} from './container'
import {debug} from '../log'
import {containerSeccomp, type Listener} from '../seccomp/compile'
import {sendListener, silentEndUnderFilter} from '../seccomp/listener'
import {saveFilter} from '../seccomp/saved'

export interface CreateOptions {
  id: string
  bundle: string
  pidFile?: string
  consoleSocket?: string
  noPivot?: boolean
  noNewKeyring?: boolean
  preserveFds?: number
  /** false for a foreground `run`: the helper then waits for the container and mirrors its exit status */
  detach?: boolean
  stdio?: StdioOptions
  verb?: string
  /** a terminal without --console-socket (foreground run): receives the pty master, fetched from the helper */
  onConsole?: (masterFd: number) => void
  /** return with the container's lock still held (run hands it to start) instead of releasing it */
  keepLock?: boolean
}

export interface Created {
  facts: ContainerFacts
  /** the helper session; for a foreground run its `exited` resolves with the container's exit status */
  session: InitSession
  /** with `keepLock`: releases the container's lock (a no-op otherwise) */
  unlock: Unlock
  spec: Spec
}

export async function create(rt: Runtime, opts: CreateOptions): Promise<Created> {
  const verb = opts.verb ?? 'create'
  const {id} = opts
  const ctx = {verb, id}
  validateId(id, verb)
  if (rt.systemdCgroup) {
    // refused here, not at start-up: state, list, kill and delete must keep working for an engine that
    // passes the flag on every call
    throw new InvalidInput('the systemd cgroup driver is not supported yet (no systemd driver): drop --systemd-cgroup to use cgroupfs', ctx)
  }
  const {spec, bundle, rootfs} = loadBundleSpec(opts.bundle, ctx)
  validateSpec(spec, {...ctx, requireProcess: true, rootless: rt.rootless})
  if (spec.process?.terminal && !opts.consoleSocket && opts.detach !== false) {
    throw new InvalidInput('cannot allocate tty if ocirt will detach without setting console socket', ctx)
  }
  if (!spec.process?.terminal && opts.consoleSocket) {
    throw new InvalidInput('cannot use console socket if ocirt will not detach or allocate tty', ctx)
  }

  // before anything changes on the system: a profile libseccomp refuses leaves nothing behind
  const seccomp = containerSeccomp(spec, ctx)

  const undo = new UndoStack()
  try {
    // The helper starts now, so that its exec and sealed re-exec (~5 ms) overlap the state and cgroup setup
    // below; it does nothing but wait for the PLAN frame until then.
    const session = InitSession.start({verb, id, stdio: opts.stdio ?? ['inherit', 'inherit', 'inherit'], preserveFds: opts.preserveFds ?? 0})
    const stopHelper = () => session.kill('SIGKILL')
    undo.push('stop init helper', stopHelper)
    debug(`create ${id}: validated config, helper spawned`)
    reserveId(rt, id, verb)
    undo.push('remove state directory', () => removeContainerDir(rt, id))
    // held until the container is ready: a concurrent start or delete waits instead of acting on half a
    // container; if this process dies, the lock is stale and the facts saved below let delete -f clean up
    const unlock = await lockContainer(rt, id, verb)
    saveConfig(rt, id, spec)
    if (seccomp) saveFilter(containerDir(rt, id), seccomp.bpf)

    const cgroupPath = resolveCgroupsPath(spec.linux?.cgroupsPath, id, {rootless: rt.rootless})
    const cgroup = openCgroup(cgroupPath, {id, rootless: rt.rootless})
    step(ctx, 'create cgroup', () => cgroup.create())
    undo.push('remove cgroup', () => cgroup.destroy())
    const resources = {...spec.linux?.resources, devices: deviceCgroupRules(spec)}
    step(ctx, 'apply cgroup resources', () => cgroup.apply(resources))

    const plan = buildInitPlan({
      id, spec, bundle, rootfs,
      fifoPath: fifoPath(rt, id),
      detach: opts.detach !== false,
      consoleSocket: opts.consoleSocket ? path.resolve(opts.consoleSocket) : undefined,
      noPivot: opts.noPivot === true,
      noNewKeyring: opts.noNewKeyring === true,
      preserveFds: opts.preserveFds ?? 0,
      rootless: rt.rootless,
      cgroupVersion: cgroup.version,
      // rootless, in each hierarchy not delegated the container stays in our cgroup and is shown that one
      cgroupPaths: rt.rootless ? {...ownCgroupDirs(), ...cgroup.paths()} : cgroup.paths(),
      joinCgroups: cgroup.exists() ? cgroup.paths() : {},
      seccomp: seccomp && {flags: seccomp.flags, bpf: seccomp.bpf},
    })

    debug(`create ${id}: cgroup ready, plan built`)
    undo.push('stop init helper', stopHelper) // again: undone before the cgroup it may have joined
    session.send(FRAME.PLAN, encodePlan(plan))
    const pid = (await session.expect(FRAME.PID, 'start container process')).readUInt32LE(0)
    undo.push('kill container process', () => killAndWait(pid))

    if (spec.linux?.namespaces?.some((n) => n.type === 'user' && !n.path)) {
      writeIdMaps(pid, spec.linux.uidMappings ?? [], spec.linux.gidMappings ?? [], {rootless: rootlessIds(rt), ctx})
    }
    const netDevices = spec.linux?.netDevices
    if (netDevices && Object.keys(netDevices).length > 0) {
      // the container's network namespace exists now (new: the clone's; joined: its path); GO has not been sent
      const {moveNetDevices} = require('../net/devices') as typeof import('../net/devices')
      const netns = spec.linux?.namespaces?.find((n) => n.type === 'network')?.path || `/proc/${pid}/ns/net`
      const giveBack = step(ctx, 'move network devices', () => moveNetDevices(netDevices, netns, ctx))
      undo.push('return network devices to the host', giveBack) // before the process (and a new netns) dies
    }
    debug(`create ${id}: container process ${pid} cloned`)
    const facts = newFacts(rt, {id, pid, bundle, rootfs, spec, cgroup, cgroupPath})
    saveFacts(rt, facts) // from here on, `delete --force` can find and remove what an interrupted create left
    const saved = JSON.stringify(facts)
    session.send(FRAME.GO)

    await session.expect(FRAME.HOOKS, 'prepare container')
    debug(`create ${id}: mounts done`)
    const creating = hookState(facts, 'creating')
    await runHooks('prestart', spec.hooks?.prestart, creating, {...ctx, bundle})
    await runHooks('createRuntime', spec.hooks?.createRuntime, creating, {...ctx, bundle})
    await runContainerHooks(spec.hooks?.createContainer, facts, creating, ctx)
    session.send(FRAME.HOOKS_DONE, Buffer.from(hookState(facts, 'created')))
    await awaitReady(session, pid, opts, {filtered: seccomp !== undefined, listener: seccomp?.listener, state: () => hookState(facts, 'creating')})

    debug(`create ${id}: ready`)
    // rewritten only if the hooks changed anything: replacing a file by rename makes ext4 flush the new one
    if (JSON.stringify(facts) !== saved) saveFacts(rt, facts)
    if (opts.pidFile) writePidFile(opts.pidFile, pid, ctx)
    if (opts.detach !== false) session.close()
    undo.clear()
    if (opts.keepLock) return {facts, session, unlock, spec}
    unlock()
    return {facts, session, unlock: () => undefined, spec}
  } catch (err) {
    await undo.run()
    throw wrapSysError(err, {...ctx, step: 'create'})
  }
}

/**
 * Between HOOKS_DONE and READY the helper may hand over fds it opened in the container: the pty master, and the
 * seccomp listener (for the agent at listenerPath, with the state; runc sends status "creating").
 */
async function awaitReady(session: InitSession, pid: number, opts: CreateOptions, notify: {filtered: boolean; listener?: Listener; state(): string}): Promise<void> {
  for (;;) {
    const f = await session.next()
    if (f === null && notify.filtered) throw silentEndUnderFilter({verb: opts.verb ?? 'create', id: opts.id, step: 'prepare container'})
    if (f === null) await session.expect(FRAME.READY, 'prepare container') // turns the early end into an error
    else if (f.type === FRAME.READY) return
    else if (f.type === FRAME.ERROR) throw session.failure(f.payload)
    else if (f.type === FRAME.CONSOLE) {
      const {getFdOf} = require('../sys/proc') as typeof import('../sys/proc')
      const master = getFdOf(pid, f.payload.readUInt32LE(0))
      session.send(FRAME.ACK)
      if (!opts.onConsole) throw new InvalidInput('the container has a terminal but no console socket was given', {verb: opts.verb ?? 'create', id: opts.id})
      opts.onConsole(master)
    } else if (f.type === FRAME.SECCOMP_FD && notify.listener) {
      sendListener(notify.listener, pid, f.payload.readUInt32LE(0), notify.state(), {verb: opts.verb ?? 'create', id: opts.id})
      session.send(FRAME.ACK)
    } else {
      throw new InvalidInput(`unexpected frame ${f.type} from the init helper`, {verb: opts.verb ?? 'create', id: opts.id, step: 'prepare container'})
    }
  }
}

/**
 * Whether we lack the privilege to write any id map (runc's RootlessEUID): a non-root euid. Root of a user namespace
 * (`unshare -r`) is rootless for cgroups and the state root, yet writes maps of its namespace's ids directly.
 */
function rootlessIds(rt: Runtime): boolean {
  return rt.rootless && rt.euid !== 0
}

function step<T>(ctx: {verb: string; id: string}, name: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw wrapSysError(err, {...ctx, step: name})
  }
}

/** SIGKILL, then wait (up to 2 s) until the process is gone or a zombie: a failed create leaves no process. */
async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return // already gone
  }
  for (let i = 0; i < 400; i++) {
    const st = readProcStat(pid)
    if (!st || st.state === 'Z' || st.state === 'X') return
    await new Promise((r) => setTimeout(r, 5))
  }
}

export function writePidFile(file: string, pid: number, ctx: {verb: string; id: string}): void {
  step(ctx, `write pid file ${file}`, () => writeFileAtomic(path.resolve(file), String(pid), 0o644))
}

