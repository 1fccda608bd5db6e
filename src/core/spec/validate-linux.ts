// The linux.* half of validateSpec (plus hostname/domainname, which need a UTS namespace): namespaces and
// their paths, id mappings, sysctls, propagation, security modules, seccomp vocabulary, devices, time.
import * as path from 'node:path'
import {isNamespaceType, NAMESPACES, type NamespaceType} from '../namespaces'
import {propagationFlags} from '../mounts/options'
import {RUNTIME_SUPPORT, SECCOMP_ACTIONS, SECCOMP_ARCHS, SECCOMP_FLAGS, SECCOMP_OPERATORS} from '../features'
import {checkNsPath, HOST_PROBES, isOwnNamespace, type HostSupport, type NsPathCheck} from './host'
import {isObject, lsm, stringArray, uint, type Report} from './check'
import type {Spec} from './types'
import {checkNetDevices} from './validate-netdev'

interface NsEntry {
  index: number
  path?: string
  check?: NsPathCheck
}

type Linux = Record<string, unknown>

export function checkLinux(spec: Spec, opts: {rootless: boolean; host: HostSupport}, report: Report): void {
  if (spec.linux !== undefined && !isObject(spec.linux)) return report('linux', 'must be an object')
  const linux: Linux = (spec.linux ?? {}) as unknown as Linux
  const ns = checkNamespaces(linux.namespaces, opts.host, report)
  checkUserNamespace(linux, ns, opts.rootless, report)
  // runc falls back to chroot without one; ocirt's mounts and pivot_root would act on the host's own table
  if (!ns.has('mount')) report('linux.namespaces', 'a container needs a mount namespace (new or joined): add {"type": "mount"}')
  for (const field of ['hostname', 'domainname'] as const) {
    if (spec[field] && !ns.has('uts')) report(field, `unable to set ${field} without a private UTS namespace`)
  }
  for (const field of ['maskedPaths', 'readonlyPaths'] as const) {
    if (!stringArray(linux[field], `linux.${field}`, report)) continue
    if ((linux[field] as string[] | undefined)?.length && !ns.has('mount')) {
      report(`linux.${field}`, 'unable to restrict sys entries without a private MNT namespace')
    }
  }
  if (linux.sysctl !== undefined) checkSysctl(linux.sysctl, ns, report)
  const prop = linux.rootfsPropagation
  if (prop !== undefined && prop !== '' && (typeof prop !== 'string' || propagationFlags(prop) === undefined)) {
    report('linux.rootfsPropagation', `unsupported value ${JSON.stringify(prop)}`)
  }
  if (linux.mountLabel) lsm('linux.mountLabel', 'SELinux', opts.host.selinux, HOST_PROBES.selinux, RUNTIME_SUPPORT.selinux, report)
  if (linux.intelRdt !== undefined) checkIntelRdt(linux.intelRdt, opts.host, report)
  if (linux.seccomp !== undefined) checkSeccomp(linux.seccomp, report)
  if (linux.devices !== undefined) checkDevices(linux.devices, report)
  if (linux.timeOffsets !== undefined) checkTimeOffsets(linux.timeOffsets, ns, report)
  if (linux.netDevices !== undefined) {
    const net = ns.get('network')
    checkNetDevices(linux.netDevices, {netns: !net ? 'none' : net.path ? 'joined' : 'new', hostNetns: !!net?.check && isOwnNamespace(net.check, 'net'), rootless: opts.rootless}, report)
  }
  if (linux.personality !== undefined) {
    const domain = isObject(linux.personality) ? linux.personality.domain : undefined
    if (domain !== 'LINUX' && domain !== 'LINUX32') report('linux.personality.domain', `unknown domain ${JSON.stringify(domain)} (LINUX or LINUX32)`)
  }
}

