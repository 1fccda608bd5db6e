// The images of a post-copy dump are a flat directory of small files (~70 KiB here: everything but the memory).
// Sent inside the freeze, they go as one `put-images` request on the agent's conversation instead of a tar stream:
// no tar packing and unpacking of ~40 files, no unpacker process to answer, one round trip. A small stop-copy dump
// qualifies too; anything else (more than INLINE_MAX bytes, a subdirectory, pre-copy's `parent` symlink) keeps the
// tar channel.
import * as fs from 'node:fs'
import * as path from 'node:path'

export const INLINE_MAX = 1 << 20

export interface ImageFile {
  name: string
  /** the file's bytes, base64 */
  data: string
}

/** The image directory as files to send in-band, or undefined when it is not a small flat set of regular files. */
export function readSmallImageDir(dir: string, max = INLINE_MAX): ImageFile[] | undefined {
  const files: ImageFile[] = []
  let total = 0
  for (const name of fs.readdirSync(dir).sort()) {
    const st = fs.lstatSync(path.join(dir, name))
    if (!st.isFile()) return undefined
    total += st.size
    if (total > max) return undefined
    files.push({name, data: fs.readFileSync(path.join(dir, name)).toString('base64')})
  }
  return files
}

/** A plain file name: no directory part, not "." or "..". */
export function isPlainName(name: string): boolean {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0')
}

/**
 * The agent's side: writes each file into dir (0600, as CRIU's own images), refusing names that are not plain and
 * files that already exist (never through a symlink). Returns the bytes written.
 */
export function writeImageFiles(dir: string, files: ImageFile[]): number {
  for (const f of files) {
    if (!isPlainName(f.name)) throw new Error(`refusing image file name ${JSON.stringify(String(f.name)).slice(0, 100)}`)
  }
  let bytes = 0
  for (const f of files) {
    const data = Buffer.from(f.data, 'base64')
    // wx: O_CREAT | O_EXCL, which also refuses a symlink standing there
    fs.writeFileSync(path.join(dir, f.name), data, {mode: 0o600, flag: 'wx'})
    bytes += data.length
  }
  return bytes
}
