// What CRIU must be told about a container, worked out from the spec and from facts read off /proc: the mounts
// it cannot dump itself (external: bind mounts, masked files, device binds, v1 cgroup binds), the open files
// of the init that come from outside the container (its stdio), and the cgroup roots of a restore. Pure: the
// callers read /proc and pass the text in; the unit tests feed fixtures.
import * as path from 'node:path'
import {InvalidInput, type ErrorContext} from '../errors'
import type {Spec} from '../spec/types'
import {DEFAULT_DEVICES} from '../mounts/devices'
import type {CgroupMount} from '../cgroups/paths'
import type {CgroupRoot, ExtMount, InheritFd} from './args'
import {parseSkeletonKey, skeletonKey, type TmpfsSkeleton} from './tmpfs-skeleton'

/** What the planners need to know about the container's cgroups (recorded in state.json at create). */
export interface CgroupView {
  version: 'v1' | 'v2'
  /** controller → host directory ('' = cgroup2 / the unified hierarchy) */
  paths: Record<string, string>
}

const CGROUP_FS_ROOT = '/sys/fs/cgroup'

function isBind(m: {type?: string; options?: string[]}): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')
}

function hasCgroupNs(spec: Spec): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === 'cgroup')
}

/** A mount point as CRIU names it: absolute, normalized, relative to the container's root. */
function mountPoint(dest: string): string {
  const p = path.posix.normalize(path.posix.join('/', dest))
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p
}

/** The external mounts of a container, as mount point → host source (the cgroup binds of a v1 cgroup mount included). */
export function externalMounts(spec: Spec, bundle: string, cgroup: CgroupView): {point: string; source: string}[] {
  const out: {point: string; source: string}[] = []
  for (const m of spec.mounts ?? []) {
    if (isBind(m)) {
      out.push({point: mountPoint(m.destination), source: path.resolve(bundle, m.source ?? '')})
    } else if (m.type === 'cgroup' && !hasCgroupNs(spec)) {
      // without a cgroup namespace ocirt shows the container its host cgroup directories through bind mounts
      // (cgroup-mount.ts): v2 one bind at the destination, v1 one per hierarchy below a tmpfs
      const dest = mountPoint(m.destination)
      if (cgroup.version === 'v2') {
        if (cgroup.paths['']) out.push({point: dest, source: cgroup.paths['']})
        continue
      }
      const seen = new Set<string>()
      for (const dir of Object.values(cgroup.paths)) {
        const hierarchy = path.relative(CGROUP_FS_ROOT, dir).split('/')[0]
        if (!hierarchy || hierarchy.startsWith('..') || seen.has(hierarchy)) continue
        seen.add(hierarchy)
        out.push({point: path.posix.join(dest, hierarchy), source: dir})
      }
    }
  }
  // device nodes are bind-mounted from the host when the container has its own user namespace (devices.ts)
  if ((spec.linux?.namespaces ?? []).some((n) => n.type === 'user')) {
    const devices = new Set([...DEFAULT_DEVICES.map((d) => d.path), ...(spec.linux?.devices ?? []).map((d) => d.path)])
    for (const d of devices) out.push({point: mountPoint(d), source: d})
  }
  return out
}

export function checkMountPoints(mounts: {point: string}[], ctx: ErrorContext): void {
  const bad = mounts.filter((m) => m.point.includes(':'))
  if (bad.length) throw new InvalidInput(`criu cannot name mount points that contain ':': ${bad.map((m) => m.point).join(', ')}`, ctx)
}

/** The mount point of a terminal container's console (its pty slave bound there by the helper). */
export const CONSOLE = '/dev/console'

/**
 * Dump: every external mount is stored under its own mount point; masked files (binds of /dev/null) as
 * "/dev/null"; the read-only tmpfs mounts that a restore can rebuild under a key describing them (tmpfs-skeleton.ts).
 */
export function dumpExtMounts(mounts: {point: string}[], maskedFiles: string[], skeletons: {point: string; skeleton: TmpfsSkeleton}[] = []): ExtMount[] {
  return [
    ...mounts.map((m) => ({key: m.point, value: m.point})),
    ...maskedFiles.map((f) => ({key: mountPoint(f), value: '/dev/null'})),
    ...skeletons.map((s) => ({key: mountPoint(s.point), value: skeletonKey(s.skeleton)})),
  ]
}

