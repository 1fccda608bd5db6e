// linux.netDevices: move host interfaces into the container's network namespace at create, as the spec asks:
// under the new name, keeping their permanent global addresses, and up. Returns how to move them back, which
// create uses only when it fails; on delete the spec leaves them to the namespace (MUST NOT move them out):
// when it goes, the kernel returns physical devices to the host and destroys virtual ones.
// Loaded only for configs that have netDevices.
import * as fs from 'node:fs'
import * as os from 'node:os'
import {OcirtError} from '../errors'
import type {LinuxNetDevice} from '../spec/types'
import {RtnlSocket} from './socket'
import {addAddressRequest, dumpAddressesRequest, dumpLinksRequest, IFF_UP, isKept, moveLinkRequest, parseAddress,
  parseLink, setUpRequest, type Address, type Link} from './rtnl'

type Ctx = {verb: string; id: string}

interface Moved {
  hostName: string
  /** its name and index in the container's namespace */
  name: string
  index: number
  wasUp: boolean
  addresses: Address[]
}

const errnoName = (errno: number) => Object.entries(os.constants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`

/** Moves every device; on a failure the ones already moved go back before the error is thrown. */
export function moveNetDevices(devices: Record<string, LinuxNetDevice>, netnsPath: string, ctx: Ctx): () => void {
  const host = RtnlSocket.open()
  const moved: Moved[] = []
  let inside: RtnlSocket | undefined
  try {
    inside = RtnlSocket.open(netnsPath)
    const hostLinks = links(host)
    const addresses = host.dump(dumpAddressesRequest(host.nextSeq())).map(parseAddress)
    for (const [hostName, dev] of Object.entries(devices)) {
      const field = `linux.netDevices[${JSON.stringify(hostName)}]`
      const link = hostLinks.find((l) => l.name === hostName)
      if (!link) throw fail(ctx, field, `the host has no network device ${JSON.stringify(hostName)}`)
      moveOne(host, inside, link, dev.name || hostName, addresses.filter((a) => a.index === link.index && isKept(a)), {netnsPath, field, ctx, moved})
    }
    return () => moveBack(moved, netnsPath, ctx)
  } catch (err) {
    if (moved.length) {
      try {
        moveBack(moved, netnsPath, ctx)
      } catch {
        // the first error is the one to report
      }
    }
    throw err
  } finally {
    host.close()
    inside?.close()
  }
}

function moveOne(host: RtnlSocket, inside: RtnlSocket, link: Link, name: string, addresses: Address[], o: {netnsPath: string; field: string; ctx: Ctx; moved: Moved[]}): void {
  const {netnsPath, field, ctx} = o
  const present = links(inside)
  const taken = () => fail(ctx, field, `a network device named ${JSON.stringify(name)} already exists in the container's network namespace`)
  // checked first: the kernel (6.x) may move the device under its old name and only then refuse the new one
  if (!name.includes('%d') && present.some((l) => l.name === name)) throw taken()
  const before = new Set(present.map((l) => l.index))
  const nsFd = fs.openSync(netnsPath, 'r')
  let errno: number
  try {
    errno = host.request(moveLinkRequest(host.nextSeq(), link.index, nsFd, name))
  } finally {
    fs.closeSync(nsFd)
  }
  const arrived = links(inside).find((l) => !before.has(l.index))
  // recorded before anything else can fail: whatever arrived must go back if create fails
  if (arrived) o.moved.push({hostName: link.name, name: arrived.name, index: arrived.index, wasUp: (link.flags & IFF_UP) !== 0, addresses})
  if (errno === os.constants.errno.EEXIST) throw taken()
  if (errno) throw fail(ctx, field, `cannot move ${JSON.stringify(link.name)} into the container's network namespace: ${errnoName(errno)}`)
  if (!arrived) throw fail(ctx, field, `${JSON.stringify(link.name)} did not arrive in the container's network namespace`)
  configure(inside, arrived.index, addresses, (what, e) => fail(ctx, field, `${what} of ${JSON.stringify(arrived.name)} in the container: ${errnoName(e)}`))
}

/** The addresses the move dropped, then the link up (the spec: "MUST set the network device state to up"). */
function configure(sock: RtnlSocket, index: number, addresses: Address[], failure: (what: string, errno: number) => Error, up = true): void {
  for (const a of addresses) {
    const e = sock.request(addAddressRequest(sock.nextSeq(), a, index))
    if (e && e !== os.constants.errno.EEXIST) throw failure('restoring an address', e)
  }
  if (!up) return
  const e = sock.request(setUpRequest(sock.nextSeq(), index))
  if (e) throw failure('setting the link up', e)
}

/** Back to the host, under the host name, with the addresses and state it had (a failed create only). */
function moveBack(moved: Moved[], netnsPath: string, ctx: Ctx): void {
  const host = RtnlSocket.open()
  const inside = RtnlSocket.open(netnsPath)
  const hostNs = fs.openSync('/proc/thread-self/ns/net', 'r')
  const problems: string[] = []
  try {
    for (const m of moved.splice(0).reverse()) {
      const e = inside.request(moveLinkRequest(inside.nextSeq(), m.index, hostNs, m.hostName))
      if (e) {
        problems.push(`${m.name} → ${m.hostName}: ${errnoName(e)}`)
        continue
      }
      const back = links(host).find((l) => l.name === m.hostName)
      if (!back) continue
      try {
        configure(host, back.index, m.addresses, (what, errno) => new Error(`${what} of ${m.hostName}: ${errnoName(errno)}`), m.wasUp)
      } catch (err) {
        problems.push((err as Error).message)
      }
    }
  } finally {
    fs.closeSync(hostNs)
    host.close()
    inside.close()
  }
  if (problems.length) throw new OcirtError(`cannot return network devices to the host: ${problems.join('; ')}`, {...ctx, step: 'move network devices back'})
}

function links(sock: RtnlSocket): Link[] {
  return sock.dump(dumpLinksRequest(sock.nextSeq())).map(parseLink)
}

function fail(ctx: Ctx, field: string, detail: string): OcirtError {
  return new OcirtError(`${field}: ${detail}`, {...ctx, step: 'move network devices'})
}