function checkNamespaces(list: unknown, host: HostSupport, report: Report): Map<NamespaceType, NsEntry> {
  const seen = new Map<NamespaceType, NsEntry>()
  if (list === undefined) return seen
  if (!Array.isArray(list)) {
    report('linux.namespaces', 'must be an array')
    return seen
  }
  list.forEach((n: unknown, index) => {
    const where = `linux.namespaces[${index}]`
    if (!isObject(n)) return report(where, 'must be an object')
    if (!isNamespaceType(n.type)) return report(`${where}.type`, `unknown namespace ${JSON.stringify(n.type)}`)
    const first = seen.get(n.type)
    if (first) return report(`${where}.type`, `duplicate namespace "${n.type}" (also linux.namespaces[${first.index}])`)
    const entry: NsEntry = {index}
    seen.set(n.type, entry)
    if (!host.nsFiles.has(NAMESPACES[n.type].file)) report(`${where}.type`, `this kernel has no ${n.type} namespaces`)
    if (n.path === undefined || n.path === '') return
    if (typeof n.path !== 'string' || !path.isAbsolute(n.path)) {
      return report(`${where}.path`, `must be an absolute path, got ${JSON.stringify(n.path)}`)
    }
    entry.path = n.path
    entry.check = checkNsPath(n.path)
    if (!entry.check.ok) report(`${where}.path`, entry.check.problem)
  })
  return seen
}

function checkUserNamespace(linux: Linux, ns: Map<NamespaceType, NsEntry>, rootless: boolean, report: Report): void {
  const user = ns.get('user')
  if (rootless && !user) report('linux.namespaces', 'rootless container requires user namespaces')
  for (const field of ['uidMappings', 'gidMappings'] as const) {
    const maps = linux[field]
    const where = `linux.${field}`
    if (maps !== undefined && !Array.isArray(maps)) {
      report(where, 'must be an array')
      continue
    }
    // joining a user namespace by path takes that namespace's mappings; a new one needs its own
    if (user && !user.path && !(maps as unknown[] | undefined)?.length) {
      report(where, `a new user namespace needs ${field === 'uidMappings' ? 'uid' : 'gid'} mappings`)
    }
    ;(maps as unknown[] | undefined)?.forEach((m, i) => {
      if (!isObject(m)) return report(`${where}[${i}]`, 'must be an object')
      uint(m.containerID, `${where}[${i}].containerID`, report)
      uint(m.hostID, `${where}[${i}].hostID`, report)
      if (uint(m.size, `${where}[${i}].size`, report) && m.size === 0) report(`${where}[${i}].size`, 'must not be 0')
    })
  }
}

// sysctls the kernel keeps per IPC namespace (besides fs.mqueue.*)
const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax',
  'kernel.shmmni', 'kernel.shm_rmid_forced',
])

/** runc's rule: a sysctl may only be set inside a namespace of the container's own, never on the host. */
function checkSysctl(sysctl: unknown, ns: Map<NamespaceType, NsEntry>, report: Report): void {
  if (!isObject(sysctl)) return report('linux.sysctl', 'must be an object')
  for (const [key, value] of Object.entries(sysctl)) {
    const where = `linux.sysctl[${JSON.stringify(key)}]`
    if (typeof value !== 'string') report(where, 'must be a string')
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
      if (!ns.has('ipc')) report(where, `sysctl "${key}" is not allowed in the host's ipc namespace`)
    } else if (key.startsWith('net.')) {
      const net = ns.get('network')
      // "host" is the namespace ocirt runs in: no network namespace, or a path that leads back to ours
      if (!net || (net.check && isOwnNamespace(net.check, 'net'))) report(where, `sysctl "${key}" is not allowed in the host network namespace`)
    } else if (ns.has('uts') && key === 'kernel.hostname') {
      report(where, 'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field')
    } else if (!(ns.has('uts') && key === 'kernel.domainname')) {
      report(where, `sysctl "${key}" is not in a separate kernel namespace`)
    }
  }
}

const RDT_FIELDS = ['closID', 'l3CacheSchema', 'memBwSchema', 'schemata', 'enableCMT', 'enableMBM'] as const

function checkIntelRdt(rdt: unknown, host: HostSupport, report: Report): void {
  if (!isObject(rdt)) return report('linux.intelRdt', 'must be an object')
  for (const field of RDT_FIELDS) {
    const v = rdt[field]
    if (v === undefined || v === false || v === '' || (Array.isArray(v) && v.length === 0)) continue
    if (!host.intelRdt) report(`linux.intelRdt.${field}`, `Intel RDT is not enabled on this host (${HOST_PROBES.intelRdt} is not mounted)`)
    else if (!RUNTIME_SUPPORT.intelRdt) report(`linux.intelRdt.${field}`, 'ocirt does not support Intel RDT')
  }
}