/** The tmpfs mounts that may be dumped as skeletons: the masked directories, the v1 cgroup tmpfs, the config's tmpfs mounts. */
export function skeletonCandidates(spec: Spec, cgroupVersion: 'v1' | 'v2', maskedDirs: string[]): string[] {
  const out = maskedDirs.map(mountPoint)
  for (const m of spec.mounts ?? []) if (m.type === 'tmpfs') out.push(mountPoint(m.destination))
  if (cgroupVersion === 'v1' && !hasCgroupNs(spec)) {
    for (const m of spec.mounts ?? []) if (m.type === 'cgroup') out.push(mountPoint(m.destination))
  }
  // a mount point with ':' cannot be named to criu as external: it stays with CRIU's tar
  return [...new Set(out)].filter((p) => !p.includes(':'))
}

/** More distinct skeletons than this in one checkpoint is not ocirt's (the launcher takes 64). */
export const MAX_SKELETONS = 32

/**
 * Restore: each mount id stored at dump is bound from this bundle's source for the same mount point. An id the
 * new bundle does not provide is an error naming it (CRIU would only say "no mapping for ...").
 */
export function restoreExtMounts(dumpedKeys: string[], mounts: {point: string; source: string}[], ctx: ErrorContext, skeletonDir?: (key: string) => string): ExtMount[] {
  const byPoint = new Map(mounts.map((m) => [m.point, m.source]))
  const out: ExtMount[] = []
  const missing: string[] = []
  let skeletons = 0
  for (const key of [...new Set(dumpedKeys)]) {
    if (key === '/dev/null') out.push({key, value: '/dev/null'})
    else if (skeletonDir && parseSkeletonKey(key)) {
      if (++skeletons > MAX_SKELETONS) throw new InvalidInput(`the checkpoint has more than ${MAX_SKELETONS} tmpfs mounts to rebuild`, ctx)
      out.push({key, value: skeletonDir(key)})
    }
    else if (byPoint.has(key)) out.push({key, value: byPoint.get(key)!})
    else missing.push(key)
  }
  if (missing.length) {
    throw new InvalidInput(`the checkpoint has bind mounts that the bundle's config.json lacks: ${missing.join(', ')}`, ctx)
  }
  return out
}

/**
 * --cgroup-root entries that put the restored tree into the new container's cgroup: for each hierarchy the path
 * of the container's directory inside that hierarchy (mountinfo gives the mount point and the mounted root). A
 * default root (no controller) covers what is not named, such as the cgroup2 hierarchy of a hybrid host.
 */
