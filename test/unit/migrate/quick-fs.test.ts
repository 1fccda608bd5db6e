import {describe, it} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {Readable} from 'node:stream'
import {QUICK_READ_MAX, quickFs} from '../../../src/migrate/stream/quick-fs'

const q = quickFs as typeof fs & {createReadStream(p: string, o?: {start?: number; end?: number}): Readable}

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of r) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

describe('quickFs (tar-fs with synchronous calls)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-quickfs-'))
  const file = path.join(dir, 'f')
  fs.writeFileSync(file, 'abcdefghij')

  it('answers on a later tick, errors as the first argument', async () => {
    let returned = false
    const st = new Promise<{s: fs.Stats; late: boolean}>((resolve, reject) => q.lstat(file, (err, s) => (err ? reject(err) : resolve({s, late: returned}))))
    returned = true
    assert.equal((await st).s.size, 10)
    assert.equal((await st).late, true, 'the callback came after lstat returned')
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => q.stat(path.join(dir, 'missing'), (e) => resolve(e)))
    assert.equal(err?.code, 'ENOENT')
  })

  it('reads the inclusive range tar-fs asks for, and no more than the file has', async () => {
    assert.equal((await readAll(q.createReadStream(file, {start: 0, end: 9}))).toString(), 'abcdefghij')
    assert.equal((await readAll(q.createReadStream(file, {start: 2, end: 4}))).toString(), 'cde')
    // the file shrank after tar-fs took its size: the stream ends early, as fs.createReadStream's would
    assert.equal((await readAll(q.createReadStream(file, {start: 0, end: 19}))).toString(), 'abcdefghij')
    await assert.rejects(readAll(q.createReadStream(path.join(dir, 'missing'), {start: 0, end: 3})), /ENOENT/)
  })

  it('streams files larger than QUICK_READ_MAX through fs.createReadStream', () => {
    assert.ok(q.createReadStream(file, {start: 0, end: QUICK_READ_MAX}) instanceof fs.ReadStream)
    assert.ok(!(q.createReadStream(file, {start: 0, end: QUICK_READ_MAX - 1}) instanceof fs.ReadStream))
  })

  it('mkdir, chmod, utimes, unlink', async () => {
    const d = path.join(dir, 'a', 'b')
    const made = await new Promise<string | undefined>((resolve, reject) => q.mkdir(d, {recursive: true, mode: 0o700}, (e, m) => (e ? reject(e) : resolve(m as string | undefined))))
    assert.equal(made, path.join(dir, 'a'))
    await new Promise<void>((resolve, reject) => q.chmod(d, 0o751, (e) => (e ? reject(e) : resolve())))
    assert.equal(fs.statSync(d).mode & 0o777, 0o751)
    const t = new Date(1_000_000_000_000)
    await new Promise<void>((resolve, reject) => q.utimes(file, t, t, (e) => (e ? reject(e) : resolve())))
    assert.equal(fs.statSync(file).mtimeMs, t.getTime())
    fs.rmSync(dir, {recursive: true, force: true})
  })
})
