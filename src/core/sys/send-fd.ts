// Sending a file descriptor to a unix socket path with SCM_RIGHTS, which Node cannot do on its own. Used for
// the seccomp listener, which goes to the agent at linux.seccomp.listenerPath together with a JSON message.
import * as fs from 'node:fs'
import {check, loadLibc} from './libc'

const AF_UNIX = 1
const SOCK_STREAM = 1
const SOCK_CLOEXEC = 0o2000000
const SOL_SOCKET = 1
const SCM_RIGHTS = 1
const SUN_PATH_MAX = 108

type Fn = (...args: unknown[]) => number
let fns: {socket: Fn; connect: Fn; sendmsg: Fn} | undefined

function load(): NonNullable<typeof fns> {
  if (fns) return fns
  const {koffi, lib} = loadLibc()
  koffi.struct('ocirt_iovec', {iov_base: 'void *', iov_len: 'size_t'})
  koffi.struct('ocirt_msghdr', {
    msg_name: 'void *', msg_namelen: 'uint32', msg_iov: 'ocirt_iovec *', msg_iovlen: 'size_t',
    msg_control: 'void *', msg_controllen: 'size_t', msg_flags: 'int',
  })
  fns = {
    socket: lib.func('int socket(int domain, int type, int protocol)') as Fn,
    connect: lib.func('int connect(int fd, const void *addr, uint32 len)') as Fn,
    sendmsg: lib.func('long sendmsg(int fd, const ocirt_msghdr *msg, int flags)') as Fn,
  }
  return fns
}

function sockaddrUn(socketPath: string): Buffer {
  const name = Buffer.from(socketPath)
  if (name.length >= SUN_PATH_MAX) throw Object.assign(new Error(`socket path longer than ${SUN_PATH_MAX - 1} bytes: ${socketPath}`), {code: 'ENAMETOOLONG'})
  const addr = Buffer.alloc(2 + SUN_PATH_MAX)
  addr.writeUInt16LE(AF_UNIX, 0)
  name.copy(addr, 2)
  return addr
}

/** One cmsghdr carrying one fd: cmsg_len (size_t), cmsg_level, cmsg_type, the fd, padded to CMSG_SPACE(4). */
function rightsMessage(fd: number): Buffer {
  const cmsg = Buffer.alloc(24)
  cmsg.writeBigUInt64LE(20n, 0)
  cmsg.writeInt32LE(SOL_SOCKET, 8)
  cmsg.writeInt32LE(SCM_RIGHTS, 12)
  cmsg.writeInt32LE(fd, 16)
  return cmsg
}

/** Connects to the stream socket at `socketPath` and sends `data` with `fd` attached in one sendmsg. */
export function sendFdToSocket(socketPath: string, fd: number, data: Buffer): void {
  const {socket, connect, sendmsg} = load()
  const addr = sockaddrUn(socketPath)
  const sock = check(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 'socket')
  try {
    check(connect(sock, addr, addr.length), `connect ${socketPath}`)
    const control = rightsMessage(fd)
    const sent = check(sendmsg(sock, {
      msg_name: null, msg_namelen: 0,
      msg_iov: {iov_base: data, iov_len: data.length}, msg_iovlen: 1,
      msg_control: control, msg_controllen: control.length, msg_flags: 0,
    }, 0), `sendmsg ${socketPath}`)
    if (sent !== data.length) throw Object.assign(new Error(`sendmsg ${socketPath}: sent ${sent} of ${data.length} bytes`), {code: 'EIO'})
  } finally {
    fs.closeSync(sock)
  }
}
