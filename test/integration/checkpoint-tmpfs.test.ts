// The contents of a container's tmpfs mounts across checkpoint and restore, through ocirt's own `tar` for CRIU
// (native/tmpfs-tar, first in criu's PATH): CRIU archives /dev, /dev/shm and the masked directories with it and
// extracts them with it, and what the container finds in /dev/shm after the restore is what it had. A hard
// link in /dev/shm makes the shim hand that mount to GNU tar, whose archive the shim extracts on restore.
// OCIRT_TMPFS_TAR_DEBUG=1 makes the shim log each run into CRIU's logs, which is how the test knows it ran; the
// restore's --debug output shows that criu was started by native/build/ocirt-criu-launch.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {spawnSync} from 'node:child_process'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {stateOf} from '../helpers/containers'
import {assertContinues, counterBundle, images, last, runCounter} from '../helpers/counter'

const NEEDS = ['root', 'criu', 'probe', 'ocirt'] as const
const ENV = {OCIRT_TMPFS_TAR_DEBUG: '1'}

/** /dev/shm of a running container, seen from the host. */
const shmOf = (pid: number) => `/proc/${pid}/root/dev/shm`

function fill(shm: string): void {
  fs.mkdirSync(path.join(shm, 'dir', 'sub'), {recursive: true})
  fs.writeFileSync(path.join(shm, 'dir', 'sub', 'note'), 'kept across the restore\n')
  fs.writeFileSync(path.join(shm, 'segment'), Buffer.alloc(2 << 20, 0x5a))
  fs.symlinkSync('segment', path.join(shm, 'alias'))
  assert.equal(spawnSync('mkfifo', [path.join(shm, 'pipe')]).status, 0, 'mkfifo')
  fs.chmodSync(path.join(shm, 'dir'), 0o750)
  fs.chownSync(path.join(shm, 'dir'), 1234, 1234)
  fs.chmodSync(path.join(shm, 'segment'), 0o2640)
  const t = new Date('2021-02-03T04:05:06Z')
  fs.utimesSync(path.join(shm, 'dir', 'sub'), t, t)
}

function describeTree(root: string): string[] {
  const out: string[] = []
  const walk = (rel: string) => {
    const st = fs.lstatSync(path.join(root, rel))
    let line = `${rel || '.'} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)} ino-nlink=${st.nlink}`
    if (st.isFile()) line += ` ${fs.readFileSync(path.join(root, rel)).toString('base64').length}`
    if (st.isSymbolicLink()) line += ` -> ${fs.readlinkSync(path.join(root, rel))}`
    out.push(line)
    if (st.isDirectory()) for (const n of fs.readdirSync(path.join(root, rel)).sort()) walk(path.join(rel, n))
  }
  walk('')
  return out
}

const tarImages = (img: string) => fs.readdirSync(img).filter((f) => /^tmpfs-dev-\d+\.tar\.gz\.img$/.test(f))
const lines = (file: string, re: RegExp) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => re.test(l))

test('tmpfs contents go through ocirt\'s tar on checkpoint and restore, and come back as they were', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t, {idPrefix: 'tmpfs-tar'})
  const pid = await runCounter(b)
  fill(shmOf(pid))
  const before = describeTree(shmOf(pid))
  const img = images(b)

  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id], {env: ENV}), 'checkpoint')
  const archives = tarImages(img)
  assert.ok(archives.length >= 2, `CRIU saved /dev, /dev/shm and the masked dirs: ${archives.join(' ')}`)
  const created = lines(path.join(img, 'dump.log'), /ocirt tmpfs-tar: created \d+ entries/)
  assert.equal(created.length, archives.length, `the shim made every archive:\n${created.join('\n')}`)
  assert.deepEqual(lines(path.join(img, 'dump.log'), /running GNU tar/), [], 'no fallback')
  const at = last(b.file)
  const offset = fs.statSync(b.file).size

  const restore = await b.ocirt(['--debug', 'restore', '-d', '--image-path', img, '--bundle', b.dir, b.id], {env: ENV})
  assertOk(restore, 'restore')
  assert.match(restore.stderr, /run \S+ restore .* \(through \S+\/native\/build\/ocirt-criu-launch\)/, 'criu started by the launcher')
  const extracted = lines(path.join(img, 'restore.log'), /ocirt tmpfs-tar: extracted \d+ entries/)
  assert.equal(extracted.length, archives.length, `the shim extracted every archive:\n${extracted.join('\n')}`)
  const st = await stateOf(b)
  assert.deepEqual(describeTree(shmOf(st.pid)), before, '/dev/shm as it was: modes, owners, mtimes, contents, link, fifo')
  assert.ok(fs.readFileSync(path.join(shmOf(st.pid), 'segment')).every((x) => x === 0x5a))
  await assertContinues(b.file, at, offset)
})

test('a hard link in /dev/shm: that mount goes through GNU tar, and the shim extracts its archive', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t, {idPrefix: 'tmpfs-tar-hl'})
  const pid = await runCounter(b)
  const shm = shmOf(pid)
  fs.writeFileSync(path.join(shm, 'one'), 'same inode')
  fs.linkSync(path.join(shm, 'one'), path.join(shm, 'two'))
  const img = images(b)

  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id], {env: ENV}), 'checkpoint')
  const dumpLog = path.join(img, 'dump.log')
  assert.equal(lines(dumpLog, /\.\/one is hard-linked: running GNU tar/).length, 1, 'the fallback, once')
  assert.equal(lines(dumpLog, /ocirt tmpfs-tar: created/).length, tarImages(img).length - 1, 'the shim made the others')

  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id], {env: ENV}), 'restore')
  assert.equal(lines(path.join(img, 'restore.log'), /ocirt tmpfs-tar: extracted/).length, tarImages(img).length, 'GNU tar\'s archive too')
  const restored = shmOf((await stateOf(b)).pid)
  assert.equal(fs.statSync(path.join(restored, 'one')).ino, fs.statSync(path.join(restored, 'two')).ino, 'still one inode')
  assert.equal(fs.readFileSync(path.join(restored, 'two'), 'utf8'), 'same inode')
})
