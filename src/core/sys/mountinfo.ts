// /proc/<pid>/mountinfo, one entry per line (proc(5)): the fields CRIU's planners look at.

export interface MountinfoEntry {
  id: number
  parentId: number
  /** the filesystem's device, "major:minor" (what st_dev of a file in it decodes to) */
  dev: string
  /** the path inside the filesystem that is mounted ("/" for a whole filesystem, a subdirectory for a bind) */
  root: string
  mountPoint: string
  /** per-mount options: rw/ro, nosuid, nodev, noexec, relatime, ... */
  mountOptions: string[]
  fstype: string
  /** the superblock's options: rw/ro, mode=..., size=... */
  superOptions: string[]
}

/** Undoes the octal escapes (\040 for a space, ...) of a mountinfo path. */
export const unescapeMountPath = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))

export function parseMountinfo(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = []
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ')
    if (sep < 0) continue
    const left = line.slice(0, sep).split(' ')
    const [fstype = '', , superOpts = ''] = line.slice(sep + 3).split(' ')
    if (left.length < 6) continue
    out.push({
      id: Number(left[0]), parentId: Number(left[1]), dev: left[2],
      root: unescapeMountPath(left[3]), mountPoint: unescapeMountPath(left[4]),
      mountOptions: left[5].split(','), fstype, superOptions: superOpts.split(','),
    })
  }
  return out
}
