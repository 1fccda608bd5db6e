// A NETLINK_ROUTE socket, in our network namespace or in another one: a netlink socket belongs to the network
// namespace its creator was in, so for another namespace this thread enters it just for socket(2) and returns.
// setns(CLONE_NEWNET) moves only the calling thread and nothing else runs on it meanwhile (synchronous code).
import * as fs from 'node:fs'
import {OcirtError} from '../errors'
import {check} from '../sys/libc'
import {netlinkCalls} from '../sys/netlink'
import {NLMSG, replyErrno, splitReplies, type Reply} from './rtnl'

const AF_NETLINK = 16
const SOCK_RAW = 3
const SOCK_CLOEXEC = 0o2000000
const NETLINK_ROUTE = 0
const CLONE_NEWNET = 0x40000000

export class RtnlSocket {
  private seq = Math.floor(Date.now() / 1000)
  private readonly buf = Buffer.alloc(1 << 16)

  private constructor(readonly fd: number) {}

  /** A socket in our network namespace, or in the one at `netnsPath`. */
  static open(netnsPath?: string): RtnlSocket {
    const c = netlinkCalls()
    const make = () => check(c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), 'socket(AF_NETLINK)')
    if (!netnsPath) return new RtnlSocket(make())
    const own = fs.openSync('/proc/thread-self/ns/net', 'r')
    try {
      const target = fs.openSync(netnsPath, 'r')
      try {
        check(c.setns(target, CLONE_NEWNET), `setns ${netnsPath}`)
      } finally {
        fs.closeSync(target)
      }
      try {
        return new RtnlSocket(make())
      } finally {
        // staying in the container's namespace would be far worse than failing loudly
        if (c.setns(own, CLONE_NEWNET) < 0) throw new OcirtError('cannot return to our own network namespace after opening a netlink socket', {step: 'setns'})
      }
    } finally {
      fs.closeSync(own)
    }
  }

  nextSeq(): number {
    return ++this.seq
  }

  private send(msg: Buffer): void {
    const n = netlinkCalls().send(this.fd, msg, msg.length, 0)
    check(n < 0 ? n : 0, 'send(netlink)')
  }

  private *replies(seq: number): Generator<Reply> {
    for (;;) {
      const n = check(netlinkCalls().recv(this.fd, this.buf, this.buf.length, 0), 'recv(netlink)')
      for (const r of splitReplies(this.buf.subarray(0, n))) if (r.seq === seq) yield r
    }
  }

  /** Sends a request with NLM_F_ACK; resolves to 0 or the errno the kernel refused it with. */
  request(msg: Buffer): number {
    const seq = msg.readUInt32LE(8)
    this.send(msg)
    for (const r of this.replies(seq)) if (r.type === NLMSG.ERROR) return replyErrno(r)
    return 0
  }

  /** Sends a dump request; the bodies of its messages until NLMSG_DONE. */
  dump(msg: Buffer): Buffer[] {
    const seq = msg.readUInt32LE(8)
    const out: Buffer[] = []
    this.send(msg)
    for (const r of this.replies(seq)) {
      if (r.type === NLMSG.DONE) break
      if (r.type === NLMSG.ERROR) {
        const errno = replyErrno(r)
        if (errno) throw new OcirtError(`netlink dump failed: errno ${errno}`, {step: 'netlink'})
        break
      }
      out.push(Buffer.from(r.body))
    }
    return out
  }

  close(): void {
    fs.closeSync(this.fd)
  }
}
