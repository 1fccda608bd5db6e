// native/build/criu-gate.so: preloaded into a criu started ahead of time, it holds the first dynamically linked
// program of the start (criu itself, or criu's loader behind a static wrapper; a shell if criu is a script) before
// its main(), its libraries loaded and relocated, until one byte on a socketpair lets it go (native/criu-gate.c).
// Used for the lazy-pages daemon (migrate/agent/lazy-pages.ts) and for criu restore (held.ts) on a migration's target.
import type {Duplex} from 'node:stream'
import {nativeFile} from '../util/native-file'

/** the env variable that names the gate's fd in the held process */
export const GATE_FD_ENV = 'OCIRT_CRIU_GATE_FD'
/** what a held process writes once it waits at its gate */
export const HELD_BYTE = 0x68 // 'h'
/** what lets it go */
export const GO = 'g'
/** its exit status when its gate closed unopened (the holder gone) */
export const GATE_CLOSED_STATUS = 111

/** The gate library, if built; none with OCIRT_CRIU_GATE=0 (every criu starts as before, to compare) */
export function gateLibrary(): string | undefined {
  if (process.env.OCIRT_CRIU_GATE === '0') return undefined
  return nativeFile('criu-gate.so')
}

/** The env of a process held at its gate on fd `fd`. */
export function gatedEnv(env: NodeJS.ProcessEnv, library: string, fd: number): NodeJS.ProcessEnv {
  return {...env, LD_PRELOAD: library, [GATE_FD_ENV]: String(fd)}
}

/** Our end of a held process's gate: whether it said it waits there, and the byte that lets it go. */
export class GateEnd {
  private confirmed = false

  constructor(private readonly stream: Duplex) {
    stream.on('error', () => undefined) // a process gone shows in its exit
    stream.once('data', (b: Buffer) => (this.confirmed = b[0] === HELD_BYTE))
  }

  /** it said it waits at its gate (a preload that did not take never says so) */
  get confirmedHeld(): boolean {
    return this.confirmed
  }

  open(): void {
    this.stream.end(GO)
  }
}
