// pipe2(2), which Node does not offer: an in-process reader of an fd a child writes to (CRIU's --status-fd).
import {check, loadLibc} from './libc'

const O_CLOEXEC = 0o2000000
let pipe2: ((fds: number[], flags: number) => number) | undefined

/** Loads the binding (koffi: ~15 ms the first time, ~6 ms more to declare the function); makePipe calls it. A
 * migration makes its dump's pipe before the freeze (dump.ts prepareDump), so the freeze pays for none of it. */
function loadPipe(): void {
  if (pipe2) return
  pipe2 = loadLibc().lib.func('int pipe2(_Out_ int *fds, int flags)') as unknown as typeof pipe2
}

/** [read end, write end], both close-on-exec (hand the write end to a child through spawn's stdio). */
export function makePipe(): [number, number] {
  loadPipe()
  const fds = [-1, -1]
  check(pipe2!(fds, O_CLOEXEC), 'pipe2')
  return [fds[0], fds[1]]
}
