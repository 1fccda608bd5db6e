// The few messages of CRIU's RPC protocol (criu's images/rpc.proto, proto2) that ocirt exchanges with `criu swrk`
// (service.ts), in protobuf's wire format: a request of a type with its options, and the response. Seven option
// fields and a handful of response fields do not justify a protobuf library in the start-up path; everything else
// CRIU needs goes in the request's configuration file, which CRIU parses as its command line.

/** criu_req_type */
export const REQ_DUMP = 1
export const REQ_VERSION = 10

export interface CriuRequest {
  type: number
  opts?: {
    /** an fd of the requesting process (CRIU opens /proc/<peer>/fd/<n>) */
    imagesDirFd: number
    workDirFd?: number
    pid?: number
    logLevel?: number
    /** criu_network_lock_method: iptables 1, nftables 2, skip 3 */
    networkLock?: number
    leaveRunning?: boolean
    configFile?: string
  }
  /** the service waits for another request after this one (CRIU allows it for VERSION) */
  keepOpen?: boolean
}

export interface CriuResponse {
  type: number
  success: boolean
  crErrno?: number
  crErrmsg?: string
  version?: {major: number; minor: number; sublevel?: number}
}

const VARINT = 0
const LEN = 2

export function encodeRequest(r: CriuRequest): Buffer {
  const out: Buffer[] = [field(1, VARINT), varint(r.type)]
  if (r.opts) {
    const o = r.opts
    const opts: Buffer[] = [field(1, VARINT), varint(o.imagesDirFd)]
    if (o.pid !== undefined) opts.push(field(2, VARINT), varint(o.pid))
    if (o.leaveRunning) opts.push(field(3, VARINT), varint(1))
    if (o.logLevel !== undefined) opts.push(field(9, VARINT), varint(o.logLevel))
    if (o.workDirFd !== undefined) opts.push(field(17, VARINT), varint(o.workDirFd))
    if (o.configFile !== undefined) opts.push(...bytes(51, Buffer.from(o.configFile)))
    if (o.networkLock !== undefined) opts.push(field(64, VARINT), varint(o.networkLock))
    out.push(...bytes(2, Buffer.concat(opts)))
  }
  if (r.keepOpen) out.push(field(4, VARINT), varint(1))
  return Buffer.concat(out)
}

export function decodeResponse(buf: Buffer): CriuResponse {
  const r: CriuResponse = {type: 0, success: false}
  for (const f of fields(buf)) {
    if (f.no === 1 && f.int !== undefined) r.type = f.int
    else if (f.no === 2 && f.int !== undefined) r.success = f.int !== 0
    else if (f.no === 7 && f.int !== undefined) r.crErrno = f.int
    else if (f.no === 9 && f.data) r.crErrmsg = f.data.toString()
    else if (f.no === 10 && f.data) {
      const v: {major: number; minor: number; sublevel?: number} = {major: 0, minor: 0}
      for (const g of fields(f.data)) {
        if (g.int === undefined) continue
        if (g.no === 1) v.major = g.int
        else if (g.no === 2) v.minor = g.int
        else if (g.no === 4) v.sublevel = g.int
      }
      r.version = v
    }
  }
  return r
}

const field = (no: number, wire: number): Buffer => varint(no * 8 + wire)

function bytes(no: number, data: Buffer): Buffer[] {
  return [field(no, LEN), varint(data.length), data]
}

/** A varint; negative numbers as protobuf's int32 has them: sign-extended to 64 bits (ten bytes). */
export function varint(n: number): Buffer {
  let v = BigInt.asUintN(64, BigInt(n))
  const out: number[] = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) b |= 0x80
    out.push(b)
  } while (v !== 0n)
  return Buffer.from(out)
}

interface Field {
  no: number
  /** varint fields, as int32 (two's complement) */
  int?: number
  /** length-delimited fields */
  data?: Buffer
}

