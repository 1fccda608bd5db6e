// One run of the C helper: spawns it with the container's stdio and a sync socket, sends frames and turns
// the helper's ERROR frames into errors naming the container and the step. See protocol.ts for the handshake.
import type {ChildProcess, StdioOptions} from 'node:child_process'
import * as os from 'node:os'
import type {Duplex} from 'node:stream'
import {OcirtError} from '../errors'
import {debug, logLine} from '../log'
import {initBinary} from './binary'
import {uvBindings, uvSpawn, type UvChild} from '../sys/uv'
import {cstrings, decodeError, encodeFrame, FRAME, FrameReader, LOG_LEVEL, type Frame} from './protocol'

export class InitFailed extends OcirtError {
  constructor(verb: string, id: string, step: string, message: string, errno: number) {
    // engines turn a failed exec into 127 or 126 by matching runc's strerror text ("no such file or
    // directory", "permission denied"; ENGINES.md), so an exec failure carries that text before the errno name
    const text = step === 'exec' && errno ? errnoText(errno) : undefined
    super(text ? `${message}: ${text}` : message, {verb, id, step, errno: errnoName(errno)})
    this.name = 'InitFailed'
  }
}

/** strerror-like text, lower case as Go prints it ("no such file or directory"). */
function errnoText(errno: number): string | undefined {
  return (require('node:util') as typeof import('node:util')).getSystemErrorMap().get(-errno)?.[1]
}