export function cgroupRoots(cgroup: CgroupView, mounts: CgroupMount[]): CgroupRoot[] {
  const inHierarchy = (dir: string, m: CgroupMount) => {
    const rel = path.posix.relative(m.mountPoint, dir)
    if (rel.startsWith('..') || path.posix.isAbsolute(rel)) return undefined
    return path.posix.join(m.root, rel)
  }
  const roots: CgroupRoot[] = []
  let fallback: string | undefined
  for (const [key, dir] of Object.entries(cgroup.paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const m = mounts.find((x) => (key === '' ? x.version === 2 : x.controllers.includes(key)))
    const p = m && inHierarchy(dir, m)
    if (p === undefined) continue
    if (key === '') fallback = p
    else roots.push({controller: key, path: p})
  }
  fallback ??= roots[0]?.path
  return fallback === undefined ? roots : [{path: fallback}, ...roots]
}

// --- open files of the init ------------------------------------------------------------------------------

/** One open fd of the container's init, as /proc shows it. */
export interface FdInfo {
  fd: number
  /** readlink /proc/<pid>/fd/<fd>: a path, pipe:[ino], socket:[ino], anon_inode:... */
  link: string
  /** mnt_id from /proc/<pid>/fdinfo/<fd> */
  mntId: number
  ino: number
  /** st_dev and st_rdev of the open file (st_rdev is 0 but for device nodes) */
  dev: number
  rdev: number
  isCharDevice: boolean
  /** the open flags from fdinfo (only the access mode matters here) */
  flags: number
}

export type DescriptorKind = 'pipe' | 'socket' | 'file' | 'tty' | 'other'

/** An fd recorded at dump (ocirt-checkpoint.json): what restore must hand over to keep it working. */
export interface Descriptor {
  fd: number
  link: string
  kind: DescriptorKind
  /** CRIU's name of the resource: pipe:[ino], file[mnt_id:ino], tty[rdev:dev] */
  key?: string
  /** opened outside the container's mount namespace: dumped as --external, given back with --inherit-fd */
  external: boolean
  /** O_RDONLY, O_WRONLY or O_RDWR */
  access?: number
}

const hex = (n: number) => n.toString(16)

// pty slaves (136-143) and the console/tty majors (4, 5)
function isTtyRdev(rdev: number): boolean {
  const major = Math.floor(rdev / 256) & 0xfff
  return major === 4 || major === 5 || (major >= 136 && major <= 143)
}

/**
 * Sorts the init's fds. A file opened outside the container's mount namespace, typically the stdio a detached
 * container inherits from the runtime's caller (/dev/null, a log file, an unlinked temp file), makes CRIU 4
 * fail with "Can't lookup mount=N for fd=0": it must be declared external on dump (file[mnt_id:inode], hex)
 * and supplied on restore with --inherit-fd. Pipes dump fine, but restore recreates them unconnected unless
 * inherited (runc inherits the stdio pipes; so does ocirt).
 */
export function classifyFds(fds: FdInfo[], containerMountIds: ReadonlySet<number>): Descriptor[] {
  return fds.map((f): Descriptor => {
    const base = {fd: f.fd, link: f.link, access: f.flags & O_ACCMODE}
    if (f.link.startsWith('pipe:[')) return {...base, kind: 'pipe', key: f.link, external: false}
    if (f.link.startsWith('socket:[')) return {...base, kind: 'socket', key: f.link, external: false}
    if (!f.link.startsWith('/')) return {...base, kind: 'other', external: false}
    const outside = !containerMountIds.has(f.mntId)
    if (f.isCharDevice && isTtyRdev(f.rdev)) {
      return {...base, kind: 'tty', key: `tty[${hex(f.rdev)}:${hex(f.dev)}]`, external: outside}
    }
    return {...base, kind: 'file', key: `file[${hex(f.mntId)}:${hex(f.ino)}]`, external: outside}
  })
}

const O_ACCMODE = 3

/** A pty slave (majors 136-143): the container's terminal when process.terminal is set. */
export function isPtySlaveRdev(rdev: number): boolean {
  const major = Math.floor(rdev / 256) & 0xfff
  return major >= 136 && major <= 143
}

/**
 * A terminal container's pty slave lives in the container's own devpts, but its master lives outside (with
 * whoever took it from the console socket), which CRIU cannot dump. Declared external (tty[rdev:dev]), CRIU
 * dumps the slave as a foreign terminal and, on restore, takes the slave of a new pty from --inherit-fd and
 * makes it the session's controlling terminal again; ocirt sends that pty's master to the new console socket.
 */
export function externalTerminal(descriptors: Descriptor[]): Descriptor[] {
  return descriptors.map((d) => (d.kind === 'tty' && d.key && isPtySlaveRdev(ttyRdev(d.key)) ? {...d, external: true} : d))
}

/** The rdev of a tty[rdev:dev] key. */
function ttyRdev(key: string): number {
  const m = /^tty\[([0-9a-f]+):/.exec(key)
  return m ? parseInt(m[1], 16) : -1
}

/** The dumped terminal of a checkpoint: the key of the pty slave ocirt must provide on restore, if any. */
export function terminalKey(descriptors: Descriptor[]): string | undefined {
  return descriptors.find((d) => d.kind === 'tty' && d.external && d.key && isPtySlaveRdev(ttyRdev(d.key)))?.key
}

/** The --external list of a dump: each external file or tty once. */
export function dumpExternals(descriptors: Descriptor[]): string[] {
  return [...new Set(descriptors.filter((d) => d.external && d.key).map((d) => d.key!))]
}

/** One fd of ours handed to criu for the dumped resource `key`. */
export interface Inherited extends InheritFd {
  /** our fd */
  ours: number
  /** CRIU reopens it through /proc/self/fd (with the dumped flags, position, size and mode checks); else it dups it */
  reopen: boolean
}

/**
 * What restore hands to CRIU: for every external file and every stdio pipe of the checkpoint, ocirt's own fd of
 * the same number (a restored container takes the caller's stdio, as with runc). `criuFd(i)` is the fd number
 * the i-th handed-over fd gets in the criu process.
 *
 * CRIU knows an external file by its key only (file[mnt_id:inode]), so fds 0-2 that were one file (all
 * /dev/null) share one inherited fd. Two ways to inherit, chosen per key:
 * - dup: CRIU first looks up every regular file by its path relative to the root, which for an external file
 *   is its key without the first character ("ile[17:3]": CRIU cuts the leading "/" of every path, and keeps
 *   the external key in the path's place). A match is dup()ed as is: no reopen, no checks, any kind of fd.
 *   Right when every dumped fd of the key had the same access mode (a log file on 1 and 2).
 * - reopen: with the full key, CRIU reopens /proc/self/fd/N with each dumped fd's own flags and position, and
 *   checks size and mode: needed when one file served several access modes (/dev/null read-only on 0 and
 *   write-only on 1 and 2), so that each fd gets its own mode back.
 */
export function inheritPlan(descriptors: Descriptor[], criuFd: (i: number) => number): Inherited[] {
  const out: Inherited[] = []
  const byKey = new Map<string, Descriptor[]>()
  for (const d of [...descriptors].sort((a, b) => a.fd - b.fd)) {
    const wanted = d.external || (d.kind === 'pipe' && d.fd <= 2)
    if (!wanted || !d.key) continue
    byKey.set(d.key, [...(byKey.get(d.key) ?? []), d])
  }
  for (const [key, ds] of byKey) {
    const reopen = ds[0].kind === 'file' && new Set(ds.map((d) => d.access)).size > 1
    const criuKey = ds[0].kind === 'file' && !reopen ? key.slice(1) : key
    out.push({fd: criuFd(out.length), key: criuKey, ours: ds[0].fd, reopen})
  }
  return out
}

/** The mount ids of a /proc/<pid>/mountinfo text. */
export function mountIds(mountinfo: string): Set<number> {
  const ids = new Set<number>()
  for (const line of mountinfo.split('\n')) {
    const id = Number(line.split(' ', 1)[0])
    if (line && Number.isInteger(id)) ids.add(id)
  }
  return ids
}

/** The open flags of a /proc/<pid>/fdinfo/<fd> text (octal there). */
export function fdinfoFlags(text: string): number {
  const m = /^flags:\s*([0-7]+)/m.exec(text)
  return m ? parseInt(m[1], 8) : 0
}

/** mnt_id of a /proc/<pid>/fdinfo/<fd> text (-1 when absent). */
export function fdinfoMntId(text: string): number {
  const m = /^mnt_id:\s*(\d+)/m.exec(text)
  return m ? Number(m[1]) : -1
}

// --- namespaces ------------------------------------------------------------------------------------------

/** runc's keys for a network or pid namespace the config joins by path: dumped as external, inherited back. */
export const EXTERNAL_NS_KEY: Record<string, string> = {network: 'extRootNetNS', pid: 'extRootPidNS'}
const CRIU_NS_NAME: Record<string, string> = {network: 'net', pid: 'pid', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', time: 'time', cgroup: 'cgroup'}

/** Namespaces the config joins by path: net and pid become CRIU externals; others are joined with --join-ns. */
export function joinedNamespaces(spec: Spec): {external: {type: string; path: string; key: string}[]; join: {type: string; path: string}[]} {
  const external: {type: string; path: string; key: string}[] = []
  const join: {type: string; path: string}[] = []
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!ns.path) continue
    if (EXTERNAL_NS_KEY[ns.type]) external.push({type: ns.type, path: ns.path, key: EXTERNAL_NS_KEY[ns.type]})
    else join.push({type: CRIU_NS_NAME[ns.type] ?? ns.type, path: ns.path})
  }
  return {external, join}
}

/** --external net[inode]:extRootNetNS for a joined namespace whose file has `inode`. */
export function externalNsArg(type: string, inode: number, key: string): string {
  return `${CRIU_NS_NAME[type] ?? type}[${inode}]:${key}`
}
