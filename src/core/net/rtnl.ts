// rtnetlink messages as bytes: the few requests netDevices needs (list links and addresses, move a link into
// another network namespace under a new name, set it up, add an address) and the parsing of the answers. Pure:
// the socket lives in ../sys/netlink.ts.

export const RTM = {NEWLINK: 16, GETLINK: 18, NEWADDR: 20, GETADDR: 22} as const
export const NLM_F = {REQUEST: 0x1, ACK: 0x4, EXCL: 0x200, DUMP: 0x300, CREATE: 0x400} as const
export const NLMSG = {ERROR: 2, DONE: 3} as const
const IFLA = {IFNAME: 3, NET_NS_FD: 28} as const
export const IFA = {ADDRESS: 1, LOCAL: 2, BROADCAST: 4, FLAGS: 8} as const
export const IFF_UP = 0x1
export const IFA_F_PERMANENT = 0x80
export const RT_SCOPE_UNIVERSE = 0

const NLMSG_HDRLEN = 16
const align4 = (n: number) => (n + 3) & ~3

export interface Link {
  index: number
  name: string
  flags: number
}

/** An address as the kernel reports it; `attrs` keeps the raw IFA_* payloads needed to add it again. */
export interface Address {
  family: number
  prefixlen: number
  scope: number
  index: number
  /** ifa_flags, widened by IFA_FLAGS when present */
  flags: number
  attrs: Map<number, Buffer>
}

function attr(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(align4(4 + payload.length))
  b.writeUInt16LE(4 + payload.length, 0)
  b.writeUInt16LE(type, 2)
  payload.copy(b, 4)
  return b
}

const u32 = (v: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(v >>> 0)
  return b
}
const cstr = (s: string) => Buffer.from(s + '\0')

function message(type: number, flags: number, seq: number, body: Buffer[]): Buffer {
  const payload = Buffer.concat(body)
  const head = Buffer.alloc(NLMSG_HDRLEN)
  head.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0)
  head.writeUInt16LE(type, 4)
  head.writeUInt16LE(flags, 6)
  head.writeUInt32LE(seq, 8)
  return Buffer.concat([head, payload])
}

function ifinfomsg(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16)
  b.writeInt32LE(index, 4)
  b.writeUInt32LE(flags, 8)
  b.writeUInt32LE(change, 12)
  return b
}

export function dumpLinksRequest(seq: number): Buffer {
  return message(RTM.GETLINK, NLM_F.REQUEST | NLM_F.DUMP, seq, [ifinfomsg(0)])
}

export function dumpAddressesRequest(seq: number): Buffer {
  return message(RTM.GETADDR, NLM_F.REQUEST | NLM_F.DUMP, seq, [Buffer.alloc(8)])
}

/** RTM_NEWLINK on an existing link: into the namespace of `netnsFd`, named `name` there (a "%d" template allowed). */
export function moveLinkRequest(seq: number, index: number, netnsFd: number, name: string): Buffer {
  return message(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK, seq, [ifinfomsg(index), attr(IFLA.NET_NS_FD, u32(netnsFd)), attr(IFLA.IFNAME, cstr(name))])
}

export function setUpRequest(seq: number, index: number): Buffer {
  return message(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK, seq, [ifinfomsg(index, IFF_UP, IFF_UP)])
}

// the attributes that say which address it is; cache info, labels (named after the old device) and flags are
// the kernel's to set again
const ADDRESS_ATTRS = [IFA.ADDRESS, IFA.LOCAL, IFA.BROADCAST]

export function addAddressRequest(seq: number, a: Address, index: number): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt8(a.family, 0)
  head.writeUInt8(a.prefixlen, 1)
  head.writeUInt8(a.scope, 3)
  head.writeUInt32LE(index, 4)
  const attrs = ADDRESS_ATTRS.filter((t) => a.attrs.has(t)).map((t) => attr(t, a.attrs.get(t)!))
  return message(RTM.NEWADDR, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq, [head, ...attrs])
}

export interface Reply {
  type: number
  seq: number
  /** the payload after the netlink header */
  body: Buffer
}

/** Splits a datagram into its netlink messages. */
export function splitReplies(buf: Buffer): Reply[] {
  const out: Reply[] = []
  for (let at = 0; at + NLMSG_HDRLEN <= buf.length;) {
    const len = buf.readUInt32LE(at)
    if (len < NLMSG_HDRLEN || at + len > buf.length) break
    out.push({type: buf.readUInt16LE(at + 4), seq: buf.readUInt32LE(at + 8), body: buf.subarray(at + NLMSG_HDRLEN, at + len)})
    at += align4(len)
  }
  return out
}

/** NLMSG_ERROR's errno (0 is the ACK). */
export function replyErrno(r: Reply): number {
  return -r.body.readInt32LE(0)
}

function attrs(buf: Buffer, from: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>()
  for (let at = from; at + 4 <= buf.length;) {
    const len = buf.readUInt16LE(at)
    if (len < 4 || at + len > buf.length) break
    out.set(buf.readUInt16LE(at + 2) & 0x3fff, buf.subarray(at + 4, at + len))
    at += align4(len)
  }
  return out
}

export function parseLink(body: Buffer): Link {
  const name = attrs(body, 16).get(IFLA.IFNAME)
  return {
    index: body.readInt32LE(4),
    flags: body.readUInt32LE(8),
    name: name ? name.subarray(0, name.indexOf(0) < 0 ? name.length : name.indexOf(0)).toString() : '',
  }
}

export function parseAddress(body: Buffer): Address {
  const a = attrs(body, 8)
  const wide = a.get(IFA.FLAGS)
  return {
    family: body.readUInt8(0),
    prefixlen: body.readUInt8(1),
    scope: body.readUInt8(3),
    index: body.readUInt32LE(4),
    flags: body.readUInt8(2) | (wide ? wide.readUInt32LE(0) : 0),
    attrs: a,
  }
}

/** What the spec asks to keep across the move: permanent addresses of global scope, of any family. */
export function isKept(a: Address): boolean {
  return a.scope === RT_SCOPE_UNIVERSE && (a.flags & IFA_F_PERMANENT) !== 0
}