function checkSeccomp(sc: unknown, report: Report): void {
  if (!isObject(sc)) return report('linux.seccomp', 'must be an object')
  if (!RUNTIME_SUPPORT.seccomp) report('linux.seccomp', 'ocirt was built without seccomp support')
  const known = (list: readonly string[], v: unknown, where: string, what: string): void => {
    if (typeof v !== 'string' || !list.includes(v)) report(where, `unknown ${what} ${JSON.stringify(v)}`)
  }
  known(SECCOMP_ACTIONS, sc.defaultAction, 'linux.seccomp.defaultAction', 'action')
  if (stringArray(sc.architectures, 'linux.seccomp.architectures', report)) {
    ;(sc.architectures as string[] | undefined)?.forEach((a, i) => known(SECCOMP_ARCHS, a, `linux.seccomp.architectures[${i}]`, 'architecture'))
  }
  if (stringArray(sc.flags, 'linux.seccomp.flags', report)) {
    ;(sc.flags as string[] | undefined)?.forEach((f, i) => known(SECCOMP_FLAGS, f, `linux.seccomp.flags[${i}]`, 'flag'))
  }
  if (sc.listenerPath !== undefined && typeof sc.listenerPath !== 'string') report('linux.seccomp.listenerPath', 'must be a string')
  if (sc.listenerMetadata !== undefined && typeof sc.listenerMetadata !== 'string') report('linux.seccomp.listenerMetadata', 'must be a string')
  else if (sc.listenerMetadata && !sc.listenerPath) report('linux.seccomp.listenerMetadata', 'must not be set without listenerPath')
  if (sc.syscalls === undefined) return
  if (!Array.isArray(sc.syscalls)) return report('linux.seccomp.syscalls', 'must be an array')
  sc.syscalls.forEach((s: unknown, i) => {
    const where = `linux.seccomp.syscalls[${i}]`
    if (!isObject(s)) return report(where, 'must be an object')
    if (!Array.isArray(s.names) || s.names.length === 0) report(`${where}.names`, 'must not be empty')
    else stringArray(s.names, `${where}.names`, report)
    known(SECCOMP_ACTIONS, s.action, `${where}.action`, 'action')
    if (s.args === undefined) return
    if (!Array.isArray(s.args)) return report(`${where}.args`, 'must be an array')
    s.args.forEach((a: unknown, j) => {
      if (!isObject(a)) return report(`${where}.args[${j}]`, 'must be an object')
      if (uint(a.index, `${where}.args[${j}].index`, report) && (a.index as number) > 5) report(`${where}.args[${j}].index`, 'must be 0 to 5')
      known(SECCOMP_OPERATORS, a.op, `${where}.args[${j}].op`, 'operator')
    })
  })
}

function checkDevices(devices: unknown, report: Report): void {
  if (!Array.isArray(devices)) return report('linux.devices', 'must be an array')
  devices.forEach((d: unknown, i) => {
    const where = `linux.devices[${i}]`
    if (!isObject(d)) return report(where, 'must be an object')
    if (typeof d.path !== 'string' || !path.isAbsolute(d.path)) report(`${where}.path`, `must be an absolute path, got ${JSON.stringify(d.path)}`)
    if (d.type !== 'c' && d.type !== 'b' && d.type !== 'u' && d.type !== 'p') return report(`${where}.type`, `unknown device type ${JSON.stringify(d.type)} (c, b, u or p)`)
    if (d.type !== 'p') for (const k of ['major', 'minor'] as const) uint(d[k], `${where}.${k}`, report)
  })
}

function checkTimeOffsets(offsets: unknown, ns: Map<NamespaceType, NsEntry>, report: Report): void {
  if (!isObject(offsets)) return report('linux.timeOffsets', 'must be an object')
  const time = ns.get('time')
  if (Object.keys(offsets).length > 0 && (!time || time.path)) report('linux.timeOffsets', 'time offsets need a new time namespace')
  for (const [clock, o] of Object.entries(offsets)) {
    const where = `linux.timeOffsets.${clock}`
    if (clock !== 'monotonic' && clock !== 'boottime') report(where, `unknown clock ${JSON.stringify(clock)} (monotonic or boottime)`)
    if (!isObject(o)) {
      report(where, 'must be an object')
      continue
    }
    if (o.secs !== undefined && !Number.isInteger(o.secs)) report(`${where}.secs`, 'must be an integer')
    if (o.nanosecs !== undefined && !(uint(o.nanosecs, `${where}.nanosecs`, report) && (o.nanosecs as number) < 1e9)) {
      if (Number.isInteger(o.nanosecs) && (o.nanosecs as number) >= 0) report(`${where}.nanosecs`, 'must be below 1000000000')
    }
  }
}
