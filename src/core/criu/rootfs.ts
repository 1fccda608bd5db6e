// The container's root for a CRIU restore: mount points the restored mounts need, and the bind of the rootfs
// that CRIU gets as --root (read-only when the config says so). Plain file work; the bind is made by criu's shell.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Spec} from '../spec/types'
import {resolveInRoot} from '../mounts/resolve'
import type {RootBind} from './client'

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
 * CRIU's --root must be a mount point whose parent is not overmounted: the rootfs is bound into the state dir, as
 * runc does, but only inside criu's own mount namespace (client.ts runCriu bindRoot), so the bind ends with criu
 * and nothing is left to unmount, whatever happens to ocirt. CRIU keeps the flags of that mount for the
 * container's "/", so a read-only root (root.readonly) is bound read-only; runc skips this, and its restored
 * containers get a writable "/".
 */
export function criuRootBind(rootfs: string, target: string, readonly: boolean): RootBind {
  fs.mkdirSync(target, {mode: 0o755})
  return {rootfs, target, readonly}
}
