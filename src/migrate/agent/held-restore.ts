// The target's criu restore, started while the bundle streams and held at its gate (core/criu/held.ts), for the
// layout the source expects its dump to have (core/lifecycle/checkpoint.ts restoreLayout): the container's stdio
// files and its new network namespace as criu's fds 3, 4, ..., the rootfs bound and the tmpfs skeletons built in
// criu's mount namespace. The restore in the freeze lets it go when the images agree, and spawns criu when not.
import * as path from 'node:path'
import {debug} from '../../core/log'
import type {Runtime} from '../../core/runtime'
import type {LoadedBundle} from '../../core/spec/load'
import {HeldCriu, heldDirs} from '../../core/criu/held'
import {parseSkeletonKey} from '../../core/criu/tmpfs-skeleton'
import type {RestoreLayout} from '../../core/lifecycle/checkpoint'

export interface HoldRestoreInput {
  id: string
  loaded: LoadedBundle
  /** the files the restored container gets as fds 0, 1, 2, open here (the held criu gets its own copies) */
  stdio: [number, number, number]
  /** the network namespace made for the container (write-config), if any */
  netnsFd?: number
  layout: RestoreLayout
  /** an empty directory of the migration's (the staging dir) for the root bind, the tmpfs mounts and the options */
  dir: string
}

/** The held restore, or undefined where it cannot be held here (the debug line says why). */
export function holdRestore(rt: Runtime, o: HoldRestoreInput): HeldCriu | undefined {
  const {layout} = o
  const skeletons = layout.tmpfsKeys.map(parseSkeletonKey)
  const why = HeldCriu.whyNotHere() ?? (layout.netns && o.netnsFd === undefined ? 'no network namespace made here for the container'
    : skeletons.some((s) => s === undefined) ? 'a tmpfs skeleton key it cannot read' : undefined)
  if (why) {
    debug(`migrate-agent ${o.id}: no criu restore ahead of time: ${why}`)
    return undefined
  }
  const dirs = heldDirs(path.join(o.dir, 'held-restore'), skeletons.length)
  const fds = [...layout.stdio.map((i) => o.stdio[i]), ...(layout.netns ? [o.netnsFd!] : [])]
  const held = HeldCriu.start(rt, {
    root: {rootfs: o.loaded.rootfs, target: dirs.root, readonly: o.loaded.spec.root?.readonly === true},
    tmpfs: skeletons.map((skeleton, i) => ({dir: dirs.tmpfs[i], skeleton: skeleton!})),
    fds,
    configFile: path.join(o.dir, 'held-restore', 'criu-restore.conf'),
  })
  if (held) debug(`migrate-agent ${o.id}: criu restore ${held.pid} waits at its gate (${fds.length} inherited fds, ${skeletons.length} tmpfs)`)
  return held
}
