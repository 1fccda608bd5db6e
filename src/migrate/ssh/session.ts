// connectSsh: one ssh2 connection, verified against known_hosts before anything else happens on it, with
// keepalives so that a dead peer is noticed, and every failure turned into an SshError a user can act on.
import {randomBytes} from 'node:crypto'
import * as os from 'node:os'
import * as path from 'node:path'
import {Transform, type TransformCallback} from 'node:stream'
import {Client, type ClientChannel} from 'ssh2'
import {authWalker, planAuth} from './auth'
import {
  RemoteCommandTimeout, SshChannelFailed, SshConnectFailed, SshConnectionLost, SshError, describeTarget,
} from './errors'
import {hostKeyCheck} from './host-key'
import {quoteArgv, withEnv} from './quote'
import {TunnelRegistry} from './tunnel'
import type {ExitStatus, RemoteProcess, RunResult, SshAuthOptions, SshSession, SshTarget, Tunnel} from './types'

const KEEPALIVE_INTERVAL_MS = 2000
const KEEPALIVE_COUNT_MAX = 3

/** ssh2 tags its errors with a level; we look at it and at Node's errno code. */
type Ssh2Error = Error & {level?: string; code?: string | number}

export async function connectSsh(target: SshTarget, auth: SshAuthOptions = {}): Promise<SshSession> {
  checkTarget(target)
  const knownHostsFile = auth.knownHostsFile ?? path.join(os.homedir(), '.ssh', 'known_hosts')
  const timeoutMs = auth.connectTimeoutMs ?? 10_000
  const check = hostKeyCheck(target, knownHostsFile, auth.acceptNewHostKey === true)
  const plan = planAuth(target, auth)
  const walker = authWalker(plan)
  const client = new Client()
  const preferred = check.preferredAlgorithms()

  return new Promise<SshSession>((resolve, reject) => {
    let fatal: Ssh2Error | undefined
    let authExhausted = false
    const onError = (err: Ssh2Error) => {
      // an unreachable agent is not fatal: ssh2 goes on with the next method
      if (err.level === 'agent') return void plan.skipped.push(`ssh-agent: ${err.message}`)
      if (err.level === 'client-authentication' && /authentication methods failed/.test(err.message)) authExhausted = true
      fatal ??= err
    }
    const onClose = () => {
      client.removeListener('error', onError)
      reject(check.error() ?? (authExhausted ? walker.failure(target) : connectFailure(target, fatal, timeoutMs)))
    }
    client.on('error', onError)
    client.on('close', onClose)
    // the key exchange is complete: the server has proved it holds the key we accepted
    client.on('handshake', () => {
      try {
        check.recordAccepted()
      } catch (e) {
        fatal = new Error(`cannot record the new host key in ${knownHostsFile}: ${(e as Error).message}`)
        client.end()
      }
    })
    client.once('ready', () => {
      // Nagle's algorithm holds each write's last partial segment until the peer acknowledges what is in flight,
      // and the peer delays its acknowledgements (up to 40 ms): every agent request, and the first megabytes of a
      // fresh connection's streams, paid for it
      client.setNoDelay(true)
      client.removeListener('error', onError)
      client.removeListener('close', onClose)
      resolve(new Session(client, target))
    })
    try {
      client.connect({
        host: target.host,
        port: target.port,
        username: target.user,
        readyTimeout: timeoutMs,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        hostVerifier: (key: Buffer) => check.verify(key),
        // ssh2 also takes the next method as a return value (its own simple handler does so)
        authHandler: walker.handler as never,
        algorithms: preferred.length ? {serverHostKey: {remove: preferred, prepend: preferred} as never} : undefined,
      })
    } catch (e) {
      reject(new SshConnectFailed(target, `cannot connect: ${(e as Error).message}`, {cause: e}))
    }
  })
}

function checkTarget(t: SshTarget): void {
  const bad = !t.host ? 'empty host' : !t.user ? 'empty user' :
    !Number.isInteger(t.port) || t.port < 1 || t.port > 65535 ? `port ${t.port} is not in 1..65535` : undefined
  if (bad) throw new SshConnectFailed(t, `invalid ssh target: ${bad}`)
}

