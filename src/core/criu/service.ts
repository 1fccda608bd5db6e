// `criu swrk`: a criu started before it is needed, which then takes one request over a socket (CRIU's RPC, as runc
// drives every criu). A migration starts the source's dump this way before the freeze: the freeze then holds no
// fork of this process, no exec of criu, its loader and libraries (~15-25 ms on these VMs, ~5 ms of it blocking
// ocirt's event loop). The request carries criu's usual command line as a configuration file (rpc.ts), so the
// same options go either way; runCriu (client.ts) uses the service when it is given one that is up, and spawns
// criu as always when not. The service exits after its request, or when this process goes (its socket closes).
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {ErrorContext} from '../errors'
import type {Runtime} from '../runtime'
import {debug} from '../log'
import {makeSocketPair} from '../sys/socketpair'
import {withCriuTar} from './tar-shim'
import {CriuFailed, lastLines, logTail} from './client'
import {REQ_VERSION, decodeResponse, encodeRequest, requestFromArgv, type CriuResponse} from './rpc'

export interface CriuService {
  /** the swrk's pid */
  readonly pid: number | undefined
  /** our fds criu got as its 3, 4, ... (runCriu's extraFds must be these, in this order) */
  readonly fds: readonly number[]
  /** resolves once the service answered a VERSION request; rejects when it cannot serve */
  readonly ready: Promise<void>
  /** true from the moment a request was handed to it */
  readonly used: boolean
  /** up and waiting: answered VERSION, not exited, not closed, not used */
  readonly available: boolean
  /** runs the command line argv (`dump ...`) as the service's request; resolves when criu exits 0 */
  run(argv: string[], o: {logFile: string; ctx: ErrorContext; signal?: AbortSignal}): Promise<void>
  /** ends the service if no request was handed to it */
  close(): void
}

/** Starts `criu swrk` with `fds` as its fds 3, 4, ..., and the RPC socket after them. */
export function startCriuService(rt: Runtime, fds: number[]): CriuService {
  const [ours, its] = makeSocketPair('seqpacket')
  let child: ChildProcess
  try {
    child = spawn(rt.criu, ['swrk', String(3 + fds.length)], {
      stdio: ['ignore', 'pipe', 'pipe', ...fds, its], env: withCriuTar(process.env), detached: true,
    })
  } catch (err) {
    fs.closeSync(ours)
    throw err
  } finally {
    fs.closeSync(its)
  }
  return new Service(child, ours, fds)
}

class Service implements CriuService {
  used = false
  readonly ready: Promise<void>
  private output = ''
  private readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  private closed = false
  private dead = false
  private answered = false

