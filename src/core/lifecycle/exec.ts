// exec: run a new process inside a created or running container. The helper joins every namespace of the
// container and its cgroup (or a sub-cgroup), applies the container's rlimits and the process's identity,
// capabilities and no_new_privs, then execs. In the foreground ocirt relays signals (and a terminal) and returns
// the process's exit status; detached, it returns once the process runs. A failure of the runtime itself exits
// 255, as runc's exec does (engines tell it apart from the process's own exit codes).
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as util from 'node:util'
import {InvalidInput, OcirtError, wrapSysError} from '../errors'
import type {Runtime} from '../runtime'
import {containerDir, loadConfig, writeFileAtomic} from '../state/store'
import {buildExecPlan} from '../init/build-exec-plan'
import {encodePlan} from '../init/codec'
import {decodeError, FRAME, type Frame} from '../init/protocol'
import {errnoName, InitSession} from '../init/session'
import {attachTerminal, type AttachedTerminal} from '../console'
import {debug} from '../log'
import {hookState, loadContainer} from './container'
import {joiningSeccomp} from '../seccomp/saved'
import {sendListener, silentEndUnderFilter} from '../seccomp/listener'
import {processFromFile, processFromFlags, subCgroupPaths, type ProcessFlags} from './exec-process'

export interface ExecOptions extends ProcessFlags {
  id: string
  /** --process: a process.json; the flags that shape the process are then ignored, as runc ignores them */
  processFile?: string
  /** --cgroup: [ctrl[,ctrl]:]path, a sub-cgroup of the container's to run in */
  cgroups?: string[]
  ignorePaused?: boolean
  detach?: boolean
  consoleSocket?: string
  pidFile?: string
  /** the caller's fds 3..3+n-1 are passed to the process */
  preserveFds?: number
}

/** runc's exit status when exec itself fails (fatalWithCode(..., 255)). */
export const EXEC_FAILED = 255

// runc forwards every signal but SIGCHLD, SIGURG and SIGWINCH (a terminal resize is relayed as a resize)
const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU']

type Ctx = {verb: string; id: string}

export async function exec(rt: Runtime, opts: ExecOptions): Promise<number> {
  const ctx = {verb: 'exec', id: opts.id}
  try {
    return await execIn(rt, opts, ctx)
  } catch (err) {
    const e = wrapSysError(err, ctx)
    e.exitCode = EXEC_FAILED
    throw e
  }
}

async function execIn(rt: Runtime, opts: ExecOptions, ctx: Ctx): Promise<number> {
  const {facts, status} = loadContainer(rt, opts.id, ctx.verb)
  if (status === 'stopped') throw new OcirtError('cannot exec in a stopped container', ctx)
  if (status === 'paused' && !opts.ignorePaused) throw new OcirtError('cannot exec in a paused container (use --ignore-paused to override)', ctx)

  const preserveFds = checkPreservedFds(opts.preserveFds ?? 0, ctx)
  // The helper starts now, so that its exec and sealed re-exec (~5 ms) overlap reading the config and building
  // the plan; it only waits for the PLAN frame until then.
  const session = InitSession.start({verb: ctx.verb, id: opts.id, stdio: ['inherit', 'inherit', 'inherit'], preserveFds})
  let prepared: ReturnType<typeof prepareExec>
  try {
    prepared = prepareExec(rt, opts, ctx, facts, preserveFds)
  } catch (err) {
    session.kill('SIGKILL')
    throw err
  }
  const {plan, detach, seccomp} = prepared
  debug(`exec ${opts.id}: plan built`)
  let pid = 0
  let terminal: AttachedTerminal | undefined
  const forward = (sig: NodeJS.Signals) => {
    try {
      if (pid) process.kill(pid, sig)
    } catch {
      // the process is gone; its exit status is on the way
    }
  }
  if (!detach) for (const s of FORWARDED) process.on(s, forward)
  try {
    try {
      await startProcess(session, encodePlan(plan), ctx, {
        onPid: (p) => (pid = p),
        onConsole: (master) => (terminal = attachTerminal(master)),
        filtered: seccomp !== undefined,
        onListener: (fd) => sendListener(seccomp!.listener!, pid, fd, hookState(facts, status), ctx),
      })
      debug(`exec ${opts.id}: process ${pid} runs`)
      if (opts.pidFile) writePidFile(opts.pidFile, pid, ctx)
    } catch (err) {
      // the process must not outlive a failed exec (stage1 is our child when detached, stage0's otherwise)
      if (pid && (detach || !session.hasExited)) killQuietly(pid)
      session.kill('SIGKILL')
      throw err
    }
    if (detach) {
      session.close()
      return 0
    }
    const exit = await session.exited
    debug(`exec ${opts.id}: process exited (${exit.code ?? exit.signal})`)
    // let the last output of the process drain from the pty before restoring the terminal
    if (terminal) await Promise.race([terminal.closed, new Promise((r) => setTimeout(r, 200))])
    return exit.code ?? 128 + (exit.signal ? os.constants.signals[exit.signal] : 0)
  } finally {
    terminal?.detach()
    for (const s of FORWARDED) process.off(s, forward)
  }
}

