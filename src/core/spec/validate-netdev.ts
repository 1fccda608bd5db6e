// linux.netDevices (OCI 1.2): host interfaces moved into the container's network namespace. Checked before
// anything is created: the names (the kernel's rules), that each exists on the host, that the new names do not
// clash, and that there is a network namespace of the container's own to move them into.
import {isObject, type Report} from './check'
import {hostHasNetDevice} from './host'

/** IFNAMSIZ - 1 */
const IFNAME_MAX = 15

/** The kernel's dev_valid_name(): 1-15 bytes, not "." or "..", no "/", ":" or white space. */
export function ifnameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty'
  if (Buffer.byteLength(name) > IFNAME_MAX) return `${JSON.stringify(name)} is longer than ${IFNAME_MAX} bytes`
  if (name === '.' || name === '..') return `${JSON.stringify(name)} is not a valid interface name`
  if (/[/:\s]/.test(name)) return `${JSON.stringify(name)} contains "/", ":" or white space`
  return undefined
}

export interface NetDevicesContext {
  /** the container's network namespace: none (the host's), a joined one, or a new one */
  netns: 'none' | 'joined' | 'new'
  /** a joined path that is our own network namespace */
  hostNetns: boolean
  rootless: boolean
}

export function checkNetDevices(devices: unknown, ctx: NetDevicesContext, report: Report): void {
  const where = 'linux.netDevices'
  if (!isObject(devices)) return report(where, 'must be an object (host interface name → {name})')
  if (Object.keys(devices).length === 0) return
  if (ctx.netns === 'none' || ctx.hostNetns) {
    report(where, 'network devices can only be moved into a network namespace of the container\'s own: add {"type": "network"}')
  }
  if (ctx.rootless) report(where, 'a rootless container cannot move host network devices')
  const taken = new Map<string, string>()
  // a new network namespace holds only its loopback device
  if (ctx.netns === 'new') taken.set('lo', 'the loopback device of the new network namespace')
  for (const [hostName, dev] of Object.entries(devices)) {
    const at = `${where}[${JSON.stringify(hostName)}]`
    const bad = ifnameProblem(hostName)
    if (bad) report(at, `host interface name ${bad}`)
    else if (!hostHasNetDevice(hostName)) report(at, `the host has no network device ${JSON.stringify(hostName)}`)
    if (!isObject(dev)) {
      report(at, 'must be an object')
      continue
    }
    if (dev.name !== undefined && typeof dev.name !== 'string') {
      report(`${at}.name`, 'must be a string')
      continue
    }
    const name = (dev.name as string | undefined) || hostName
    const nameProblem = dev.name ? ifnameProblem(name) : undefined
    if (nameProblem) report(`${at}.name`, nameProblem)
    // a template ("eth%d") gets a free number from the kernel: it cannot clash
    if (nameProblem || name.includes('%d')) continue
    const other = taken.get(name)
    if (other) report(dev.name ? `${at}.name` : at, `the name ${JSON.stringify(name)} inside the container is already taken by ${other}`)
    else taken.set(name, at)
  }
}