function connectFailure(target: SshTarget, err: Ssh2Error | undefined, timeoutMs: number): SshError {
  if (!err) return new SshConnectFailed(target, 'the server closed the connection before authentication')
  const code = typeof err.code === 'string' ? err.code : undefined
  const why =
    code === 'ECONNREFUSED' ? `connection refused (is sshd listening on port ${target.port}?)` :
    code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `cannot resolve host name ${target.host}` :
    code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? `host unreachable (${code})` :
    err.level === 'client-timeout' ? `no answer within ${timeoutMs} ms (connect, ssh handshake and authentication)` :
    err.message
  return new SshConnectFailed(target, `cannot connect: ${why}`, {cause: err})
}

class Session implements SshSession {
  private closing = false
  private closedErr: Error | undefined
  private closed = false
  private lastError: Ssh2Error | undefined
  private closeCbs: ((err?: Error) => void)[] = []
  private readonly tunnels: TunnelRegistry

  constructor(private readonly client: Client, readonly target: SshTarget) {
    this.tunnels = new TunnelRegistry(client, target)
    client.on('error', (err: Ssh2Error) => {
      this.lastError ??= err
    })
    client.on('close', () => {
      this.closed = true
      if (!this.closing) {
        const e = this.lastError
        const detail = e ? e.message : 'the server closed the connection'
        this.closedErr = new SshConnectionLost(target, detail, {cause: e})
      }
      this.tunnels.closeAll()
      for (const cb of this.closeCbs.splice(0)) cb(this.closedErr)
    })
  }

  socketFd(): number | undefined {
    // ssh2 keeps its net.Socket as _sock (its own, made in connect); Node's handle holds the descriptor
    const fd = (this.client as unknown as {_sock?: {_handle?: {fd?: unknown}}})._sock?._handle?.fd
    return typeof fd === 'number' && fd >= 0 && !this.closed ? fd : undefined
  }

  /** The error to fail new work with once the connection is gone. */
  private gone(): Error | undefined {
    if (!this.closed && !this.closing) return undefined
    return this.closedErr ?? new SshChannelFailed(this.target, 'the ssh connection was closed')
  }

  exec(argv: string[], opts: {env?: Record<string, string>} = {}): Promise<RemoteProcess> {
    const command = quoteArgv(withEnv(argv, opts.env))
    const gone = this.gone()
    if (gone) return Promise.reject(gone)
    // The shell tells us its pid (then execs the command in its place): OpenSSH refuses "signal" requests for
    // root sessions, so kill() signals that process group (sshd made it a session leader) with kill(1).
    const marker = `ocirt-pid-${randomBytes(6).toString('hex')}:`
    const line = `printf '${marker}%s\\n' "$$" >&2; exec ${command}`
    return new Promise((resolve, reject) => {
      try {
        this.client.exec(line, (err, channel) => {
          if (err) {
            return reject(this.gone() ?? new SshChannelFailed(this.target, `cannot start remote command: ${err.message}: ${command}`, {cause: err}))
          }
          resolve(this.process(channel, command, marker))
        })
      } catch (e) {
        reject(this.gone() ?? new SshChannelFailed(this.target, `cannot start remote command: ${(e as Error).message}: ${command}`, {cause: e}))
      }
    })
  }

  private process(channel: ClientChannel, command: string, marker: string): RemoteProcess {
    let status: ExitStatus | undefined
    let killedWith: string | undefined
    let channelClosed = false
    const stderr = new PidLineFilter(marker)
    channel.stderr.pipe(stderr)
    const pid = new Promise<number | undefined>((resolve) => {
      channel.on('close', () => resolve(undefined))
      stderr.pidLine = resolve
    })
    channel.on('exit', (code: number | null, signal?: string) => {
      status = code === null || code === undefined ? {code: null, signal} : {code}
    })
    const exit = new Promise<ExitStatus>((resolve, reject) => {
      channel.on('close', () => {
        channelClosed = true
        // ssh2 closes every channel when the connection goes; let the client's close handler set the reason first
        setImmediate(() => {
          if (status) return resolve(status)
          if (killedWith) return resolve({code: null, signal: killedWith})
          const gone = this.gone()
          if (gone) return reject(gone)
          reject(new SshChannelFailed(this.target, `the remote command ended without an exit status: ${command}`))
        })
      })
    })
    // an unobserved rejection must not crash the process; callers see it through `exit`
    exit.catch(() => {})
    const kill = async (signal: string) => {
      const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase().slice(3) : signal.toUpperCase()
      killedWith = `SIG${name}`
      try {
        channel.signal(name) // honoured for non-root users
      } catch {}
      const p = await pid
      if (p !== undefined && !channelClosed && !this.gone()) {
        await this.run(['kill', `-${name}`, '--', `-${p}`], {timeoutMs: 5000}).catch(() => undefined)
      }
      // give the exit status a moment to arrive, then close the channel in any case
      const timer = setTimeout(() => channel.close(), 2000)
      await exit.catch(() => undefined)
      clearTimeout(timer)
    }
    return {
      stdin: channel,
      stdout: channel,
      stderr,
      exit,
      kill: (signal = 'SIGTERM') => void kill(signal),
    }
  }

