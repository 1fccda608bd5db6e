// Frames on the sync socket between ocirt and the C helper; the ids mirror native/proto.h.
//
//  ocirt (TS)                                  ocirt-init stage0 (C)          stage1 = container process (C)
//  spawn helper
//  PLAN ─────────────────────────────────────► join cgroups; rlimits; mkfifo; setns;
//                                              clone(CLONE_NEW* [|CLONE_PARENT]) ──► waits for GO
//  ◄──────────────────────────────────── PID   (detach: exit 0; else leave the cgroups, wait, mirror exit)
//  uid/gid maps
//  GO ──────────────────────────────────────────────────────────────────────► setsid, hostname, mounts,
//  ◄──────────────────────────────────────────────────────────────────────── HOOKS          devices
//  prestart, createRuntime, createContainer hooks
//  HOOKS_DONE(state) ───────────────────────────────────────────────────────► pivot_root, masks, caps, ids,
//  ◄─────────────────────────────────── CONSOLE(fd#) / SECCOMP_FD(fd#) → ACK  seccomp, path lookup
//  ◄──────────────────────────────────────────────────────────────────────── READY
//  create: save state, exit                                                   init: wait on exec fifo
//  start: read exec fifo ───────────────────────────────────────────────────► startContainer hooks, execve
//  at any point ◄── LOG(level, text)    ◄── ERROR(errno, step, message), then the helper exits 1
//
// The full description is docs/init-protocol.md.

export const FRAME = {
  PLAN: 1,
  PID: 2,
  GO: 3,
  HOOKS: 4,
  HOOKS_DONE: 5,
  CONSOLE: 6,
  ACK: 7,
  SECCOMP_FD: 8,
  READY: 9,
  LOG: 10,
  ERROR: 11,
} as const

export const LOG_LEVEL = {ERROR: 0, WARN: 1, INFO: 2, DEBUG: 3} as const

export const FRAME_HEADER_LEN = 8
export const FRAME_MAX_PAYLOAD = 16 << 20

export interface Frame {
  type: number
  payload: Buffer
}

export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(FRAME_HEADER_LEN)
  head.writeUInt16LE(type, 0)
  head.writeUInt16LE(0, 2)
  head.writeUInt32LE(payload.length, 4)
  return Buffer.concat([head, payload])
}

/** Accumulates bytes from the socket and yields whole frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    const frames: Frame[] = []
    while (this.buf.length >= FRAME_HEADER_LEN) {
      const len = this.buf.readUInt32LE(4)
      if (len > FRAME_MAX_PAYLOAD) throw new Error(`init helper sent an oversized frame (${len} bytes)`)
      if (this.buf.length < FRAME_HEADER_LEN + len) break
      frames.push({type: this.buf.readUInt16LE(0), payload: this.buf.subarray(FRAME_HEADER_LEN, FRAME_HEADER_LEN + len)})
      this.buf = this.buf.subarray(FRAME_HEADER_LEN + len)
    }
    return frames
  }
}

/** Splits NUL-terminated strings from a payload starting at `offset`. */
export function cstrings(buf: Buffer, offset = 0): string[] {
  const out: string[] = []
  let start = offset
  for (let i = offset; i < buf.length; i++) {
    if (buf[i] === 0) {
      out.push(buf.toString('utf8', start, i))
      start = i + 1
    }
  }
  if (start < buf.length) out.push(buf.toString('utf8', start))
  return out
}

export interface HelperError {
  errno: number
  step: string
  message: string
}

export function decodeError(payload: Buffer): HelperError {
  const errno = payload.length >= 4 ? payload.readUInt32LE(0) : 0
  const [step = 'init', message = ''] = cstrings(payload, 4)
  return {errno, step, message}
}