function* fields(buf: Buffer): Generator<Field> {
  let i = 0
  const readVarint = (): bigint => {
    let v = 0n
    for (let shift = 0n; ; shift += 7n) {
      if (i >= buf.length) throw new Error('criu rpc: truncated varint')
      const b = buf[i++]
      v |= BigInt(b & 0x7f) << shift
      if (!(b & 0x80)) return v
    }
  }
  while (i < buf.length) {
    const key = Number(readVarint())
    const no = key >> 3
    const wire = key & 7
    if (wire === VARINT) {
      yield {no, int: Number(BigInt.asIntN(32, readVarint()))}
    } else if (wire === LEN) {
      const len = Number(readVarint())
      if (i + len > buf.length) throw new Error('criu rpc: truncated field')
      yield {no, data: buf.subarray(i, i + len)}
      i += len
    } else if (wire === 1) {
      i += 8
    } else if (wire === 5) {
      i += 4
    } else {
      throw new Error(`criu rpc: wire type ${wire} of field ${no}`)
    }
  }
}

export interface ServiceRequest {
  type: number
  pid?: number
  logLevel: number
  networkLock?: number
  /** also a request field: should CRIU ever fail to read the configuration file, the container still lives */
  leaveRunning?: boolean
  /** go as fds of the requester: CRIU 4.1 takes the images directory only that way */
  imagesDir: string
  workDir: string
  config: string
}

/**
 * criu's command line as an RPC request: `-t PID` and `-vN` become request fields, `-D`/`-W` directories passed as
 * fds, every `--option [value...]` a line of the configuration file. Undefined when something cannot go that way (a
 * verb other than dump, an unknown short option, a value CRIU's configuration parser would split or misread):
 * runCriu then spawns criu as usual.
 */
export function requestFromArgv(argv: string[]): ServiceRequest | undefined {
  if (argv[0] !== 'dump') return undefined
  let pid: number | undefined
  let logLevel = 2
  let networkLock: number | undefined
  let workDir: string | undefined
  let imagesDir: string | undefined
  const lines = configLines(argv, (a, value) => {
    if (a === '-t') pid = Number(value())
    else if (a === '-D') imagesDir = value()
    else if (a === '-W') workDir = value()
    else if (/^-v[0-4]$/.test(a)) logLevel = Number(a.slice(2))
    // CRIU 4.1 crashes (SIGSEGV) on network-lock in an RPC configuration file: it goes as the request's field
    else if (a === '--network-lock') {
      networkLock = NETWORK_LOCKS[value() ?? '']
      if (networkLock === undefined) return 'refused'
    }
    else return 'line'
    return 'taken'
  })
  if (!lines || pid === undefined || !Number.isInteger(pid) || pid <= 0 || !imagesDir) return undefined
  const leaveRunning = lines.includes('leave-running') || undefined
  return {type: REQ_DUMP, pid, logLevel, networkLock, leaveRunning, imagesDir, workDir: workDir ?? imagesDir, config: lines.join('\n') + '\n'}
}

/**
 * criu's options after its verb (argv[0]) as lines of a configuration file, which CRIU reads with its command-line
 * parser: `--option value...` becomes `option value...`. `take` sees each argument first: 'taken' when it used it
 * (and any value it asked for), 'refused' to give up, 'line' to make it a line. Undefined when something cannot go
 * in such a file: a short option `take` did not take, --config, a missing value, a word the parser would split or
 * misread.
 */
export function configLines(argv: string[], take: (arg: string, value: () => string | undefined, lines: string[]) => 'taken' | 'refused' | 'line'): string[] | undefined {
  const lines: string[] = []
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    const verdict = take(a, () => argv[++i], lines)
    if (verdict === 'refused') return undefined
    if (verdict === 'line') {
      if (a === '--config') return undefined // not inside a configuration file
      if (a.startsWith('--') && a.length > 2) lines.push(a.slice(2))
      else if (!a.startsWith('-') && lines.length) lines[lines.length - 1] += ` ${a}`
      else return undefined
    }
    if (argv[i] === undefined || !plainWord(argv[i])) return undefined
  }
  return lines
}

const NETWORK_LOCKS: Record<string, number> = {iptables: 1, nftables: 2, skip: 3}

/** A word CRIU's configuration parser reads back as it is: no white space, quotes, backslash or comment sign. */
export const plainWord = (w: string): boolean => w.length > 0 && !/[\s"'\\#]/.test(w)
