// The read-only tmpfs mounts ocirt makes (the masked directories, the v1 cgroup tmpfs at /sys/fs/cgroup) are not
// tar'd by CRIU: checkpoint stores them as external mounts under a key that describes their content, and restore
// rebuilds them in criu's own mount namespace (src/core/criu/tmpfs-skeleton.ts, native/criu-launch.c --tmpfs).
// The restored container must see them as before: tmpfs, read-only with the same mount flags, the same
// directories and modes; nothing of them is left on the host. A masked directory that was made writable and
// written to is not one of them: CRIU's tar keeps what it holds.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {spawnSync} from 'node:child_process'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {stateOf} from '../helpers/containers'
import {assertContinues, counterBundle, images, last, runCounter, type Counter} from '../helpers/counter'

const NEEDS = ['root', 'criu', 'probe', 'ocirt', 'cgroup-v1'] as const

const tarImages = (img: string) => fs.readdirSync(img).filter((f) => /^tmpfs-dev-\d+\.tar\.gz\.img$/.test(f))
const keysOf = (img: string): string[] => JSON.parse(fs.readFileSync(path.join(img, 'ocirt-checkpoint.json'), 'utf8')).extMountKeys

/** The container's view of its tmpfs mounts at these points: per-mount options, fstype, root mode, entries. */
function view(pid: number, points: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    const f = line.split(' ')
    if (!points.includes(f[4])) continue
    const [fstype] = line.slice(line.indexOf(' - ') + 3).split(' ')
    const dir = path.join(`/proc/${pid}/root`, f[4])
    out[f[4]] = `${f[5]} ${fstype} ${(fs.statSync(dir).mode & 0o7777).toString(8)} [${fs.readdirSync(dir).sort().join(' ')}]`
  }
  return out
}

/** A counter whose spec mounts the cgroups read-only at /sys/fs/cgroup, as `ocirt spec` writes it. */
function withCgroupMount(b: Counter): Counter {
  b.writeSpec((spec) => {
    spec.mounts = (spec.mounts ?? []).filter((m) => m.type !== 'cgroup')
    spec.mounts.push({destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']})
  })
  return b
}

/** The masked directories this kernel has (the spec's defaults differ by kernel), and the cgroup tmpfs. */
function pointsOf(pid: number): string[] {
  const maskedDirs = ['/proc/acpi', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap']
    .filter((p) => fs.existsSync(path.join(`/proc/${pid}/root`, p)) && fs.statSync(path.join(`/proc/${pid}/root`, p)).isDirectory())
  return [...maskedDirs, '/sys/fs/cgroup']
}

test('masked directories and the cgroup tmpfs are rebuilt on restore, not tar\'d, and look as they did', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = withCgroupMount(counterBundle(t, {idPrefix: 'tmpfs-skel'}))
  const pid = await runCounter(b)
  const points = pointsOf(pid)
  const before = view(pid, points)
  assert.equal(Object.keys(before).length, points.length, `every point is a mount: ${JSON.stringify(before)}`)
  const img = images(b)

  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  const skeletons = keysOf(img).filter((k) => k.startsWith('ocirt-tmpfs/'))
  assert.ok(skeletons.some((k) => /^ocirt-tmpfs\/755\/.*\bfreezer\b/.test(k)), `the cgroup tmpfs: ${skeletons.join(' ')}`)
  assert.ok(skeletons.includes('ocirt-tmpfs/1777/'), `an empty masked directory: ${skeletons.join(' ')}`)
  assert.equal(tarImages(img).length, 2, `only /dev and /dev/shm are tar'd: ${tarImages(img).join(' ')}`)
  const at = last(b.file)
  const offset = fs.statSync(b.file).size

  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  const restored = (await stateOf(b)).pid
  assert.deepEqual(view(restored, points), before, 'the same flags, fstype, mode and directories')
  for (const p of points) {
    const w = spawnSync('nsenter', ['-t', String(restored), '-m', 'touch', path.join(p, 'x')], {encoding: 'utf8'})
    assert.match(w.stderr, /Read-only file system/, `${p} stays read-only`)
  }
  const stateDir = path.join(b.root, b.id)
  assert.deepEqual(fs.readdirSync(stateDir).filter((n) => n.startsWith('criu-')), [], 'no directory of the restore is left')
  assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(stateDir), 'and no mount on the host')
  await assertContinues(b.file, at, offset)
})

test('OCIRT_TMPFS_SKELETON=0 leaves them to CRIU\'s tar; a masked directory made writable and written to goes through tar', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = withCgroupMount(counterBundle(t, {idPrefix: 'tmpfs-skel-off'}))
  const pid = await runCounter(b)
  const points = pointsOf(pid)
  const img = images(b)
  assertOk(await b.ocirt(['checkpoint', '--leave-running', '--image-path', img, b.id], {env: {OCIRT_TMPFS_SKELETON: '0'}}), 'checkpoint')
  assert.deepEqual(keysOf(img).filter((k) => k.startsWith('ocirt-tmpfs/')), [])
  assert.equal(tarImages(img).length, 2 + points.length, tarImages(img).join(' '))

  // the first masked directory, remounted writable from the host's side of its mount namespace, holds a file now
  const masked = points[0]
  assert.equal(spawnSync('nsenter', ['-t', String(pid), '-m', '-p', 'mount', '-o', 'remount,rw', masked]).status, 0, 'remount rw')
  fs.writeFileSync(path.join(`/proc/${pid}/root`, masked, 'note'), 'written while writable\n')
  const img2 = images(b, 'images2')
  assertOk(await b.ocirt(['checkpoint', '--image-path', img2, b.id]), 'checkpoint')
  assert.equal(tarImages(img2).length, 3, `/dev, /dev/shm and ${masked}: ${tarImages(img2).join(' ')}`)
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img2, '--bundle', b.dir, b.id]), 'restore')
  const restored = (await stateOf(b)).pid
  assert.equal(fs.readFileSync(path.join(`/proc/${restored}/root`, masked, 'note'), 'utf8'), 'written while writable\n')
})

