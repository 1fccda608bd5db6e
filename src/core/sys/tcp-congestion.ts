// A TCP socket's congestion control (TCP_CONGESTION), which Node cannot get or set, and another process's TCP
// sockets on a port, found through its /proc entries.
import * as fs from 'node:fs'
import {check, loadLibc} from './libc'

const IPPROTO_TCP = 6
const TCP_CONGESTION = 13
/** TCP_CA_NAME_MAX */
const NAME_MAX = 16

type Fn = (...args: unknown[]) => number
let fns: {setsockopt: Fn; getsockopt: Fn} | undefined

function load(): NonNullable<typeof fns> {
  if (fns) return fns
  const {lib} = loadLibc()
  fns = {
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32 len)') as Fn,
    getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32 *len)') as Fn,
  }
  return fns
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

const TCP_ESTABLISHED = '01'
const TCP_LISTEN = '0A'

/**
 * The inodes of the TCP sockets on local `port` in `pid`'s network namespace, listening or connected
 * (/proc/<pid>/net/tcp and tcp6: the second column is local address:port in hex, the fourth the state, the tenth the
 * inode).
 */
export function localPortInodes(pid: number, port: number): Set<string> {
  const inodes = new Set<string>()
  for (const table of ['tcp', 'tcp6']) {
    let text: string
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
    } catch {
      continue // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10 || (f[3] !== TCP_LISTEN && f[3] !== TCP_ESTABLISHED)) continue
      if (Number.parseInt(f[1].slice(f[1].lastIndexOf(':') + 1), 16) === port) inodes.add(f[9])
    }
  }
  return inodes
}

/** `pid`'s file descriptors that are one of these socket inodes. */
export function fdsOfSockets(pid: number, inodes: Set<string>): number[] {
  const fds: number[] = []
  for (const name of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target: string
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${name}`)
    } catch {
      continue // closed since
    }
    const m = /^socket:\[(\d+)\]$/.exec(target)
    if (m && inodes.has(m[1])) fds.push(Number(name))
  }
  return fds
}
