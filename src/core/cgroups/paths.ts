// Where a container's cgroup lives: the cgroupsPath rules of runc 1.1's cgroupfs driver, /proc/self/cgroup and the
// cgroup mounts in /proc/self/mountinfo. Creating and removing the directories is the managers' job.
import * as path from 'node:path'
import {InvalidInput} from '../errors'
import {unescapeMountPath} from '../sys/mountinfo'

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup'

/** Normalizes a cgroup path; `..` can never climb above the start, and a relative path stays relative. */
export function cleanCgroupPath(p: string): string {
  if (p === '') return ''
  let abs = path.posix.normalize(path.posix.join('/', p))
  if (abs.length > 1 && abs.endsWith('/')) abs = abs.slice(0, -1)
  if (p.startsWith('/')) return abs
  return abs === '/' ? '' : abs.slice(1)
}

/**
 * The cgroup path for a container, as runc 1.1's cgroupfs driver derives it (observed with /usr/sbin/runc here):
 * - an absolute cgroupsPath is used as given, under each hierarchy's mount point;
 * - a relative one is relative to the runtime's own cgroup, read from /proc/self/cgroup by the managers (on v1 per
 *   hierarchy, since each may differ: on this host memory is /process_api/<x> while the others are /; on v2 the
 *   parent of the runtime's own cgroup, because a cgroup holding processes cannot delegate controllers);
 * - none at all means `<id>`, relative: runc puts the container at `<own cgroup>/<id>`.
 * The result therefore stays relative when the input was; openCgroup anchors it. `rootless` does not change the
 * path for cgroupfs (runc only treats it differently with the systemd driver); it changes error handling.
 */
export function resolveCgroupsPath(cgroupsPath: string | undefined, id: string, opts: {rootless: boolean}): string {
  void opts.rootless
  const p = cleanCgroupPath(cgroupsPath ?? '')
  if (p === '/') throw new InvalidInput('cgroupsPath must not be the root cgroup', {id, step: 'linux.cgroupsPath'})
  return p === '' ? id : p
}

/** Parses /proc/<pid>/cgroup into `controller → path`; each of "cpu,cpuacct" gets its own key; v2 is "". */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line)
    if (!m) continue
    if (m[2] === '') out.set('', m[3])
    else for (const c of m[2].split(',')) out.set(c, m[3])
  }
  return out
}

/** `p` if absolute; otherwise `p` below `base` (a cgroup path inside one hierarchy). */
export function anchorCgroupPath(p: string, base: string): string {
  return p.startsWith('/') ? p : path.posix.join('/', base, p)
}

export interface CgroupMount {
  /** v1 controllers of this hierarchy, e.g. ['cpu', 'cpuacct'] or ['name=systemd']; [] for cgroup2 */
  controllers: string[]
  version: 1 | 2
  mountPoint: string
  /** the cgroup path of the hierarchy that is mounted (not "/" inside a cgroup namespace or a bind mount) */
  root: string
}

// super options of a v1 cgroup mount that are not controllers
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'xattr', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'none'])

/** The cgroup mounts in a mountinfo text, one per hierarchy (the first mount wins), in mount order. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = []
  const seen = new Set<string>()
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const left = line.slice(0, sep).split(' ')
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ')
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue
    const version = fstype === 'cgroup2' ? 2 : 1
    const controllers =
      version === 2
        ? []
        : superOpts.split(',').filter((o) => !NOT_CONTROLLERS.has(o) && (!o.includes('=') || o.startsWith('name=')))
    const key = version === 2 ? '' : controllers.slice().sort().join(',')
    if (seen.has(key) || (version === 1 && controllers.length === 0)) continue
    seen.add(key)
    out.push({controllers, version, mountPoint: unescapeMountPath(left[4]), root: unescapeMountPath(left[3])})
  }
  return out
}

/** Moves mount points under the default root to `root` (for tests with a fake cgroupfs tree). */
export function rebaseMount(m: CgroupMount, root: string): CgroupMount {
  if (root === DEFAULT_CGROUP_ROOT) return m
  const mp = m.mountPoint
  if (mp === DEFAULT_CGROUP_ROOT || mp.startsWith(DEFAULT_CGROUP_ROOT + '/'))
    return {...m, mountPoint: root + mp.slice(DEFAULT_CGROUP_ROOT.length)}
  return m
}

/** The directory of cgroup `p` (absolute, or relative to `own`, the runtime's cgroup there) in hierarchy `m`. */
export function dirInMount(m: CgroupMount, p: string, own: string): string {
  if (p.startsWith('/')) return path.posix.join(m.mountPoint, p)
  // /proc/self/cgroup paths are hierarchy paths; the mount may show only the subtree below m.root
  const rel = m.root !== '/' && (own === m.root || own.startsWith(m.root + '/')) ? own.slice(m.root.length) : own
  return path.posix.join(m.mountPoint, rel, p)
}