const ERRNO_NAMES = new Map<number, string>()
export function errnoName(errno: number): string | undefined {
  if (!errno) return undefined
  if (ERRNO_NAMES.size === 0) for (const [k, v] of Object.entries(os.constants.errno)) ERRNO_NAMES.set(v, k)
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`
}

export interface SessionOptions {
  verb: string
  id: string
  /** fds 0-2 of the helper (and so of the container process) */
  stdio: [StdioOptions[number], StdioOptions[number], StdioOptions[number]] | StdioOptions
  /** the caller's fds 3..3+n-1 are passed through to the container process */
  preserveFds: number
  onLog?: (level: number, text: string) => void
}

export interface HelperExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export class InitSession {
  /** only when a stdio entry needs a stream ('pipe': the createContainer hooks' stdin and stderr) */
  readonly child?: ChildProcess
  readonly exited: Promise<HelperExit>
  private readonly uvChild?: UvChild
  private readonly sock?: Duplex
  private readonly reader = new FrameReader()
  private queue: Frame[] = []
  private waiter?: () => void
  private eof = false

  private constructor(private readonly opts: SessionOptions) {
    const stdio = [...(opts.stdio as unknown[]).slice(0, 3)] as StdioOptions as unknown[]
    for (let i = 0; i < opts.preserveFds; i++) stdio.push(3 + i)
    const syncFd = stdio.length
    stdio.push('pipe')
    const args = ['init', '--sync-fd', String(syncFd)]
    const onData = (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) {
        if (f.type === FRAME.LOG) this.log(f.payload)
        else this.queue.push(f)
      }
      this.wake()
    }
    // The helper's own fds are plain fds ('inherit', 'ignore', numbers) on every hot path: spawned through
    // libuv's handles directly (sys/uv.ts), without loading child_process and its streams.
    const uv = stdio.slice(0, syncFd).every((s) => s === 'inherit' || s === 'ignore' || typeof s === 'number') ? uvBindings() : null
    if (uv) {
      const fds = stdio.map((s, i) => (s === 'inherit' ? i : s)) as (number | 'ignore' | 'pipe')[]
      const child = uvSpawn(uv, initBinary(), args, fds)
      if (typeof child === 'number') {
        throw new OcirtError('the init helper could not be started', {verb: opts.verb, id: opts.id, step: 'spawn init helper', errno: errnoName(-child)})
      }
      this.uvChild = child
      this.exited = child.exited
      child.channel.read(onData, () => this.finish())
      return
    }
    const {spawn} = require('node:child_process') as typeof import('node:child_process')
    // detached: the helper gets its own session, so a terminal's ^C reaches ocirt (which forwards signals),
    // not the helper that mirrors the container's exit status
    const cp = spawn(initBinary(), args, {stdio: stdio as StdioOptions, detached: true})
    this.child = cp
    const sock = cp.stdio[syncFd] as Duplex
    this.sock = sock
    this.exited = new Promise((resolve) => cp.once('exit', (code, signal) => resolve({code, signal})))
    cp.once('error', () => this.finish())
    sock.on('data', onData)
    sock.on('end', () => this.finish())
    sock.on('close', () => this.finish())
    sock.on('error', () => this.finish())
  }

  static start(opts: SessionOptions): InitSession {
    return new InitSession(opts)
  }

  get helperPid(): number {
    const pid = this.uvChild?.pid ?? this.child?.pid
    if (!pid) throw new OcirtError('the init helper could not be started', {verb: this.opts.verb, id: this.opts.id, step: 'spawn init helper'})
    return pid
  }

  /** Whether the helper has exited (and was reaped). */
  get hasExited(): boolean {
    return this.uvChild ? this.uvChild.hasExited() : this.child?.exitCode !== null || this.child?.signalCode !== null
  }

  /** Signals the helper unless it has exited already. */
  kill(signal: NodeJS.Signals): void {
    if (this.hasExited) return
    try {
      process.kill(this.helperPid, signal)
    } catch {
      // already gone
    }
  }

  send(type: number, payload?: Buffer): void {
    const frame = encodeFrame(type, payload)
    if (this.uvChild) {
      // a failed write shows as the helper's end of the channel: the next expect() names the step
      if (this.uvChild.channel.write(frame) < 0) this.finish()
    } else this.sock!.write(frame)
  }

  /** The next frame other than LOG, or null once the helper closed the socket (exec succeeded or it died). */
  async next(): Promise<Frame | null> {
    while (this.queue.length === 0 && !this.eof) await new Promise<void>((resolve) => (this.waiter = resolve))
    return this.queue.shift() ?? null
  }

  /** Waits for a frame of the given type; an ERROR frame or an early end becomes an error. */
  async expect(type: number, stepIfGone: string): Promise<Buffer> {
    const f = await this.next()
    if (f === null) throw await this.goneError(stepIfGone)
    if (f.type === FRAME.ERROR) throw this.failure(f.payload)
    if (f.type !== type) {
      throw new OcirtError(`unexpected frame ${f.type} from the init helper (wanted ${type})`, {verb: this.opts.verb, id: this.opts.id, step: stepIfGone})
    }
    return f.payload
  }

  failure(payload: Buffer): InitFailed {
    const e = decodeError(payload)
    return new InitFailed(this.opts.verb, this.opts.id, e.step, e.message, e.errno)
  }

  /** Stop listening; the helper keeps running (a created container waits on its fifo). */
  close(): void {
    if (this.uvChild) {
      this.uvChild.channel.close()
      this.uvChild.unref()
      return
    }
    this.sock!.removeAllListeners('data')
    this.sock!.destroy()
    this.child!.unref()
  }

  private async goneError(step: string): Promise<OcirtError> {
    const exit = await Promise.race([this.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))])
    const how = exit ? (exit.signal ? `killed by ${exit.signal}` : `exit status ${exit.code}`) : 'closed its channel'
    return new OcirtError(`the init helper ended unexpectedly (${how})`, {verb: this.opts.verb, id: this.opts.id, step})
  }

  private log(payload: Buffer): void {
    const level = payload.length >= 4 ? payload.readUInt32LE(0) : LOG_LEVEL.INFO
    const [text = ''] = cstrings(payload, 4)
    if (this.opts.onLog) return this.opts.onLog(level, text)
    // by default the helper's lines join ocirt's own log (debug lines only with --debug); its warnings (e.g. "no
    // keyring support") go to --log, not to stderr, which engines relay to their users: runc prints nothing there
    if (level <= LOG_LEVEL.WARN) {
      if (!logLine('warning', `${this.opts.verb} ${this.opts.id}: init helper: ${text}`)) debug(`${this.opts.verb} ${this.opts.id}: init helper warning: ${text}`)
    } else debug(`${this.opts.verb} ${this.opts.id}: init helper: ${text}`)
  }

  private finish(): void {
    this.eof = true
    this.wake()
  }

  private wake(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }
}