/** The container's /dev as a listing: each entry's type, mode, owner, device numbers or link target. */
function devListing(pid: number): string[] {
  const dev = path.join(`/proc/${pid}/root`, 'dev')
  return fs.readdirSync(dev).sort().map((n) => {
    const st = fs.lstatSync(path.join(dev, n))
    const kind = st.isCharacterDevice() ? `c ${st.rdev}` : st.isSymbolicLink() ? `l ${fs.readlinkSync(path.join(dev, n))}` : st.isDirectory() ? 'd' : 'other'
    return `${n} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`
  })
}

test('a paused container\'s /dev and empty /dev/shm are rebuilt writable from their description, not tar\'d; a /dev/shm that holds a file is tar\'d', async (t) => {
  if (!requires(t, ...NEEDS)) return
  for (const withFile of [false, true]) {
    const b = counterBundle(t, {idPrefix: withFile ? 'tmpfs-shm-file' : 'tmpfs-shm'})
    const pid = await runCounter(b)
    const shm = path.join(`/proc/${pid}/root`, 'dev', 'shm')
    if (withFile) fs.writeFileSync(path.join(shm, 'seg'), 'shared\n')
    const before = view(pid, ['/dev', '/dev/shm'])
    const devBefore = devListing(pid)
    assert.match(before['/dev/shm'], /^rw,.* tmpfs 1777 /, before['/dev/shm'])
    const running = images(b, 'running')
    assertOk(await b.ocirt(['checkpoint', '--leave-running', '--image-path', running, b.id]), 'checkpoint while running')
    assert.ok(!keysOf(running).some((k) => k.startsWith('ocirt-tmpfs-rw/')), 'running: it could be written to before CRIU freezes it, so tar')

    assertOk(await b.ocirt(['pause', b.id]), 'pause')
    const img = images(b)
    assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint while paused')
    const rw = keysOf(img).filter((k) => k.startsWith('ocirt-tmpfs-rw/'))
    const devKey = rw.find((k) => k.includes('c=666=1=3=null'))
    assert.ok(devKey, `/dev described, its device nodes and links with it: ${rw.join(' ')}`)
    // (a kernel with CONFIG_TMPFS_INODE64 shows inode64 among the options too)
    assert.match(devKey, /^ocirt-tmpfs-rw\/%2Fdev\/755\/size=65536k[^/]*\/mqueue,pts,shm\/.*l=\/proc\/self\/fd=fd/)
    if (withFile) {
      assert.deepEqual(rw, [devKey], 'a file in /dev/shm: tar for it')
      assert.equal(tarImages(img).length, 1, tarImages(img).join(' '))
    } else {
      const shmKeys = rw.filter((k) => k !== devKey)
      assert.equal(shmKeys.length, 1, rw.join(' '))
      assert.match(shmKeys[0], /^ocirt-tmpfs-rw\/%2Fdev%2Fshm\/1777\/size=65536k(,[^/]*)?\/$/, "/dev/shm's size from its mount options")
      assert.equal(tarImages(img).length, 0, `nothing tar'd: ${tarImages(img).join(' ')}`)
    }
    const at = last(b.file)
    const offset = fs.statSync(b.file).size
    assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
    const s = await stateOf(b)
    if (s.status === 'paused') assertOk(await b.ocirt(['resume', b.id]), 'resume')
    const restored = s.pid
    assert.deepEqual(view(restored, ['/dev', '/dev/shm']), before, 'the same flags, fstype, mode and directories')
    assert.deepEqual(devListing(restored), devBefore, 'the same device nodes, links and directories in /dev')
    const again = path.join(`/proc/${restored}/root`, 'dev')
    if (withFile) assert.equal(fs.readFileSync(path.join(again, 'shm', 'seg'), 'utf8'), 'shared\n')
    fs.writeFileSync(path.join(again, 'shm', 'new'), 'x') // writable after the restore
    const zero = fs.openSync(path.join(again, 'zero'), 'r')
    const four = Buffer.alloc(4, 0xff)
    assert.equal(fs.readSync(zero, four, 0, 4, null), 4)
    fs.closeSync(zero)
    assert.deepEqual([...four], [0, 0, 0, 0], '/dev/zero is the device again')
    const line = fs.readFileSync(`/proc/${restored}/mountinfo`, 'utf8').split('\n').filter((l) => l.split(' ')[4] === '/dev/shm').pop()
    assert.match(line ?? '', / - tmpfs \S+ rw,size=65536k(,|$)/, 'a tmpfs of that size')
    await assertContinues(b.file, at, offset)
  }
})

