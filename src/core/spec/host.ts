// What the host offers that a config may ask for (AppArmor, SELinux, Intel RDT, namespace types) and
// checks of namespace files, probed lazily and cached; validate.ts decides what is an error.
import * as fs from 'node:fs'

export interface HostSupport {
  apparmor: boolean
  selinux: boolean
  intelRdt: boolean
  /** /proc/self/ns file names the kernel has (net, mnt, time, ...) */
  nsFiles: ReadonlySet<string>
}

/** Where each host feature shows; the paths also appear in error messages. */
export const HOST_PROBES = {
  apparmor: '/sys/kernel/security/apparmor',
  selinux: '/sys/fs/selinux',
  intelRdt: '/sys/fs/resctrl',
} as const

let cached: HostSupport | undefined

export function hostSupport(): HostSupport {
  return (cached ??= {
    apparmor: fs.existsSync(HOST_PROBES.apparmor),
    selinux: fs.existsSync(HOST_PROBES.selinux),
    // an empty /sys/fs/resctrl is only the mount point: RDT is usable when resctrl is mounted on it
    intelRdt: fs.existsSync(`${HOST_PROBES.intelRdt}/schemata`),
    nsFiles: readNsFiles(),
  })
}

function readNsFiles(): Set<string> {
  try {
    return new Set(fs.readdirSync('/proc/self/ns'))
  } catch {
    // no /proc: assume every type, the helper will report what really fails
    return new Set(['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'])
  }
}

export type NsPathCheck = {ok: true; dev: number; ino: number} | {ok: false; problem: string}

let nsfsDev: number | undefined

/**
 * Whether `p` is a namespace file one could setns(2) into: it must exist and live on nsfs (the same
 * device as our own /proc/self/ns files). Its type cannot be read without ioctl(NS_GET_NSTYPE), so a
 * network path given for "ipc" is left for setns to refuse.
 */
export function checkNsPath(p: string): NsPathCheck {
  let st: fs.Stats
  try {
    st = fs.statSync(p)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return {ok: false, problem: `${p} does not exist`}
    return {ok: false, problem: `${p} cannot be accessed (${code ?? String(err)})`}
  }
  if (nsfsDev === undefined) {
    try {
      nsfsDev = fs.statSync('/proc/self/ns/net').dev
    } catch {
      nsfsDev = -1
    }
  }
  if (nsfsDev !== -1 && st.dev !== nsfsDev) return {ok: false, problem: `${p} is not a namespace file`}
  return {ok: true, dev: st.dev, ino: st.ino}
}

/** Whether a namespace file is our own network namespace (runc's "host" = the current one). */
export function isOwnNamespace(check: NsPathCheck, nsFile: string): boolean {
  if (!check.ok) return false
  try {
    const own = fs.statSync(`/proc/self/ns/${nsFile}`)
    return own.dev === check.dev && own.ino === check.ino
  } catch {
    return false
  }
}

/** Whether the host (our network namespace) has an interface of this name. */
export function hostHasNetDevice(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`)
}
