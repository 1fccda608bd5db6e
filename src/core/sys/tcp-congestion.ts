// A TCP socket's congestion control (TCP_CONGESTION), which Node cannot get or set, and what a socket descriptor is
// (TCP? on which local port?), for descriptors copied out of another process (proc.ts getFdOf).
import * as fs from 'node:fs'
import {check, loadLibc} from './libc'

const IPPROTO_TCP = 6
const TCP_CONGESTION = 13
const SOL_SOCKET = 1
const SO_PROTOCOL = 38
const AF_INET = 2
const AF_INET6 = 10
/** TCP_CA_NAME_MAX */
const NAME_MAX = 16
/** sizeof(struct sockaddr_storage) */
const SOCKADDR_MAX = 128

type Fn = (...args: unknown[]) => number
let fns: {setsockopt: Fn; getsockopt: Fn; getsockname: Fn} | undefined

function load(): NonNullable<typeof fns> {
  if (fns) return fns
  const {lib} = loadLibc()
  fns = {
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32 len)') as Fn,
    getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32 *len)') as Fn,
    getsockname: lib.func('int getsockname(int fd, _Out_ void *addr, _Inout_ uint32 *len)') as Fn,
  }
  return fns
}

/** Declares the libc calls now (~2 ms of koffi's), so that the first use costs only the calls. */
export function prepareTcpCongestion(): void {
  load()
}

/** Sets the socket's congestion control algorithm (one of /proc/sys/net/ipv4/tcp_available_congestion_control). */
export function setTcpCongestion(fd: number, algorithm: string): void {
  const name = Buffer.from(algorithm)
  if (name.length === 0 || name.length >= NAME_MAX) throw new Error(`not a congestion control name: ${JSON.stringify(algorithm)}`)
  check(load().setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, name.length), `setsockopt(TCP_CONGESTION, ${algorithm})`)
}

export function getTcpCongestion(fd: number): string {
  const value = Buffer.alloc(NAME_MAX)
  const len = [NAME_MAX]
  check(load().getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, value, len), 'getsockopt(TCP_CONGESTION)')
  const end = value.indexOf(0)
  return value.subarray(0, end < 0 ? len[0] : Math.min(end, len[0])).toString()
}

/** The local port of a TCP socket over IPv4 or IPv6; undefined for any other descriptor. */
export function tcpLocalPort(fd: number): number | undefined {
  const {getsockopt, getsockname} = load()
  const proto = Buffer.alloc(4)
  if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, proto, [4]) !== 0 || proto.readInt32LE(0) !== IPPROTO_TCP) return undefined
  const addr = Buffer.alloc(SOCKADDR_MAX)
  if (getsockname(fd, addr, [SOCKADDR_MAX]) !== 0) return undefined
  const family = addr.readUInt16LE(0)
  // sin_port and sin6_port: the same place, network order
  return family === AF_INET || family === AF_INET6 ? addr.readUInt16BE(2) : undefined
}

/** `pid`'s descriptors that are sockets (from /proc/<pid>/fd). */
export function socketFdsOf(pid: number): number[] {
  const fds: number[] = []
  for (const name of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${name}`).startsWith('socket:')) fds.push(Number(name))
    } catch {
      // closed since
    }
  }
  return fds
}
