import {describe, it} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {readSmallImageDir, writeImageFiles} from '../../../src/migrate/image-files'

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-imgfiles-'))

describe('image files sent in-band', () => {
  it('a small flat directory round-trips, 0600', () => {
    const src = tmp()
    const dst = tmp()
    fs.writeFileSync(path.join(src, 'core-1.img'), Buffer.from([0, 1, 2, 255]))
    fs.writeFileSync(path.join(src, 'inventory.img'), 'x')
    const files = readSmallImageDir(src)!
    assert.deepEqual(files.map((f) => f.name), ['core-1.img', 'inventory.img'])
    assert.equal(writeImageFiles(dst, files), 5)
    assert.deepEqual(fs.readFileSync(path.join(dst, 'core-1.img')), Buffer.from([0, 1, 2, 255]))
    assert.equal(fs.statSync(path.join(dst, 'inventory.img')).mode & 0o777, 0o600)
    fs.rmSync(src, {recursive: true})
    fs.rmSync(dst, {recursive: true})
  })

  it('leaves to the tar channel what is not small and flat', () => {
    const src = tmp()
    fs.writeFileSync(path.join(src, 'a.img'), Buffer.alloc(600))
    fs.writeFileSync(path.join(src, 'b.img'), Buffer.alloc(600))
    assert.equal(readSmallImageDir(src, 1000), undefined, 'more than the limit')
    assert.ok(readSmallImageDir(src, 1200))
    fs.mkdirSync(path.join(src, 'sub'))
    assert.equal(readSmallImageDir(src), undefined, 'a subdirectory')
    fs.rmSync(src, {recursive: true})
  })

  it('refuses names that are not plain, and never writes over or through what is there', () => {
    const dst = tmp()
    for (const name of ['../x', 'a/b', '.', '..', '', 'a\0b']) {
      assert.throws(() => writeImageFiles(dst, [{name, data: ''}]), /refusing image file name/)
    }
    fs.symlinkSync('/etc/passwd', path.join(dst, 'link.img'))
    assert.throws(() => writeImageFiles(dst, [{name: 'link.img', data: 'eA=='}]), /EEXIST/)
    assert.equal(fs.readlinkSync(path.join(dst, 'link.img')), '/etc/passwd')
    assert.deepEqual(fs.readdirSync(dst), ['link.img'], 'a bad name anywhere in the list writes nothing')
    fs.rmSync(dst, {recursive: true})
  })
})