  constructor(private readonly child: ChildProcess, private readonly sock: number, readonly fds: readonly number[]) {
    child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()))
    child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()))
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.output += err.message
        resolve({code: null, signal: null})
      })
      child.once('close', (code, signal) => resolve({code, signal}))
    })
    // the socket stays open after the exit: a response criu sent is read from it then (run), and closing it under a
    // read still pending in the thread pool could hand that read a reused fd number
    void this.exited.then(() => (this.dead = true))
    this.ready = this.askVersion()
    this.ready.then(() => (this.answered = true), () => this.close())
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get available(): boolean {
    return this.answered && !this.dead && !this.closed && !this.used
  }

  private async askVersion(): Promise<void> {
    const started = Date.now()
    this.send(encodeRequest({type: REQ_VERSION, keepOpen: true}))
    const answer = await Promise.race([
      this.receive(),
      this.exited.then(({code, signal}) => {
        throw new Error(`criu swrk ended before it answered (${signal ?? `status ${code}`}): ${this.output.trim()}`)
      }),
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('criu swrk did not answer within 5 s')), 5000).unref()),
    ])
    if (!answer.success || answer.type !== REQ_VERSION) throw new Error(`criu swrk refused VERSION: ${answer.crErrmsg ?? 'no reason given'}`)
    const v = answer.version
    debug(`criu swrk ${this.child.pid} up after ${Date.now() - started} ms (criu ${v ? `${v.major}.${v.minor}${v.sublevel !== undefined ? `.${v.sublevel}` : ''}` : '?'})`)
  }

  async run(argv: string[], o: {logFile: string; ctx: ErrorContext; signal?: AbortSignal}): Promise<void> {
    if (!this.available) throw new Error('criu swrk is not available (not up, gone, or used already)')
    const req = requestFromArgv(argv)
    if (!req) throw new Error(`criu swrk: cannot pass ${argv[0]}'s options in a configuration file`)
    const config = path.join(req.workDir, 'criu-rpc.conf')
    let imagesFd: number | undefined
    let workFd: number | undefined
    try {
      fs.writeFileSync(config, req.config, {mode: 0o600})
      // CRIU opens them as /proc/<this pid>/fd/<n> when it takes the request
      imagesFd = fs.openSync(req.imagesDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
      workFd = req.workDir === req.imagesDir ? imagesFd : fs.openSync(req.workDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
      debug(`criu swrk ${this.child.pid}: ${argv.join(' ')}`)
      this.send(encodeRequest({type: req.type, opts: {
        imagesDirFd: imagesFd, workDirFd: workFd, pid: req.pid, logLevel: req.logLevel, networkLock: req.networkLock,
        leaveRunning: req.leaveRunning, configFile: config,
      }}))
    } catch (err) {
      this.close() // nothing was handed over: the service ends here
      for (const fd of new Set([imagesFd, workFd])) if (fd !== undefined) fs.closeSync(fd)
      throw err
    }
    this.used = true
    const kill = () => this.child.kill('SIGKILL')
    o.signal?.addEventListener('abort', kill, {once: true})
    const started = Date.now()
    const {code, signal} = await this.exited
    o.signal?.removeEventListener('abort', kill)
    for (const fd of new Set([imagesFd, workFd])) if (fd !== undefined) fs.closeSync(fd)
    debug(`criu ${argv[0]} (swrk) exited ${code ?? signal} after ${Date.now() - started} ms`)
    const resp = this.receiveLeft()
    this.closeSocket()
    if (code === 0 && resp?.success !== false) return
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`
    const said = resp?.crErrmsg ? `; it said: ${resp.crErrmsg.trim()}` : this.output.trim() ? `; it said: ${lastLines(this.output, 3).join(' | ')}` : ''
    throw new CriuFailed(`criu ${argv[0]} ${how}${said}${logTail(o.logFile)}`, o.ctx, o.logFile)
  }

  close(): void {
    if (this.closed || this.used) return
    this.closed = true
    if (!this.dead) this.child.kill('SIGKILL')
    // a VERSION read still pending ends with the child (EOF); the socket goes once it has
    void this.exited.then(() => this.closeSocket())
  }

  private socketOpen = true

  private closeSocket(): void {
    if (!this.socketOpen) return
    this.socketOpen = false
    try {
      fs.closeSync(this.sock)
    } catch {
      // closed already
    }
  }

  /** One message out (a SOCK_SEQPACKET write is one message, whole or not at all). */
  private send(msg: Buffer): void {
    fs.writeSync(this.sock, msg)
  }

  /**
   * The response criu left before it exited, if any: its end is closed, so the read returns the queued message or
   * EOF at once (a read issued before the request would have held a thread-pool thread for the whole dump).
   */
  private receiveLeft(): CriuResponse | undefined {
    try {
      const buf = Buffer.alloc(64 * 1024)
      const n = fs.readSync(this.sock, buf, 0, buf.length, null)
      return n > 0 ? decodeResponse(buf.subarray(0, n)) : undefined
    } catch {
      return undefined
    }
  }

  /** One message in: a read of a SOCK_SEQPACKET socket returns one message (in the thread pool: it blocks). */
  private receive(): Promise<CriuResponse> {
    return new Promise((resolve, reject) => {
      const buf = Buffer.alloc(64 * 1024)
      fs.read(this.sock, buf, 0, buf.length, null, (err, n) => {
        if (err) return reject(err)
        if (n === 0) return reject(new Error('criu swrk closed its socket'))
        try {
          resolve(decodeResponse(buf.subarray(0, n)))
        } catch (e) {
          reject(e as Error)
        }
      })
    })
  }
}
