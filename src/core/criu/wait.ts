// Waiting for a restored init in the foreground. CRIU restores it as our child (--restore-sibling) but libuv
// knows nothing of it, so Node cannot wait for it: wait4(pid, WNOHANG) through libc's syscall(), polled. Only
// this pid is waited for (never -1: that would steal libuv's children). Loaded only by a foreground restore.
import {loadLibc} from '../sys/libc'

const SYS_WAIT4: Partial<Record<NodeJS.Architecture, number>> = {x64: 61, arm64: 260, riscv64: 260}
const WNOHANG = 1
const ECHILD = 10
const EINTR = 4

export interface ChildExit {
  /** the exit status, or 128 + the signal that killed it (what a shell reports, and runc returns) */
  code: number
  signal?: number
}

/** Decodes a wait status: WIFEXITED → WEXITSTATUS, WIFSIGNALED → 128 + WTERMSIG. */
export function decodeWaitStatus(status: number): ChildExit {
  const sig = status & 0x7f
  if (sig === 0) return {code: (status >> 8) & 0xff}
  return {code: 128 + sig, signal: sig}
}

/** One non-blocking wait4: the exit when `pid` has ended, undefined while it runs. */
export function reapIfExited(pid: number): ChildExit | undefined {
  const nr = SYS_WAIT4[process.arch]
  if (nr === undefined) throw new Error(`waiting for a restored process is not implemented on ${process.arch}`)
  const {syscall, errno} = loadLibc()
  const status = Buffer.alloc(4)
  for (;;) {
    const rc = syscall(nr, 'int', pid, 'void *', status, 'int', WNOHANG, 'void *', null)
    if (rc === pid) return decodeWaitStatus(status.readInt32LE(0))
    if (rc === 0) return undefined
    const e = errno()
    if (e === EINTR) continue
    // not our child (any more): someone else reaped it; its status is lost
    if (e === ECHILD) return {code: 255}
    throw new Error(`wait4(${pid}) failed: errno ${e}`)
  }
}

/** Polls until `pid` exits (every `everyMs`, starting faster). */
export async function waitForChild(pid: number, everyMs = 50): Promise<ChildExit> {
  for (let i = 0; ; i++) {
    const exit = reapIfExited(pid)
    if (exit) return exit
    await new Promise((r) => setTimeout(r, Math.min(everyMs, 5 + i * 5)))
  }
}
