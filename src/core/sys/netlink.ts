// The libc calls of a netlink socket (socket, send, recv) and setns, through koffi; ../net/socket.ts uses them.
import {loadLibc} from './libc'

type Fn = (...args: unknown[]) => number

export interface NetlinkCalls {
  socket: Fn
  send: Fn
  recv: Fn
  setns: Fn
}

let calls: NetlinkCalls | undefined

export function netlinkCalls(): NetlinkCalls {
  if (calls) return calls
  const {lib} = loadLibc()
  calls = {
    socket: lib.func('int socket(int, int, int)') as Fn,
    send: lib.func('long send(int, const void *, size_t, int)') as Fn,
    recv: lib.func('long recv(int, void *, size_t, int)') as Fn,
    setns: lib.func('int setns(int, int)') as Fn,
  }
  return calls
}
