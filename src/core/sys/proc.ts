// pidfd calls: fetch a file descriptor out of another process (the pty master the helper opened inside the
// container's devpts), without a unix-socket fd-passing protocol.
import * as fs from 'node:fs'
import {check, loadLibc} from './libc'

const SYS_pidfd_open = 434
const SYS_pidfd_getfd = 438

export function pidfdOpen(pid: number): number {
  const {syscall} = loadLibc()
  return check(syscall(SYS_pidfd_open, 'int', pid, 'uint', 0), 'pidfd_open')
}

/** Duplicates fd `targetFd` of process `pid` into this process (needs ptrace rights over it: same user or root). */
export function getFdOf(pid: number, targetFd: number): number {
  const pidfd = pidfdOpen(pid)
  try {
    const {syscall} = loadLibc()
    return check(syscall(SYS_pidfd_getfd, 'int', pidfd, 'int', targetFd, 'uint', 0), 'pidfd_getfd')
  } finally {
    fs.closeSync(pidfd)
  }
}

/** The pids of this process's children (of every thread: /proc/self/task/<tid>/children). */
export function ownChildren(): number[] {
  const pids: number[] = []
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      for (const p of fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (p) pids.push(Number(p))
    } catch {
      // the thread ended
    }
  }
  return pids
}
