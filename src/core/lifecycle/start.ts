// start: release a created container's init from the exec fifo, then run the poststart hooks.
import * as fs from 'node:fs'
import {OcirtError} from '../errors'
import type {Runtime} from '../runtime'
import {fifoPath, loadConfig} from '../state/store'
import {initAlive} from '../state/status'
import {runHooksWarnOnly} from '../hooks'
import {hookState, lockForOperation} from './container'

export async function start(rt: Runtime, id: string, verb = 'start'): Promise<void> {
  const {unlock, ...loaded} = await lockForOperation(rt, id, 'start', verb)
  try {
    await releaseFifo(fifoPath(rt, id), loaded.facts, {verb, id})
    const spec = loadConfig(rt, id, verb)
    const state = hookState(loaded.facts, 'running')
    // the spec: a failing poststart hook is logged, the others still run and the container keeps running
    await runHooksWarnOnly('poststart', spec.hooks?.poststart, state, {verb, id, bundle: loaded.facts.bundle})
  } finally {
    unlock()
  }
}

/**
 * Opening the fifo for reading lets the init's blocking O_WRONLY open return; it then writes one byte and
 * goes on to execve. A non-blocking open never hangs, and polling lets us notice an init that died meanwhile.
 */
async function releaseFifo(fifo: string, facts: {pid: number; pidStartTime: string}, ctx: {verb: string; id: string}): Promise<void> {
  let fd: number
  try {
    fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch (err) {
    throw new OcirtError('cannot start an already running container', {...ctx, step: 'open exec fifo', errno: (err as NodeJS.ErrnoException).code})
  }
  try {
    await pollRead(fd, (n) => n === 1, () => {
      if (!initAlive(facts)) throw new OcirtError('the container process exited before it was started', {...ctx, step: 'read exec fifo'})
    })
    // The init keeps its write end open (close-on-exec) through the startContainer hooks and writes "1" once
    // they passed: EOF then means its execve happened, so poststart hooks run after the user's process
    // started (the spec). EOF without the "1" means a hook failed and the init died.
    let confirmed = false
    await pollRead(fd, (n, byte) => {
      if (n === 1 && byte === 0x31) confirmed = true
      return n === 0
    })
    if (!confirmed) {
      throw new OcirtError('a startContainer hook failed: the container was stopped (its stderr has the hook\'s error)', {...ctx, step: 'startContainer hooks'})
    }
  } finally {
    fs.closeSync(fd)
  }
  // unlink, not rmSync: Node 20's rmSync loads its rimraf module even for one file
  try {
    fs.unlinkSync(fifo)
  } catch {
    // already gone
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
