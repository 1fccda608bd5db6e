// The tmpfs mounts that hold nothing but empty directories: each masked directory (an empty tmpfs mounted
// read-only, rootfs.c), on cgroup v1 the tmpfs at the cgroup mount's destination whose directories are the mount
// points of the hierarchies (cgroup-mount.ts), and the config's own tmpfs mounts while they are empty (/dev/shm,
// almost always). CRIU would run tar for each one on dump and again on restore: a fork and an exec each way, 5-8 ms
// apiece on these VMs, inside the freeze. ocirt dumps them as external mounts instead, under a key that describes
// the whole content (the mode of the root, the names of its directories, and for a writable one the tmpfs options
// that shape it: its size, ...), and the restore builds a tmpfs like it in criu's own mount namespace
// (criu-launch.c --tmpfs, --tmpfs-rw) for CRIU to bind in its place.
//
// Only a tmpfs whose every entry is a directory that is empty or another mount's mount point qualifies: anything
// else goes through CRIU's tar as before. A read-only one qualifies whenever it is read; a writable one only when
// the container is frozen while it is read (a migration's dump), since a running container could write there
// between the look and CRIU's freeze.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {parseMountinfo, type MountinfoEntry} from '../sys/mountinfo'

export const SKELETON_KEY_PREFIX = 'ocirt-tmpfs/'
/** a writable one's: older ocirt reads it as a bind mount it lacks, so a migration uses it only where the target says
 * it rebuilds them (agent/facts.ts rebuildsWritableTmpfs) */
export const WRITABLE_KEY_PREFIX = 'ocirt-tmpfs-rw/'

/** What a rebuilt tmpfs holds: its root's mode and the directories in its root (mode 0755, empty). */
export interface TmpfsSkeleton {
  mode: number
  dirs: string[]
  /**
   * a writable tmpfs: where it is mounted (its key names it, so that two alike get a tmpfs each: read-only ones may
   * share one, writable ones may not) and the options that shape it (size=..., nr_inodes=..., huge=...); absent:
   * read-only
   */
  writable?: {at: string; options: string[]}
  /** device nodes and symlinks in its root too (a container's /dev): only in a writable one's key */
  nodes?: SkeletonNode[]
}

/** A character device or a symlink in a skeleton's root, owned by root. */
export type SkeletonNode = {name: string; type: 'char'; mode: number; major: number; minor: number} | {name: string; type: 'link'; target: string}

/**
 * The CRIU key that carries a skeleton: `ocirt-tmpfs/<mode in octal>/<names, URI-encoded, comma-separated>`, for a
 * writable one `ocirt-tmpfs-rw/<its mount point, URI-encoded>/<mode>/<options, comma-separated>/<names>[/<nodes>]`.
 * CRIU splits --ext-mount-map at ':',
 * which encodeURIComponent encodes, as it does ',' and '/'; the options are plain words (TMPFS_OPTION).
 */
export function skeletonKey(s: TmpfsSkeleton): string {
  const dirs = s.dirs.map(encodeURIComponent).join(',')
  if (s.writable) {
    const nodes = s.nodes?.length ? `/${s.nodes.map(nodeItem).join(',')}` : ''
    return `${WRITABLE_KEY_PREFIX}${encodeURIComponent(s.writable.at)}/${s.mode.toString(8)}/${s.writable.options.join(',')}/${dirs}${nodes}`
  }
  return `${SKELETON_KEY_PREFIX}${s.mode.toString(8)}/${dirs}`
}

/** `c=<mode>=<major>=<minor>=<name>` or `l=<target>=<name>`: names and targets are plain words (NODE_NAME, LINK_TARGET) */
function nodeItem(n: SkeletonNode): string {
  return n.type === 'char' ? `c=${n.mode.toString(8)}=${n.major}=${n.minor}=${n.name}` : `l=${n.target}=${n.name}`
}

function parseNodeItem(item: string): SkeletonNode | undefined {
  // no set-id or sticky bits on a device node
  const c = /^c=([0-7]{1,3})=(\d{1,7})=(\d{1,7})=([^=]+)$/.exec(item)
  if (c && NODE_NAME.test(c[4])) return {name: c[4], type: 'char', mode: parseInt(c[1], 8), major: Number(c[2]), minor: Number(c[3])}
  const l = /^l=([^=]+)=([^=]+)$/.exec(item)
  if (l && LINK_TARGET.test(l[1]) && NODE_NAME.test(l[2])) return {name: l[2], type: 'link', target: l[1]}
  return undefined
}

