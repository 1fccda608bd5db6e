import {describe, it} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {ensureKdatCache, type KdatPaths} from '../../../src/core/criu/kdat'
import type {Runtime} from '../../../src/core/runtime'

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-kdat-'))
  const run = path.join(dir, 'run')
  const dev = path.join(dir, 'dev')
  fs.mkdirSync(run)
  fs.mkdirSync(dev)
  const p: KdatPaths = {run, link: path.join(run, 'criu.kdat'), store: path.join(dev, '.ocirt-criu.kdat'), storeDir: dev}
  // a real binary, so that the cache key (path, size, mtime, boot) exists
  const rt = {criu: process.execPath, root: dir} as unknown as Runtime
  let made = 0
  const make = () => (made++, Buffer.from('kdat'))
  return {dir, p, rt, make, made: () => made}
}

describe('ensureKdatCache', () => {
  it('does nothing where /run is a tmpfs: criu keeps its own cache there', () => {
    const s = setup()
    assert.equal(ensureKdatCache(s.rt, s.p, () => true, s.make), 'criu keeps it')
    assert.equal(s.made(), 0)
    assert.ok(!fs.existsSync(s.p.link))
    fs.rmSync(s.dir, {recursive: true})
  })

  it('makes the file once per criu binary and boot, in the store, and links it from /run', () => {
    const s = setup()
    const notRun = (d: string) => d !== s.p.run
    assert.equal(ensureKdatCache(s.rt, s.p, notRun, s.make), 'made')
    assert.equal(fs.readlinkSync(s.p.link), s.p.store)
    assert.equal(fs.readFileSync(s.p.link, 'utf8'), 'kdat')
    assert.equal(fs.statSync(s.p.store).mode & 0o777, 0o600)
    assert.equal(ensureKdatCache(s.rt, s.p, notRun, s.make), 'cached')
    assert.equal(s.made(), 1)
    // another criu binary (or another boot): made again
    fs.writeFileSync(`${s.p.store}.key`, 'other')
    assert.equal(ensureKdatCache(s.rt, s.p, notRun, s.make), 'made')
    // after a reboot the store is gone and the link dangles: made again, the link kept
    fs.rmSync(s.p.store)
    assert.equal(ensureKdatCache(s.rt, s.p, notRun, s.make), 'made')
    assert.equal(s.made(), 3)
    fs.rmSync(s.dir, {recursive: true})
  })

  it("never touches a /run/criu.kdat that is not its link, and needs a tmpfs for the store", () => {
    const s = setup()
    fs.writeFileSync(s.p.link, 'someone else')
    assert.equal(ensureKdatCache(s.rt, s.p, (d) => d !== s.p.run, s.make), 'not ours')
    assert.equal(fs.readFileSync(s.p.link, 'utf8'), 'someone else')
    fs.rmSync(s.p.link)
    assert.equal(ensureKdatCache(s.rt, s.p, () => false, s.make), 'unavailable')
    assert.ok(!fs.existsSync(s.p.link))
    assert.equal(ensureKdatCache(s.rt, s.p, (d) => d !== s.p.run, () => undefined), 'unavailable', 'criu could not make it')
    assert.ok(!fs.existsSync(s.p.link))
    assert.equal(s.made(), 0)
    fs.rmSync(s.dir, {recursive: true})
  })
})
