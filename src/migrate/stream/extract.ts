// extractTree: tar stream → directory, as root, keeping modes (set-id and sticky bits included), ownership and
// mtimes, and never writing outside the directory.
//
// tar-fs does the extraction; around it we
//  - refuse (not clamp, as tar-fs would) absolute names and names with a `..` component;
//  - allow symlinks that point anywhere (a root filesystem is full of absolute links): their target is only ever
//    resolved inside the container, and tar-fs refuses to create anything below a symlink;
//  - remove a symlink standing where a directory or file entry goes, so that chmod/chown/utimes never follow it;
//  - restore what tar-fs drops: set-id/sticky bits, symlink ownership and mtimes, fifos and device nodes, and the
//    mode/owner/mtime of the root directory itself (entry ".").
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {Transform} from 'node:stream'
import * as tarFs from './tar-fs'
import {quickFs} from './quick-fs'
import type {TarHeader} from './tar-fs'
import {OcirtError} from '../../core/errors'
import {debug} from '../../core/log'

/** An archive entry that would land outside the target directory, or that could not be placed. */
export class UnsafeTarEntry extends OcirtError {
  constructor(readonly entry: string, detail: string) {
    super(`refusing tar entry ${JSON.stringify(entry)}: ${detail}`, {step: 'extract'})
    this.name = 'UnsafeTarEntry'
  }
}

export class ExtractFailed extends OcirtError {
  constructor(dir: string, detail: string, options?: {cause?: unknown}) {
    super(`extracting into ${dir}: ${detail}`, {step: 'extract'}, options)
    this.name = 'ExtractFailed'
  }
}

type Callback = (err: NodeJS.ErrnoException | null) => void

export async function extractTree(dir: string, source: NodeJS.ReadableStream): Promise<{bytes: number; entries: number}> {
  const root = path.resolve(dir)
  await fs.promises.mkdir(root, {recursive: true, mode: 0o700})
  if ((await fs.promises.lstat(root)).isSymbolicLink()) throw new ExtractFailed(root, 'the target is a symlink')

  // the header of each entry by absolute path (tar-fs may chmod a directory twice: at mkdir and after utimes)
  const pending = new Map<string, TarHeader>()
  const specials: {name: string; header: TarHeader}[] = []
  let rootHeader: TarHeader | undefined
  let entries = 0
  let failure: Error | undefined

  const qfs = quickFs as typeof fs
  const xfs = {
    ...qfs,
    // tar-fs masks modes with 0o777; put the set-id and sticky bits back (chown came first, so they stay)
    chmod(p: string, mode: number, cb: Callback) {
      const h = pending.get(p)
      qfs.chmod(p, h ? h.mode! & 0o7777 : mode, cb)
    },
    // Linux has no lchmod and tar-fs then skips lchown too: give it one, and set the link's mtime there
    lchmod(p: string, _mode: number, cb: Callback) {
      const h = pending.get(p)
      if (!h?.mtime) return cb(null)
      qfs.lutimes(p, h.mtime, h.mtime, (err) => cb(err))
    },
  }

  const extract = tarFs.extract(root, {
    fs: xfs,
    umask: 0,
    validateSymlinks: false,
    ignore: (name: string, header?: TarHeader) => {
      if (!header || failure) return true
      entries++
      const bad = unsafeName(header.name) ?? (header.type === 'link' ? unsafeName(header.linkname ?? '') : undefined)
      if (bad) return stop(new UnsafeTarEntry(header.name, bad))
      const abs = path.resolve(name)
      if (abs === root) {
        rootHeader = header
        return false
      }
      if (!parentsAreDirs(root, abs)) return stop(new UnsafeTarEntry(header.name, 'a parent directory is a symlink or not a directory'))
      if (header.type === 'fifo' || header.type === 'character-device' || header.type === 'block-device') {
        specials.push({name: abs, header})
        return true
      }
      if (header.type !== 'symlink') removeSymlink(abs)
      pending.set(abs, header)
      return false
    },
  })

  // destroyed without an error: tar-stream would pass one on to the current entry's stream, which has no listener
  const stop = (err: Error): true => {
    failure ??= err
    extract.destroy()
    return true
  }

  let bytes = 0
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (bytes === 0) debug(`extract into ${root}: first bytes`)
      bytes += chunk.length
      cb(null, chunk)
    },
    flush(cb) {
      debug(`extract into ${root}: the stream ended after ${bytes} bytes`)
      cb()
    },
  })

  await new Promise<void>((resolve, reject) => {
    let settled = false
    const fail = (err: Error) => {
      if (settled) return
      settled = true
      counter.destroy()
      extract.destroy()
      ;(source as NodeJS.ReadableStream & {destroy?(): void}).destroy?.()
      reject(failure ?? (err instanceof OcirtError ? err : new ExtractFailed(root, err.message, {cause: err})))
    }
    source.on('error', fail)
    counter.on('error', fail)
    extract.on('error', fail)
    extract.on('finish', () => {
      if (settled) return
      settled = true
      resolve()
    })
    extract.on('close', () => fail(failure ?? new Error('the archive ended early')))
    source.pipe(counter).pipe(extract)
  })

  try {
    for (const s of specials) makeSpecial(root, s.name, s.header)
    if (rootHeader) applyMeta(root, rootHeader)
  } catch (e) {
    throw e instanceof OcirtError ? e : new ExtractFailed(root, (e as Error).message, {cause: e})
  }
  return {bytes, entries}
}

/** Why a name is unsafe, or undefined. */
function unsafeName(name: string): string | undefined {
  if (name.startsWith('/')) return 'absolute name'
  if (name.split('/').includes('..')) return 'name goes up with ".."'
  if (name.includes('\0')) return 'NUL in name'
  return undefined
}

/** Every existing component between root and abs's parent is a real directory (not a symlink). */
function parentsAreDirs(root: string, abs: string): boolean {
  if (!abs.startsWith(root + path.sep)) return false
  const parts = path.relative(root, path.dirname(abs)).split(path.sep).filter(Boolean)
  let p = root
  for (const part of parts) {
    p = path.join(p, part)
    try {
      if (!fs.lstatSync(p).isDirectory()) return false
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true
      throw e
    }
  }
  return true
}

function removeSymlink(abs: string): void {
  try {
    if (fs.lstatSync(abs).isSymbolicLink()) fs.unlinkSync(abs)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}

/** mknod/mkfifo (Node has neither), then owner, mode and mtime. */
function makeSpecial(root: string, abs: string, h: TarHeader): void {
  if (!parentsAreDirs(root, abs)) throw new UnsafeTarEntry(h.name, 'a parent directory is a symlink or not a directory')
  fs.mkdirSync(path.dirname(abs), {recursive: true, mode: 0o755})
  try {
    fs.rmSync(abs, {force: true})
  } catch {}
  const kind = h.type === 'fifo' ? ['p'] : [h.type === 'character-device' ? 'c' : 'b', String(h.devmajor ?? 0), String(h.devminor ?? 0)]
  const r = spawnSync('mknod', [abs, ...kind], {encoding: 'utf8'})
  if (r.status !== 0) throw new ExtractFailed(root, `mknod ${abs}: ${(r.error?.message ?? r.stderr).trim()}`)
  applyMeta(abs, h)
}

function applyMeta(abs: string, h: TarHeader): void {
  fs.lchownSync(abs, h.uid ?? 0, h.gid ?? 0)
  fs.chmodSync(abs, (h.mode ?? 0o755) & 0o7777)
  if (h.mtime) fs.utimesSync(abs, h.mtime, h.mtime)
}
