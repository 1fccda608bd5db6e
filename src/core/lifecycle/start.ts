// start: release a created container's init from the exec fifo, then run the poststart hooks.
import * as fs from 'node:fs'
import {OcirtError} from '../errors'
import type {Runtime} from '../runtime'
import {fifoPath, loadConfig} from '../state/store'
import {initAlive} from '../state/status'
import {runHooksWarnOnly} from '../hooks'
import {hookState, lockForOperation} from './container'
import {uvBindings, UvPipe} from '../sys/uv'
import type {ContainerFacts} from '../state/facts'
import type {Spec} from '../spec/types'

export async function start(rt: Runtime, id: string, verb = 'start'): Promise<void> {
  const {unlock, ...loaded} = await lockForOperation(rt, id, 'start', verb)
  try {
    await startLocked(rt, loaded.facts, loadConfig(rt, id, verb), verb)
  } finally {
    unlock()
  }
}

/** start's work for a caller that holds the container's lock since it created it (run): no reload, no relock. */
export async function startLocked(rt: Runtime, facts: ContainerFacts, spec: Spec, verb: string): Promise<void> {
  const id = facts.id
  await releaseFifo(fifoPath(rt, id), facts, {verb, id}, (spec.hooks?.startContainer?.length ?? 0) > 0)
  const state = hookState(facts, 'running')
  // the spec: a failing poststart hook is logged, the others still run and the container keeps running
  await runHooksWarnOnly('poststart', spec.hooks?.poststart, state, {verb, id, bundle: facts.bundle})
}

/**
 * Opening the fifo for reading lets the init's blocking O_WRONLY open return; it then writes one byte and
 * goes on to execve. A non-blocking open never hangs, and a timer lets us notice an init that died meanwhile.
 */
async function releaseFifo(fifo: string, facts: {pid: number; pidStartTime: string}, ctx: {verb: string; id: string}, startHooks: boolean): Promise<void> {
  let fd: number
  try {
    fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch (err) {
    throw new OcirtError('cannot start an already running container', {...ctx, step: 'open exec fifo', errno: (err as NodeJS.ErrnoException).code})
  }
  const uv = uvBindings()
  const pipe = uv ? new UvPipe(uv) : undefined
  if (pipe && pipe.open(fd) === 0) {
    await readFifoEvents(pipe, fd, facts, ctx, startHooks)
  } else {
    pipe?.close()
    await readFifoPolling(fd, facts, ctx, startHooks)
  }
  // unlink, not rmSync: Node 20's rmSync loads its rimraf module even for one file
  try {
    fs.unlinkSync(fifo)
  } catch {
    // already gone
  }
}

const notStarted = (ctx: {verb: string; id: string}) =>
  new OcirtError('the container process exited before it was started', {...ctx, step: 'read exec fifo'})
/** The init died after releasing the fifo and before its execve: a failing startContainer hook ends it so; else it was killed. */
const diedBeforeExec = (ctx: {verb: string; id: string}, startHooks: boolean) => startHooks
  ? new OcirtError('a startContainer hook failed: the container was stopped (its stderr has the hook\'s error)', {...ctx, step: 'startContainer hooks'})
  : new OcirtError('the container process died before its execve (killed after start released it)', {...ctx, step: 'read exec fifo'})

/**
 * The init writes "0" once our open released its own, then "1" once the startContainer hooks passed, and keeps
 * its write end open (close-on-exec) until its execve: EOF after "01" means the user's process started (so
 * poststart hooks run after it, as the spec wants); EOF after "0" alone means the init died before its execve (a
 * startContainer hook failed, or it was killed).
 * Read as libuv reports the fifo readable (no polling delay); until the "0", a timer checks that the init lives.
 * `pipe` holds `fd` and closes it.
 */
function readFifoEvents(pipe: UvPipe, fd: number, facts: {pid: number; pidStartTime: string}, ctx: {verb: string; id: string}, startHooks: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = ''
    let timer: NodeJS.Timeout | undefined
    const end = (err?: Error) => {
      clearInterval(timer)
      pipe.close()
      if (err) reject(err)
      else resolve()
    }
    pipe.read((chunk) => (got += chunk.toString('latin1')), () => {
      if (got.length >= 2 && got[1] === '1') end()
      else if (got.length === 1) end(diedBeforeExec(ctx, startHooks))
      else end(notStarted(ctx))
    })
    timer = setInterval(() => {
      if (got !== '' || initAlive(facts)) return
      // the init is gone: what it wrote before dying may not have been delivered yet in this loop turn
      const buf = Buffer.alloc(2)
      let n = 0
      try {
        n = fs.readSync(fd, buf, 0, 2, null)
      } catch {
        // EAGAIN: nothing
      }
      got += buf.subarray(0, n).toString('latin1')
      if (got === '') end(notStarted(ctx))
    }, 20)
  })
}

/** Without libuv's handles: poll the non-blocking fifo (which this closes) on short timers. */
async function readFifoPolling(fd: number, facts: {pid: number; pidStartTime: string}, ctx: {verb: string; id: string}, startHooks: boolean): Promise<void> {
  try {
    await pollRead(fd, (n) => n === 1, () => {
      if (!initAlive(facts)) throw notStarted(ctx)
    })
    let confirmed = false
    await pollRead(fd, (n, byte) => {
      if (n === 1 && byte === 0x31) confirmed = true
      return n === 0
    })
    if (!confirmed) throw diedBeforeExec(ctx, startHooks)
  } finally {
    fs.closeSync(fd)
  }
}

/** Reads one byte at a time from a non-blocking fd until `done(bytesRead)`, polling quickly at first. */
async function pollRead(fd: number, done: (n: number, byte: number) => boolean, everyTwentieth?: () => void): Promise<void> {
  const buf = Buffer.alloc(1)
  for (let i = 0; ; i++) {
    let n = -1
    try {
      n = fs.readSync(fd, buf, 0, 1, null)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
    }
    if (n >= 0 && done(n, buf[0])) return
    if (i % 20 === 0) everyTwentieth?.()
    await new Promise((r) => setTimeout(r, i < 100 ? 1 : 10))
  }
}
