// How runCriu starts criu when it must first join the container's cgroups and, for a restore, bind the rootfs in
// a mount namespace of criu's own: native/build/ocirt-criu-launch (native/criu-launch.c) does it in the process
// that then execs criu. Without it (not built), the same steps go through unshare, /bin/sh and mount(8)
// (client.ts PREPARE_AND_EXEC), four or five execs more. Both exit 125 when joining fails and 124 when the
// mount namespace or the bind fails.
import type {RootBind, TmpfsBuild} from './client'
import {nativeFile} from '../util/native-file'

let cached: string | null | undefined

/** The launcher's path, or undefined when it is not built. */
export function criuLauncher(): string | undefined {
  if (cached !== undefined) return cached ?? undefined
  cached = nativeFile('ocirt-criu-launch') ?? null
  return cached ?? undefined
}

/** The launcher's argv: joins, the root bind, the tmpfs mounts to build, then criu's own argv. */
export function launcherArgs(join: string[], root: RootBind | undefined, criu: string, argv: string[], tmpfs: TmpfsBuild[] = []): string[] {
  return [
    ...join.flatMap((f) => ['--join', f]),
    ...(root ? ['--root', root.rootfs, root.target, ...(root.readonly ? ['--ro'] : [])] : []),
    ...tmpfs.flatMap((t) => t.skeleton.writable
      ? ['--tmpfs-rw', t.dir, t.skeleton.mode.toString(8), t.skeleton.writable.options.join(','), t.skeleton.dirs.join('/'), ...nodeArgs(t)]
      : ['--tmpfs', t.dir, t.skeleton.mode.toString(8), t.skeleton.dirs.join('/')]),
    '--', criu, ...argv,
  ]
}

/** A skeleton's device nodes and symlinks, each made in its tmpfs after its directories. */
function nodeArgs(t: TmpfsBuild): string[] {
  return (t.skeleton.nodes ?? []).flatMap((n) => n.type === 'char'
    ? ['--tmpfs-char', t.dir, n.name, n.mode.toString(8), String(n.major), String(n.minor)]
    : ['--tmpfs-link', t.dir, n.name, n.target])
}

/**
 * Why these tmpfs mounts cannot be rebuilt here, or undefined: device nodes and symlinks (a /dev described in the
 * checkpoint) are made only by the launcher; the shell fallback makes directories alone.
 */
export function whyNoTmpfsRebuild(tmpfs: TmpfsBuild[]): string | undefined {
  if (!tmpfs.some((t) => t.skeleton.nodes?.length) || criuLauncher()) return undefined
  return 'the checkpoint describes a tmpfs with device nodes (a /dev) that only native/build/ocirt-criu-launch rebuilds, and it is not built here: run `npm run build:native`'
}
