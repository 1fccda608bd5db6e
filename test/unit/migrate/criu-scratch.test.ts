// The bundle's changes are read while CRIU dumps, and CRIU makes a scratch mount point in the container's /tmp (or
// root) for the mounts it must read without what is mounted on top: such a directory is not sent (transfer.ts).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {criuScratchIn} from '../../../src/migrate/transfer'
import {packTree} from '../../../src/migrate/stream'

function tmp(t: {after(fn: () => void): void}): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-scratch-'))
  t.after(() => fs.rmSync(d, {recursive: true, force: true}))
  return d
}

test("CRIU's scratch mount points in the rootfs's /tmp or root are left out, unless the sync saw them or they hold files", (t) => {
  const dir = tmp(t)
  for (const d of ['rootfs/tmp/cr-tmpfs.aB3xYz', 'rootfs/cr-tmpfs.000000', 'rootfs/tmp/cr-tmpfs.OLD123', 'rootfs/tmp/cr-tmpfs.full12']) {
    fs.mkdirSync(path.join(dir, d), {recursive: true})
  }
  fs.writeFileSync(path.join(dir, 'rootfs/tmp/cr-tmpfs.full12/f'), 'the container made this one')
  fs.writeFileSync(path.join(dir, 'rootfs/tmp/cr-tmpfs.file12'), 'a file')
  const scratch = criuScratchIn(dir, 'rootfs', new Set(['rootfs/tmp/cr-tmpfs.OLD123']))
  for (const rel of ['rootfs/tmp/cr-tmpfs.aB3xYz', 'rootfs/cr-tmpfs.000000', 'rootfs/tmp/cr-tmpfs.gone12']) assert.equal(scratch(rel), true, rel)
  for (const rel of [
    'rootfs/tmp/cr-tmpfs.OLD123', // the container's own: it was there at the sync
    'rootfs/tmp/cr-tmpfs.full12', // it holds a file: CRIU's is empty as the host sees it
    'rootfs/tmp/cr-tmpfs.file12', // a file
    'rootfs/tmp/cr-tmpfs.abc12', // not six characters
    'rootfs/tmp/cr-tmpfs.abc-12',
    'rootfs/var/tmp/cr-tmpfs.abcdef', // not where CRIU makes it
    'data/tmp/cr-tmpfs.abcdef', // not in the rootfs
    'rootfs/tmp/x/cr-tmpfs.abcdef',
    'rootfs/tmp',
  ]) assert.equal(scratch(rel), false, rel)
  // a rootfs synced as its own item (one that lives outside the bundle)
  const own = criuScratchIn(path.join(dir, 'rootfs'), '', new Set())
  assert.equal(own('tmp/cr-tmpfs.aB3xYz'), true)
  assert.equal(own('cr-tmpfs.000000'), true)
  assert.equal(own('etc/cr-tmpfs.aB3xYz'), false)
})

test('a pack with the filter leaves the scratch directory out, and sends the rest', async (t) => {
  const dir = tmp(t)
  fs.mkdirSync(path.join(dir, 'rootfs/tmp/cr-tmpfs.aB3xYz'), {recursive: true})
  fs.writeFileSync(path.join(dir, 'rootfs/tmp/kept'), 'y')
  const chunks: Buffer[] = []
  for await (const c of packTree(dir, {ignore: criuScratchIn(dir, 'rootfs', new Set())}) as AsyncIterable<Buffer>) chunks.push(c)
  const tar = Buffer.concat(chunks).toString('latin1')
  assert.match(tar, /rootfs\/tmp\/kept/)
  assert.doesNotMatch(tar, /cr-tmpfs/)
})
