// The fs that tar-fs packs and extracts with: the calls it makes per entry (stat, mkdir, chown, chmod, utimes, ...,
// and reading a small file) done synchronously, their callbacks on the next tick. Through Node's thread pool every
// one of them costs a round trip (~0.3 ms here, more under load), and tar-fs makes them one after the other, ~10
// per extracted file: a 40-file image directory took 40-90 ms to pack, all of it inside the freeze. Writing file
// contents stays asynchronous, and files above QUICK_READ_MAX bytes (a stop-copy's memory pages) are still read as
// streams, so memory stays bounded and a slow disk blocks a pool thread, not the event loop.
import * as fs from 'node:fs'
import {Readable} from 'node:stream'

export const QUICK_READ_MAX = 1 << 20

type Callback<T> = (err: NodeJS.ErrnoException | null, value?: T) => void

function later<T>(cb: Callback<T>, fn: () => T): void {
  let value: T
  try {
    value = fn()
  } catch (err) {
    process.nextTick(cb, err as NodeJS.ErrnoException)
    return
  }
  process.nextTick(cb, null, value)
}

/** `end` is inclusive, as fs.createReadStream's; reads at most end - start + 1 bytes, fewer if the file shrank. */
function readRange(file: string, start: number, end: number): Buffer {
  const want = Math.max(0, end - start + 1)
  const buf = Buffer.allocUnsafe(want)
  const fd = fs.openSync(file, 'r')
  try {
    let got = 0
    while (got < want) {
      const n = fs.readSync(fd, buf, got, want - got, start + got)
      if (n === 0) break
      got += n
    }
    return buf.subarray(0, got)
  } finally {
    fs.closeSync(fd)
  }
}

export const quickFs: object = {
  ...fs,
  lstat: (p: string, cb: Callback<fs.Stats>) => later(cb, () => fs.lstatSync(p)),
  stat: (p: string, cb: Callback<fs.Stats>) => later(cb, () => fs.statSync(p)),
  readdir: (p: string, cb: Callback<string[]>) => later(cb, () => fs.readdirSync(p)),
  readlink: (p: string, cb: Callback<string>) => later(cb, () => fs.readlinkSync(p)),
  realpath: (p: string, cb: Callback<string>) => later(cb, () => fs.realpathSync(p)),
  mkdir: (p: string, opts: fs.MakeDirectoryOptions, cb: Callback<string | undefined>) => later(cb, () => fs.mkdirSync(p, opts)),
  unlink: (p: string, cb: Callback<void>) => later(cb, () => fs.unlinkSync(p)),
  symlink: (target: string, p: string, cb: Callback<void>) => later(cb, () => fs.symlinkSync(target, p)),
  link: (existing: string, p: string, cb: Callback<void>) => later(cb, () => fs.linkSync(existing, p)),
  chmod: (p: string, mode: number, cb: Callback<void>) => later(cb, () => fs.chmodSync(p, mode)),
  chown: (p: string, uid: number, gid: number, cb: Callback<void>) => later(cb, () => fs.chownSync(p, uid, gid)),
  lchown: (p: string, uid: number, gid: number, cb: Callback<void>) => later(cb, () => fs.lchownSync(p, uid, gid)),
  utimes: (p: string, atime: Date, mtime: Date, cb: Callback<void>) => later(cb, () => fs.utimesSync(p, atime, mtime)),
  lutimes: (p: string, atime: Date, mtime: Date, cb: Callback<void>) => later(cb, () => fs.lutimesSync(p, atime, mtime)),
  createReadStream(p: string, opts: {start?: number; end?: number} = {}): Readable {
    const start = opts.start ?? 0
    const end = opts.end ?? Infinity
    if (end - start + 1 > QUICK_READ_MAX) return fs.createReadStream(p, opts)
    let done = false
    return new Readable({
      read() {
        if (done) return
        done = true
        try {
          const buf = readRange(p, start, end)
          if (buf.length) this.push(buf)
          this.push(null)
        } catch (err) {
          this.destroy(err as Error)
        }
      },
    })
  },
}