  async run(argv: string[], opts: {stdin?: string | Buffer; timeoutMs?: number} = {}): Promise<RunResult> {
    const proc = await this.exec(argv)
    const out: Buffer[] = []
    const err: Buffer[] = []
    proc.stdout.on('data', (d: Buffer) => out.push(d))
    proc.stderr.on('data', (d: Buffer) => err.push(d))
    proc.stdin.end(opts.stdin ?? '')
    let timer: NodeJS.Timeout | undefined
    let timedOut = false
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true
        proc.kill('SIGKILL')
      }, opts.timeoutMs)
    }
    // stdin closed early by the remote (a command that does not read it) must not be an unhandled error
    ;(proc.stdin as NodeJS.EventEmitter).on('error', () => {})
    try {
      const status = await proc.exit
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8')
      if (timedOut) throw new RemoteCommandTimeout(this.target, quoteArgv(argv), opts.timeoutMs!, stdout, stderr)
      return {...status, stdout, stderr}
    } finally {
      clearTimeout(timer)
    }
  }

  forwardToRemote(remoteHost: string, remotePort: number): Promise<Tunnel> {
    const gone = this.gone()
    if (gone) return Promise.reject(gone)
    return this.tunnels.toRemote(remoteHost, remotePort)
  }

  forwardFromRemote(localHost: string, localPort: number): Promise<Tunnel> {
    const gone = this.gone()
    if (gone) return Promise.reject(gone)
    return this.tunnels.fromRemote(localHost, localPort)
  }

  onClose(cb: (err?: Error) => void): void {
    if (this.closed) queueMicrotask(() => cb(this.closedErr))
    else this.closeCbs.push(cb)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closing = true
    await this.tunnels.closeAll()
    await new Promise<void>((resolve) => {
      this.onClose(() => resolve())
      this.client.end()
      // a peer that never answers our disconnect must not hold close() up
      setTimeout(() => this.client.destroy(), 3000).unref()
    })
  }

  toString(): string {
    return `ssh ${describeTarget(this.target)}`
  }
}

/**
 * stderr without the line `<marker><pid>` the remote shell prints before it execs the command. What comes before
 * it (a noisy ~/.bashrc: bash reads it also for ssh commands) is passed on; after 64 KiB without it, we give up.
 */
class PidLineFilter extends Transform {
  pidLine: (pid: number | undefined) => void = () => {}
  private head: Buffer | undefined = Buffer.alloc(0)

  constructor(private readonly marker: string) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.head) return cb(null, chunk)
    const buf = Buffer.concat([this.head, chunk])
    const at = buf.indexOf(this.marker)
    const nl = at < 0 ? -1 : buf.indexOf(0x0a, at)
    if (nl < 0) {
      if (buf.length <= 65536) {
        this.head = buf
        return cb()
      }
      this.head = undefined
      this.pidLine(undefined)
      return cb(null, buf)
    }
    this.head = undefined
    const pid = Number(buf.subarray(at + this.marker.length, nl).toString('latin1'))
    this.pidLine(Number.isInteger(pid) && pid > 1 ? pid : undefined)
    cb(null, Buffer.concat([buf.subarray(0, at), buf.subarray(nl + 1)]))
  }

  override _flush(cb: TransformCallback): void {
    if (this.head?.length) this.push(this.head)
    this.head = undefined
    this.pidLine(undefined)
    cb()
  }
}