/** The config, the process to run and the helper's plan: everything exec decides before the helper acts. */
function prepareExec(rt: Runtime, opts: ExecOptions, ctx: Ctx, facts: ReturnType<typeof loadContainer>['facts'], preserveFds: number) {
  const spec = loadConfig(rt, opts.id, ctx.verb)
  const proc = opts.processFile ? processFromFile(path.resolve(opts.processFile), spec, ctx) : processFromFlags(spec, opts, ctx)
  const detach = opts.detach === true
  checkTerminal(proc.terminal === true, detach, opts.consoleSocket, ctx)
  const plan = buildExecPlan({
    id: opts.id, verb: ctx.verb, namespaces: facts.namespaces, process: proc, rootfs: facts.rootfs, detach,
    consoleSocket: opts.consoleSocket ? path.resolve(opts.consoleSocket) : undefined,
    preserveFds, rootless: facts.rootless,
    cgroupPaths: subCgroupPaths(facts.cgroup.paths, opts.cgroups ?? [], ctx),
  })
  // the container's filter, as runc loads it into every exec'd process (an OCI process has no filter of its own)
  const seccomp = joiningSeccomp(containerDir(rt, opts.id), spec.linux?.seccomp, ctx)
  if (seccomp) plan.seccomp = {flags: seccomp.flags, bpf: seccomp.bpf}
  return {plan, detach, seccomp}
}

/**
 * PLAN → PID → GO, then the pty master (CONSOLE, a terminal without a console socket), the seccomp listener
 * (SECCOMP_FD, for the agent at listenerPath) and READY; the process
 * runs once the helper's end of the sync socket closes (close-on-exec), while an ERROR frame means the helper
 * failed, execve included. The process's host pid is reported as soon as the helper sends it.
 */
async function startProcess(session: InitSession, plan: Buffer, ctx: Ctx, on: {filtered: boolean; onPid(pid: number): void; onConsole(master: number): void; onListener(fd: number): void}): Promise<void> {
  session.send(FRAME.PLAN, plan)
  const first = await nextFrame(session, ctx)
  if (first === null) await session.expect(FRAME.PID, 'start container process') // turns the early end into an error
  if (first?.type !== FRAME.PID) throw unexpected(first!, ctx)
  const pid = first.payload.readUInt32LE(0)
  on.onPid(pid)
  debug(`exec ${ctx.id}: helper cloned the process`)
  session.send(FRAME.GO)
  let ready = false
  for (;;) {
    const f = await nextFrame(session, ctx)
    if (f === null) {
      if (!ready && on.filtered) throw silentEndUnderFilter({...ctx, step: 'start container process'})
      if (!ready) await session.expect(FRAME.READY, 'start container process')
      return
    }
    if (f.type === FRAME.READY && !ready) ready = true
    else if (f.type === FRAME.CONSOLE && !ready) {
      const {getFdOf} = require('../sys/proc') as typeof import('../sys/proc')
      const master = getFdOf(pid, f.payload.readUInt32LE(0))
      session.send(FRAME.ACK)
      on.onConsole(master)
    } else if (f.type === FRAME.SECCOMP_FD && !ready) {
      on.onListener(f.payload.readUInt32LE(0))
      session.send(FRAME.ACK)
    } else {
      throw unexpected(f, ctx)
    }
  }
}

/** The next frame; an ERROR frame becomes the error runc would print ("unable to start container process: ..."). */
async function nextFrame(session: InitSession, ctx: Ctx): Promise<Frame | null> {
  const f = await session.next()
  if (f?.type !== FRAME.ERROR) return f
  const e = decodeError(f.payload)
  const what = e.message.startsWith(`${e.step}:`) || e.message.startsWith(`${e.step} `) ? e.message : `${e.step}: ${e.message}`
  // keep the errno's words: engines map "no such file or directory" and "not found" to 127, "permission denied" to 126
  const why = e.errno && !/ not found/.test(e.message) ? `: ${errnoText(e.errno)}` : ''
  throw new OcirtError(`${what}${why}`, {...ctx, step: 'unable to start container process'})
}

function unexpected(f: Frame, ctx: Ctx): OcirtError {
  return new OcirtError(`unexpected frame ${f.type} from the init helper`, {...ctx, step: 'start container process'})
}

function errnoText(errno: number): string {
  return util.getSystemErrorMap().get(-errno)?.[1] ?? errnoName(errno) ?? `errno ${errno}`
}

/** runc's rules: a detached terminal needs a console socket, and a console socket needs a detached terminal. */
function checkTerminal(terminal: boolean, detach: boolean, consoleSocket: string | undefined, ctx: Ctx): void {
  if (detach && terminal && !consoleSocket) throw new InvalidInput('cannot allocate tty if ocirt will detach without setting console socket', ctx)
  if ((!detach || !terminal) && consoleSocket) throw new InvalidInput('cannot use console socket if ocirt will not detach or allocate tty', ctx)
}

function checkPreservedFds(n: number, ctx: Ctx): number {
  const count = Math.max(0, n)
  for (let i = 0; i < count; i++) {
    try {
      fs.fstatSync(3 + i)
    } catch (err) {
      throw new InvalidInput(`unable to stat preserved-fd ${i} (of ${count}): ${(err as NodeJS.ErrnoException).code}`, ctx)
    }
  }
  return count
}

function writePidFile(file: string, pid: number, ctx: Ctx): void {
  try {
    writeFileAtomic(path.resolve(file), String(pid), 0o644)
  } catch (err) {
    throw wrapSysError(err, {...ctx, step: `write pid file ${file}`})
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
