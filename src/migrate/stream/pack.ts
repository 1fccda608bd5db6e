// packTree: a tar stream of a directory tree through tar-fs, plus what tar-fs leaves out: fifos and device
// nodes (added at the end of the archive), set-id and sticky bits (we pack with umask 0), and a filter for
// incremental syncs (changedSince).
import * as fs from 'node:fs'
import * as path from 'node:path'
import {Transform} from 'node:stream'
import * as tarFs from './tar-fs'
import {quickFs} from './quick-fs'

export interface PackOptions {
  /** ms since the epoch: keep only entries whose mtime or ctime is newer (directories are always kept) */
  changedSince?: number
  /** relative path (e.g. "var/log/x") → true to leave it, and everything below it, out */
  ignore?: (relPath: string) => boolean
}

export type PackStream = NodeJS.ReadableStream & {bytes(): number}

interface Special {
  rel: string
  st: fs.Stats
}

export function packTree(dir: string, opts: PackOptions = {}): PackStream {
  const root = path.resolve(dir)
  const specials: Special[] = []
  const since = opts.changedSince

  // tar-fs asks before it stats or descends into a name; the lstat here is the one place we see the type
  const ignore = (abs: string): boolean => {
    const rel = path.relative(root, abs)
    if (opts.ignore?.(rel)) return true
    let st: fs.Stats
    try {
      st = fs.lstatSync(abs)
    } catch {
      return true // gone since its directory was read
    }
    if (st.isSocket()) return true // no tar format carries sockets
    const changed = since === undefined || st.mtimeMs > since || st.ctimeMs > since
    if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
      if (changed) specials.push({rel, st})
      return true
    }
    return !st.isDirectory() && !changed
  }

  let bytes = 0
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length
      cb(null, chunk)
    },
  }) as Transform & {bytes(): number}
  out.bytes = () => bytes

  const pack = tarFs.pack(root, {
    fs: quickFs,
    ignore,
    umask: 0,
    finalize: false,
    finish: (p) => {
      for (const {rel, st} of specials) p.entry(specialHeader(rel, st))
      p.finalize()
    },
  })
  pack.on('error', (err: Error) => out.destroy(err))
  pack.pipe(out)
  return out
}

function specialHeader(rel: string, st: fs.Stats) {
  const type = st.isFIFO() ? 'fifo' as const : st.isCharacterDevice() ? 'character-device' as const : 'block-device' as const
  return {
    name: rel,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: st.mtime,
    size: 0,
    devmajor: devMajor(st.rdev),
    devminor: devMinor(st.rdev),
  }
}

/** glibc's gnu_dev_major/minor on a 64-bit dev_t (JS bit operators work on 32 bits, hence the division). */
export function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & 0xfffff000)
}

export function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfffff00)
}
