// CRIU's lazy-pages daemon on the target of a post-copy migration: it serves the restored container's page faults
// by fetching pages from the source's page server (straight over CRIU's TLS, or through the SSH tunnel whose target
// end is 127.0.0.1:port), and pushes the rest in the background; it exits when every page has arrived. It runs as
// this agent's child, not daemonized (-d): its exit status is what says whether every page arrived (a daemon killed
// mid-way leaves no error in its log).
import * as path from 'node:path'
import {spawn, type ChildProcess} from 'node:child_process'
import type {Duplex, Readable} from 'node:stream'
import {OcirtError} from '../../core/errors'
import type {Runtime} from '../../core/runtime'
import {logTail} from '../../core/criu/client'
import {criuTlsArgs, type TlsFiles} from '../tls'
import {gateLibrary, gatedEnv, GateEnd} from '../../core/criu/gate'

export const LAZY_LOG = 'lazy-pages.log'

export interface LazyPagesDaemon {
  log: string
  /** criu's exit status, or the signal that ended it */
  exited: Promise<number | string>
  stop(): void
}

export interface LazyPagesInput {
  imageDir: string
  workDir: string
  address: string
  port: number
  tls?: TlsFiles
  id: string
}

/** A daemon started ahead of time, held before criu's main() (native/criu-gate.c) until `open`. */
export interface HeldLazyPages {
  /** lets it go (the images must be there) and resolves once it is ready, as startLazyPages */
  open(): Promise<LazyPagesDaemon>
  /** ends it, held or not */
  stop(): void
  /** whether it waits at its gate: it said so, and has not ended since (a preload that did not take never says so) */
  readonly held: boolean
}

/**
 * Starts the daemon now, for images that are not there yet: the process loads criu and its libraries and waits
 * before criu's main() (~12 ms of its ~15 ms start, more when the CPUs are busy), so that the freeze pays only the
 * rest. Undefined without the gate library.
 */
export function holdLazyPages(rt: Runtime, o: LazyPagesInput): HeldLazyPages | undefined {
  const gate = gateLibrary()
  if (!gate) return undefined
  const d = spawnDaemon(rt, o, gate)
  // the gate's own end of the socketpair: it says 'h' once it holds criu (native/criu-gate.c)
  const gateEnd = new GateEnd(d.child.stdio[GATE_FD] as Duplex)
  return {
    get held() {
      return gateEnd.confirmedHeld && d.child.exitCode === null && d.child.signalCode === null
    },
    open: () => {
      gateEnd.open()
      return whenReady(d, o)
    },
    stop: () => d.stop(),
  }
}

export function startLazyPages(rt: Runtime, o: LazyPagesInput): Promise<LazyPagesDaemon> {
  return whenReady(spawnDaemon(rt, o), o)
}

const STATUS_FD = 3
const GATE_FD = 4

interface Spawned extends LazyPagesDaemon {
  child: ChildProcess
}

function spawnDaemon(rt: Runtime, o: LazyPagesInput, gate?: string): Spawned {
  const log = path.join(o.workDir, LAZY_LOG)
  // fd 3: criu writes a byte there once its socket for the restorer is ready, so the restore can start right after
  const child = spawn(rt.criu, ['lazy-pages', '--page-server', '--address', o.address, '--port', String(o.port), ...(o.tls ? criuTlsArgs(o.tls) : []),
    '-D', o.imageDir, '-W', o.workDir, '-o', LAZY_LOG, '-v4', '--status-fd', String(STATUS_FD)], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', gate ? 'pipe' : 'ignore'],
    env: gate ? gatedEnv(process.env, gate, GATE_FD) : process.env,
    // its own process group, as runCriu's: a signal meant for the agent's group is not criu's
    detached: true,
  })
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message))
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  return {
    child, log, exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

async function whenReady(d: Spawned, o: LazyPagesInput): Promise<LazyPagesDaemon> {
  const status = d.child.stdio[STATUS_FD] as Readable
  const ready = await Promise.race([
    new Promise<true>((resolve) => status.once('data', () => resolve(true))),
    d.exited,
  ])
  status.destroy()
  if (ready !== true) {
    throw new OcirtError(`criu lazy-pages failed before it was ready (${typeof ready === 'number' ? `status ${ready}` : ready}):${logTail(d.log)}`, {verb: 'migrate-agent', id: o.id, step: 'start lazy-pages'})
  }
  return {log: d.log, exited: d.exited, stop: d.stop}
}

/** Waits for the daemon to exit: it does once every page is in the container (status 0), or when it failed. */
export async function waitLazyPages(d: LazyPagesDaemon): Promise<{ok: boolean; detail: string}> {
  const status = await d.exited
  if (status === 0) return {ok: true, detail: 'all pages transferred'}
  return {ok: false, detail: `criu lazy-pages ${typeof status === 'number' ? `exited with status ${status}` : `was killed by ${status}`}:${logTail(d.log, 3)}`}
}
