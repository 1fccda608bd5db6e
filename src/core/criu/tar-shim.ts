// Where ocirt's own `tar` for CRIU lives (native/tmpfs-tar, built to native/build/criu-bin/tar, alone in its
// directory). CRIU saves and restores each tmpfs mount's contents by running `tar --gzip` from its PATH, which
// costs GNU tar, a shell and gzip per mount; runCriu puts this directory first in criu's PATH only. The program
// itself hands anything it does not fully handle to GNU tar, and without it (not built) criu finds the system tar.
// OCIRT_TMPFS_TAR=0 leaves it out (a comparison, or a suspected bug).
import * as path from 'node:path'
import {nativeFile} from '../util/native-file'

let cached: string | null | undefined

/** The directory holding the shim `tar`, or undefined when it is missing or turned off. */
export function criuTarDir(): string | undefined {
  if (cached !== undefined) return cached ?? undefined
  cached = null
  if (process.env.OCIRT_TMPFS_TAR === '0') return undefined
  const tar = nativeFile('criu-bin/tar')
  const dir = tar && path.dirname(tar)
  // a ':' would split the PATH entry
  if (dir && !dir.includes(':')) return (cached = dir)
  return undefined
}

/** `env` with the shim's directory first in PATH (env itself when there is no shim). */
export function withCriuTar(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dir = criuTarDir()
  if (!dir) return env
  return {...env, PATH: env.PATH ? `${dir}:${env.PATH}` : `${dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`}
}