test('two alike empty writable tmpfs mounts come back as two, not one tmpfs bound twice', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t, {idPrefix: 'tmpfs-twins'})
  b.writeSpec((spec) => {
    for (const d of ['/scratch-a', '/scratch-b']) spec.mounts!.push({destination: d, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=1m']})
  })
  await runCounter(b)
  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  const img = images(b)
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  const keys = keysOf(img).filter((k) => /^ocirt-tmpfs-rw\/%2Fscratch-[ab]\//.test(k))
  assert.equal(new Set(keys).size, 2, `a key each: ${keys.join(' ')}`)
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  const s = await stateOf(b)
  if (s.status === 'paused') assertOk(await b.ocirt(['resume', b.id]), 'resume')
  const root = `/proc/${s.pid}/root`
  fs.writeFileSync(path.join(root, 'scratch-a', 'only-here'), 'a')
  assert.deepEqual(fs.readdirSync(path.join(root, 'scratch-b')), [], 'the other one stays empty')
  const devs = fs.readFileSync(`/proc/${s.pid}/mountinfo`, 'utf8').split('\n').filter((l) => / \/scratch-[ab] /.test(l)).map((l) => l.split(' ')[2])
  assert.equal(new Set(devs).size, 2, `two superblocks: ${devs.join(' ')}`)
})
