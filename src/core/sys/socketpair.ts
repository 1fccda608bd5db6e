// socketpair(2), which Node does not offer as two plain fds: one end stays here (wrapped as a net.Socket), the other
// is handed to a child through spawn's stdio (CRIU's --ps-socket: its page-server connection, carried by ocirt).
import {check, loadLibc} from './libc'

const AF_UNIX = 1
const SOCK_STREAM = 1
const SOCK_SEQPACKET = 5
const SOCK_CLOEXEC = 0o2000000
let socketpair: ((domain: number, type: number, protocol: number, fds: number[]) => number) | undefined

/** Loads the binding (koffi: ~15 ms the first time); makeSocketPair calls it. A migration makes its pairs before
 * the freeze (dump.ts prepareDump, the criu swrk's socket). */
function loadSocketPair(): void {
  if (socketpair) return
  socketpair = loadLibc().lib.func('int socketpair(int domain, int type, int protocol, _Out_ int *fds)') as unknown as typeof socketpair
}

/**
 * Two connected AF_UNIX sockets, stream (or seqpacket: CRIU's RPC), both close-on-exec (spawn's stdio dup2 clears
 * it on the child's copy).
 */
export function makeSocketPair(kind: 'stream' | 'seqpacket' = 'stream'): [number, number] {
  loadSocketPair()
  const fds = [-1, -1]
  check(socketpair!(AF_UNIX, (kind === 'seqpacket' ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, fds), 'socketpair')
  return [fds[0], fds[1]]
}