/** a node's name, and a symlink's target: no separator of the key's (',' '=' ':'), nothing a shell or CRIU's parser splits */
const NODE_NAME = /^(?!\.\.?$)[\w.+@-]{1,64}$/
const LINK_TARGET = /^[\w./+@-]{1,255}$/
/** an absolute path without ':' (CRIU's separator) or white space */
const MOUNT_POINT = /^\/[^:\s]{0,4095}$/

/** The skeleton a key describes, or undefined when the key is not one of these (or is malformed). */
export function parseSkeletonKey(key: string): TmpfsSkeleton | undefined {
  const writable = key.startsWith(WRITABLE_KEY_PREFIX)
  if (!writable && !key.startsWith(SKELETON_KEY_PREFIX)) return undefined
  const rest = key.slice(writable ? WRITABLE_KEY_PREFIX.length : SKELETON_KEY_PREFIX.length)
  const w = writable ? /^([^/]+)\/(.*)$/.exec(rest) : undefined
  if (writable && !w) return undefined
  let at = ''
  try {
    at = w ? decodeURIComponent(w[1]) : ''
  } catch {
    return undefined
  }
  if (writable && !MOUNT_POINT.test(at)) return undefined
  const m = (writable ? /^([0-7]{1,4})\/([^/]*)\/([^/]*)(?:\/(.+))?$/ : /^([0-7]{1,4})\/()(.*)$/).exec(w ? w[2] : rest)
  if (!m) return undefined
  let dirs: string[]
  try {
    dirs = m[3] === '' ? [] : m[3].split(',').map(decodeURIComponent)
  } catch {
    return undefined
  }
  if (dirs.length > MAX_DIRS || !dirs.every(plainName)) return undefined
  const options = m[2] === '' ? [] : m[2].split(',')
  if (!options.every((o) => TMPFS_OPTION.test(o))) return undefined
  const nodes = m[4] === undefined ? [] : m[4].split(',').map(parseNodeItem)
  if (nodes.length > MAX_DIRS || nodes.some((n) => n === undefined)) return undefined
  const names = [...dirs, ...nodes.map((n) => n!.name)]
  if (new Set(names).size !== names.length) return undefined
  return {mode: parseInt(m[1], 8), dirs, ...(writable ? {writable: {at, options}} : {}), ...(nodes.length ? {nodes: nodes as SkeletonNode[]} : {})}
}

/** The tmpfs options a writable skeleton carries (what shapes it; mode is the root's, uid and gid must be 0). */
const TMPFS_OPTION = /^(size=\d+[kmgKMG%]?|nr_inodes=\d+[kmgKMG]?|huge=(never|always|within_size|advise)|inode64|inode32|noswap)$/

/**
 * The skeletons of those candidates that qualify, from the container init's mountinfo and a look at each mount's
 * root through /proc/<pid>/root. The last mount at a point is the one the container sees.
 */
export function readSkeletons(pid: number, points: string[], o: SkeletonKinds = {}): {point: string; skeleton: TmpfsSkeleton}[] {
  if (points.length === 0) return []
  let mounts: MountinfoEntry[]
  try {
    mounts = parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
  } catch {
    return []
  }
  const out: {point: string; skeleton: TmpfsSkeleton}[] = []
  for (const point of points) {
    const m = mounts.filter((x) => x.mountPoint === point).pop()
    const writable = m ? writableOptions(m) : undefined
    if (!m || !qualifies(m) || (writable && (!o.writable || writable === 'other'))) continue
    // mount points right in its root (a deeper one leaves its parent directory non-empty: tar then)
    const children = new Set(mounts.filter((x) => x.parentId === m.id && path.posix.dirname(x.mountPoint) === point)
      .map((x) => path.posix.basename(x.mountPoint)))
    let fd: number | undefined
    try {
      // opened once and checked to be that mount's root (its device is the one mountinfo names): a container that
      // is not frozen yet could swap a directory on the way for a symlink, which /proc/<pid>/root resolves on the
      // host; everything below is read through the fd
      fd = fs.openSync(path.join(`/proc/${pid}/root`, point), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW)
      const root = fs.fstatSync(fd, {bigint: true})
      if (devName(root.dev) !== m.dev) continue
      const dir = `/proc/self/fd/${fd}`
      // what the rebuild makes: owned by root (a user namespace's tmpfs is owned by its mapped root: tar then),
      // directories 0755 and empty, or covered by a mount
      if (root.uid !== 0n || root.gid !== 0n) continue
      const entries = fs.readdirSync(dir, {withFileTypes: true})
      const dirs = entries.filter((e) => e.isDirectory())
      const onlyDirs = dirs.every((e) => plainName(e.name) && (children.has(e.name) || emptyRootDir(path.join(dir, e.name))))
      // device nodes and symlinks (a /dev) only in a writable one, and only where the restore can make them
      // (a file that is another mount's mount point, such as a bound device, is no node of this tmpfs: tar then)
      const nodes = writable && o.nodes ? entries.filter((e) => !e.isDirectory()).map((e) => (children.has(e.name) ? undefined : readNode(dir, e.name))) : []
      if (!onlyDirs || dirs.length + nodes.length !== entries.length || nodes.some((n) => n === undefined)) continue
      if (dirs.length > MAX_DIRS || nodes.length > MAX_DIRS) continue
      const skeleton: TmpfsSkeleton = {mode: Number(root.mode & 0o7777n), dirs: dirs.map((e) => e.name).sort()}
      if (writable) skeleton.writable = {at: point, options: writable}
      if (nodes.length) skeleton.nodes = (nodes as SkeletonNode[]).sort((a, b) => (a.name < b.name ? -1 : 1))
      // only what its restore reads back the same (a key it would refuse would make the checkpoint unrestorable)
      if (JSON.stringify(parseSkeletonKey(skeletonKey(skeleton))) !== JSON.stringify(skeleton)) continue
      out.push({point, skeleton})
    } catch {
      // gone meanwhile: CRIU dumps it as it finds it
    } finally {
      if (fd !== undefined) fs.closeSync(fd)
    }
  }
  return out
}

