// The read-only tmpfs mounts that ocirt makes itself and that hold nothing but empty directories: each masked
// directory (an empty tmpfs mounted read-only, rootfs.c) and, on cgroup v1, the tmpfs at the cgroup mount's
// destination whose directories are the mount points of the hierarchies (cgroup-mount.ts). CRIU would run tar
// for each one on dump and again on restore: a fork and an exec each way, 5-8 ms apiece on these VMs, inside the
// freeze. ocirt dumps them as external mounts instead, under a key that describes the whole content (the mode of
// the root and the names of its directories), and the restore builds a tmpfs like it in criu's own mount
// namespace (criu-launch.c --tmpfs) for CRIU to bind in its place.
//
// Only a tmpfs that is still read-only at dump time qualifies, and only when every entry is a directory that is
// empty or another mount's mount point: anything else (a container that remounted it and wrote there) goes
// through CRIU's tar as before.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {parseMountinfo, type MountinfoEntry} from '../sys/mountinfo'

export const SKELETON_KEY_PREFIX = 'ocirt-tmpfs/'

/** What a rebuilt tmpfs holds: its root's mode and the directories in its root (mode 0755, empty). */
export interface TmpfsSkeleton {
  mode: number
  dirs: string[]
}

/**
 * The CRIU key that carries a skeleton: `ocirt-tmpfs/<mode in octal>/<names, URI-encoded, comma-separated>`.
 * CRIU splits --ext-mount-map at ':', which encodeURIComponent encodes, as it does ',' and '/'.
 */
export function skeletonKey(s: TmpfsSkeleton): string {
  return `${SKELETON_KEY_PREFIX}${s.mode.toString(8)}/${s.dirs.map(encodeURIComponent).join(',')}`
}

/** The skeleton a key describes, or undefined when the key is not one of these (or is malformed). */
export function parseSkeletonKey(key: string): TmpfsSkeleton | undefined {
  if (!key.startsWith(SKELETON_KEY_PREFIX)) return undefined
  const m = /^([0-7]{1,4})\/(.*)$/.exec(key.slice(SKELETON_KEY_PREFIX.length))
  if (!m) return undefined
  let dirs: string[]
  try {
    dirs = m[2] === '' ? [] : m[2].split(',').map(decodeURIComponent)
  } catch {
    return undefined
  }
  if (dirs.length > MAX_DIRS || !dirs.every(plainName)) return undefined
  return {mode: parseInt(m[1], 8), dirs}
}

/**
 * The skeletons of those candidates that qualify, from the container init's mountinfo and a look at each mount's
 * root through /proc/<pid>/root. The last mount at a point is the one the container sees.
 */
export function readSkeletons(pid: number, points: string[]): {point: string; skeleton: TmpfsSkeleton}[] {
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
    if (!m || !qualifies(m)) continue
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
      const onlyDirs = entries.every((e) => e.isDirectory() && plainName(e.name) && (children.has(e.name) || emptyRootDir(path.join(dir, e.name))))
      if (!onlyDirs) continue
      out.push({point, skeleton: {mode: Number(root.mode & 0o7777n), dirs: entries.map((e) => e.name).sort()}})
    } catch {
      // gone meanwhile: CRIU dumps it as it finds it
    } finally {
      if (fd !== undefined) fs.closeSync(fd)
    }
  }
  return out
}

/** readSkeletons, or none with OCIRT_TMPFS_SKELETON=0 (CRIU's tar for every tmpfs, to compare). */
export function tmpfsSkeletons(pid: number, points: string[]): {point: string; skeleton: TmpfsSkeleton}[] {
  if (process.env.OCIRT_TMPFS_SKELETON === '0') return []
  return readSkeletons(pid, points)
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
  if (m.fstype !== 'tmpfs' || m.root !== '/') return false
  return m.mountOptions.includes('ro') || m.superOptions.includes('ro')
}
