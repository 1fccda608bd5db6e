// Resolves a container path inside a rootfs the way the container will see it, following symlinks with the
// rootfs as "/", and reports a symlink whose ".." would climb above the rootfs.
import * as fs from 'node:fs'
import * as path from 'node:path'

export interface Resolution {
  /** host path of the resolved location (may not exist yet) */
  hostPath: string
  escape?: {link: string; target: string}
}

const MAX_LINKS = 40

export function resolveInRoot(rootfs: string, containerPath: string): Resolution {
  const pending = containerPath.split('/').filter(Boolean)
  const done: string[] = []
  let links = 0
  while (pending.length) {
    const part = pending.shift()!
    if (part === '.') continue
    if (part === '..') {
      done.pop()
      continue
    }
    const host = path.join(rootfs, ...done, part)
    let target: string | undefined
    try {
      target = fs.readlinkSync(host)
    } catch {
      target = undefined // not a symlink, or missing: the rest is created by the helper as directories
    }
    if (target === undefined) {
      done.push(part)
      continue
    }
    if (++links > MAX_LINKS) return {hostPath: path.join(rootfs, ...done, part, ...pending)}
    const linkPath = '/' + [...done, part].join('/')
    if (!target.startsWith('/') && climbsAboveRoot(done.length, target)) {
      return {hostPath: path.join(rootfs, ...done), escape: {link: linkPath, target}}
    }
    if (target.startsWith('/')) done.length = 0
    pending.unshift(...target.split('/').filter(Boolean))
  }
  return {hostPath: path.join(rootfs, ...done)}
}

function climbsAboveRoot(depth: number, relTarget: string): boolean {
  let d = depth
  for (const part of relTarget.split('/')) {
    if (part === '..') {
      if (--d < 0) return true
    } else if (part && part !== '.') {
      d++
    }
  }
  return false
}