/** Which kinds readSkeletons may return besides read-only ones of empty directories. */
export interface SkeletonKinds {
  /** writable ones (the container must be frozen while they are read) */
  writable?: boolean
  /** writable ones with device nodes and symlinks too (a /dev: the restore needs the launcher to make them) */
  nodes?: boolean
}

/** A character device or a symlink owned by root, as a skeleton describes it; undefined for anything else. */
function readNode(dir: string, name: string): SkeletonNode | undefined {
  if (!NODE_NAME.test(name)) return undefined
  const st = fs.lstatSync(path.join(dir, name), {bigint: true})
  if (st.uid !== 0n || st.gid !== 0n) return undefined
  if (st.isCharacterDevice() && (st.mode & 0o7000n) === 0n) {
    const [major, minor] = devName(st.rdev).split(':').map(Number)
    return {name, type: 'char', mode: Number(st.mode & 0o7777n), major, minor}
  }
  if (st.isSymbolicLink()) {
    const target = fs.readlinkSync(path.join(dir, name))
    return LINK_TARGET.test(target) ? {name, type: 'link', target} : undefined
  }
  return undefined
}

/** readSkeletons, or none with OCIRT_TMPFS_SKELETON=0 (CRIU's tar for every tmpfs, to compare). */
export function tmpfsSkeletons(pid: number, points: string[], o: SkeletonKinds = {}): {point: string; skeleton: TmpfsSkeleton}[] {
  if (process.env.OCIRT_TMPFS_SKELETON === '0') return []
  return readSkeletons(pid, points, o)
}

/** st_dev as mountinfo writes it, "major:minor" (glibc's encoding of dev_t). */
export function devName(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n)
  return `${major}:${minor}`
}

function emptyRootDir(dir: string): boolean {
  const st = fs.lstatSync(dir)
  return st.isDirectory() && st.uid === 0 && st.gid === 0 && (st.mode & 0o7777) === 0o755 && fs.readdirSync(dir).length === 0
}

/** Names the launcher's and the shell's argument formats carry as they are (cgroup hierarchies: "cpu,cpuacct", "systemd"). */
const plainName = (n: string): boolean => n.length <= 255 && /^[\w.,=+@-]+$/.test(n) && n !== '.' && n !== '..'

/** more directories than any tmpfs ocirt makes (a cgroup v1 host has a dozen hierarchies) */
const MAX_DIRS = 64

function qualifies(m: MountinfoEntry): boolean {
  return m.fstype === 'tmpfs' && m.root === '/'
}

/**
 * A writable tmpfs's options that a rebuild must pass (undefined for a read-only one; 'other' when it has one the
 * rebuild would not reproduce, such as uid=, gid= or mpol=).
 */
function writableOptions(m: MountinfoEntry): string[] | 'other' | undefined {
  if (m.mountOptions.includes('ro') || m.superOptions.includes('ro')) return undefined
  const options = m.superOptions.filter((x) => x !== 'rw' && !x.startsWith('mode=') && !x.startsWith('seclabel'))
  return options.every((x) => TMPFS_OPTION.test(x)) ? options : 'other'
}
