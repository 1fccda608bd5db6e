// libuv handles without child_process, net and streams: spawning the C helper with a socketpair, and reading a
// pipe or fifo as events arrive. `require('node:child_process')` loads ~30 internal modules (net, streams,
// dgram: ~5 ms here) and its spawn() adds ~3 ms of option handling on every lifecycle verb; the bindings
// underneath are the ones child_process and net use themselves (process_wrap, pipe_wrap, stream_wrap), reached
// through process.binding, which Node 20 still allows for them without a warning (DEP0111 is documentation-only
// for these; with --pending-deprecation it would warn, hence noDeprecation around the lookup). When they are not
// usable (another Node), `uvBindings()` is null and callers take the child_process path.

type Handle = {
  close(cb?: () => void): void
  ref(): void
  unref(): void
}
type PipeHandle = Handle & {
  onread: (ab: ArrayBuffer | undefined) => void
  open(fd: number): number
  readStart(): number
  readStop(): number
  writeBuffer(req: unknown, buf: Buffer): number
}
type ProcessHandle = Handle & {
  pid: number
  onexit: (code: number, signal: string) => void
  spawn(options: unknown): number
}

interface UvBindings {
  Process: new () => ProcessHandle
  Pipe: new (type: number) => PipeHandle
  SOCKET: number
  WriteWrap: new () => {handle: unknown; oncomplete: (status: number) => void; async: boolean}
  state: Int32Array
  kReadBytesOrError: number
  kArrayBufferOffset: number
  kLastWriteWasAsync: number
}

let cached: UvBindings | null | undefined

export function uvBindings(): UvBindings | null {
  if (cached !== undefined) return cached
  const quiet = process.noDeprecation
  try {
    process.noDeprecation = true
    const binding = (process as unknown as {binding(name: string): any}).binding
    const pw = binding('process_wrap')
    const pipe = binding('pipe_wrap')
    const sw = binding('stream_wrap')
    const ok = typeof pw.Process === 'function' && typeof pipe.Pipe === 'function' && typeof sw.WriteWrap === 'function' &&
      sw.streamBaseState instanceof Int32Array && [sw.kReadBytesOrError, sw.kArrayBufferOffset, sw.kLastWriteWasAsync].every(Number.isInteger)
    cached = ok
      ? {Process: pw.Process, Pipe: pipe.Pipe, SOCKET: pipe.constants.SOCKET, WriteWrap: sw.WriteWrap, state: sw.streamBaseState,
          kReadBytesOrError: sw.kReadBytesOrError, kArrayBufferOffset: sw.kArrayBufferOffset, kLastWriteWasAsync: sw.kLastWriteWasAsync}
      : null
  } catch {
    cached = null
  } finally {
    process.noDeprecation = quiet
  }
  return cached
}

/** A connected pipe or socket end: chunks as they arrive, then one `onEnd` (EOF, error or close). */
export class UvPipe {
  private readonly handle: PipeHandle
  private closed = false
  private readonly pending = new Set<unknown>()

  constructor(private readonly uv: UvBindings, handle?: PipeHandle) {
    this.handle = handle ?? new uv.Pipe(uv.SOCKET)
  }

  get raw(): PipeHandle {
    return this.handle
  }

  /** Takes over `fd` (a fifo or pipe end; it is closed with the handle). Returns a negative errno on failure. */
  open(fd: number): number {
    return this.handle.open(fd)
  }

  read(onData: (chunk: Buffer) => void, onEnd: (errno: number) => void): void {
    const {state, kReadBytesOrError, kArrayBufferOffset} = this.uv
    this.handle.onread = (ab) => {
      const n = state[kReadBytesOrError]
      if (n > 0 && ab) onData(Buffer.from(ab, state[kArrayBufferOffset], n))
      else if (n < 0) {
        this.close()
        onEnd(n) // UV_EOF (-4095) or an errno
      }
    }
    const err = this.handle.readStart()
    if (err) {
      this.close()
      onEnd(err)
    }
  }

  /** Queues `buf` (libuv keeps the order); returns a negative errno if the write failed at once. */
  write(buf: Buffer): number {
    if (this.closed) return -32 // EPIPE
    const req = new this.uv.WriteWrap()
    req.handle = this.handle
    req.async = false
    req.oncomplete = () => this.pending.delete(req)
    const err = this.handle.writeBuffer(req, buf)
    // an asynchronous write keeps its request (and buffer) referenced until libuv reports it done
    if (!err && this.uv.state[this.uv.kLastWriteWasAsync]) this.pending.add(req)
    return err
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.handle.readStop()
    } catch {
      // not reading
    }
    this.handle.close()
  }
}

export interface UvChild {
  pid: number
  /** the socketpair end for the child's fd `syncFd` */
  channel: UvPipe
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  hasExited(): boolean
  unref(): void
}

/**
 * Spawns `file` with fds 0.. as given (a number: that fd of ours; 'ignore'; the last entry 'pipe': a socketpair
 * end), in a new session (setsid). Returns a negative errno if the spawn failed.
 */
export function uvSpawn(uv: UvBindings, file: string, args: string[], stdio: (number | 'ignore' | 'pipe')[]): UvChild | number {
  const proc = new uv.Process()
  const sock = new uv.Pipe(uv.SOCKET)
  let done = false
  let resolveExit!: (e: {code: number | null; signal: NodeJS.Signals | null}) => void
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((r) => (resolveExit = r))
  proc.onexit = (code, signal) => {
    done = true
    proc.close()
    resolveExit({code: signal ? null : code, signal: (signal || null) as NodeJS.Signals | null})
  }
  const envPairs: string[] = []
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) envPairs.push(`${k}=${v}`)
  const err = proc.spawn({
    file,
    args: [file, ...args],
    envPairs,
    detached: true,
    stdio: stdio.map((s) => (s === 'pipe' ? {type: 'pipe', handle: sock} : s === 'ignore' ? {type: 'ignore'} : {type: 'fd', fd: s})),
  })
  if (err) {
    proc.close()
    sock.close()
    return err
  }
  return {
    pid: proc.pid,
    channel: new UvPipe(uv, sock),
    exited,
    hasExited: () => done,
    unref: () => proc.unref(),
  }
}
