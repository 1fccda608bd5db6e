// The container's root for a CRIU restore: mount points the restored mounts need, and the bind of the rootfs
// that CRIU gets as --root (read-only when the config says so). Plain file and mount work, no CRIU.
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../errors'
import type {Spec} from '../spec/types'
import {resolveInRoot} from '../mounts/resolve'

/**
 * Mount points the restored mounts need, made in the rootfs as create would make them (runc does the same before
 * a restore): a directory, or an empty file for a bind of a file. Below a tmpfs they are not needed (CRIU restores
 * the tmpfs content). Failures are left for CRIU to report with the mount it could not restore.
 */
export function prepareMountpoints(spec: Spec, bundle: string, rootfs: string): void {
  const mounts = spec.mounts ?? []
  const tmpfs = mounts.filter((m) => m.type === 'tmpfs').map((m) => path.posix.normalize(m.destination))
  for (const m of mounts) {
    const dest = path.posix.normalize(m.destination)
    if (tmpfs.some((t) => dest.startsWith(t + '/'))) continue
    const {hostPath, escape} = resolveInRoot(rootfs, dest)
    if (escape || fs.existsSync(hostPath)) continue
    try {
      const bind = m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')
      const fileSource = bind && !fs.statSync(path.resolve(bundle, m.source ?? '')).isDirectory()
      if (fileSource) {
        fs.mkdirSync(path.dirname(hostPath), {recursive: true, mode: 0o755})
        fs.closeSync(fs.openSync(hostPath, 'a', 0o644))
      } else {
        fs.mkdirSync(hostPath, {recursive: true, mode: 0o755})
      }
    } catch {
      // a read-only rootfs: CRIU says which mount point is missing
    }
  }
}

/**
 * CRIU's --root must be a mount point whose parent is not overmounted: bind the rootfs into the state dir, as runc
 * does. CRIU keeps the flags of that mount for the container's "/", so a read-only root (root.readonly) is
 * remounted read-only here; runc skips this, and its restored containers get a writable "/".
 */
export function bindRootfs(rootfs: string, root: string, readonly: boolean, ctx: {verb: string; id: string}): void {
  fs.mkdirSync(root, {mode: 0o755})
  const mount = (args: string[]) => {
    const r = spawnSync('mount', args, {encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe']})
    if (r.status === 0) return
    try {
      unbindRootfs(root)
    } catch {
      // reported below; the state directory undo refuses to remove a mounted root
    }
    throw new OcirtError(`cannot bind the rootfs ${rootfs} for criu: ${(r.stderr || r.error?.message || '').trim()}`, {...ctx, step: 'mount criu root'})
  }
  mount(['--rbind', rootfs, root])
  if (readonly) mount(['-o', 'remount,bind,ro', root])
}

export function unbindRootfs(root: string): void {
  if (!fs.existsSync(root)) return
  const r = spawnSync('umount', ['-l', root], {encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe']})
  if (isMountPoint(root)) throw new Error(`cannot unmount ${root}: ${(r.stderr || r.error?.message || '').trim()}`)
  fs.rmdirSync(root)
}

export function isMountPoint(dir: string): boolean {
  if (!fs.existsSync(dir)) return false
  const real = fs.realpathSync(dir)
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l && unescape(l.split(' ')[4]) === real)
}
