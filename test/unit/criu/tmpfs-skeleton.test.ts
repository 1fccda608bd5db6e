// The keys that carry a read-only tmpfs's content through a checkpoint (src/core/criu/tmpfs-skeleton.ts).
import {it} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {devName, parseSkeletonKey, skeletonKey} from '../../../src/core/criu/tmpfs-skeleton'
import {parseMountinfo} from '../../../src/core/sys/mountinfo'

it('a skeleton and its key go both ways; CRIU\'s separator never appears in a key', () => {
  for (const s of [{mode: 0o1777, dirs: []}, {mode: 0o755, dirs: ['blkio', 'cpu,cpuacct', 'net_cls,net_prio', 'name=x']},
    {mode: 0o1777, dirs: [], writable: {at: '/dev/shm', options: ['size=65536k']}}, {mode: 0o755, dirs: ['a'], writable: {at: '/a%b,c', options: []}},
    {mode: 0o700, dirs: ['x', 'y'], writable: {at: '/run', options: ['size=10%', 'nr_inodes=4k', 'huge=within_size', 'inode64']}},
    {mode: 0o755, dirs: ['mqueue', 'pts', 'shm'], writable: {at: '/dev', options: ['size=65536k']}, nodes: [
      {name: 'fd', type: 'link' as const, target: '/proc/self/fd'}, {name: 'null', type: 'char' as const, mode: 0o666, major: 1, minor: 3},
      {name: 'ptmx', type: 'link' as const, target: 'pts/ptmx'}, {name: 'tty', type: 'char' as const, mode: 0o666, major: 5, minor: 0}]}]) {
    const key = skeletonKey(s)
    assert.ok(!key.includes(':'), key)
    assert.deepEqual(parseSkeletonKey(key), s)
  }
})

it('a writable skeleton\'s key says so apart from a read-only one\'s: an older restore, not knowing it, finds no bind for it', () => {
  assert.equal(skeletonKey({mode: 0o1777, dirs: [], writable: {at: '/dev/shm', options: ['size=65536k']}}), 'ocirt-tmpfs-rw/%2Fdev%2Fshm/1777/size=65536k/')
  assert.equal(skeletonKey({mode: 0o755, dirs: ['pts'], writable: {at: '/dev', options: []}, nodes: [{name: 'null', type: 'char', mode: 0o666, major: 1, minor: 3}, {name: 'fd', type: 'link', target: '/proc/self/fd'}]}),
    'ocirt-tmpfs-rw/%2Fdev/755//pts/c=666=1=3=null,l=/proc/self/fd=fd')
  assert.equal(skeletonKey({mode: 0o1777, dirs: []}), 'ocirt-tmpfs/1777/')
  // two alike writable ones at two points: two keys, a tmpfs each on restore (read-only ones may share one)
  const alike = (at: string) => skeletonKey({mode: 0o1777, dirs: [], writable: {at, options: []}})
  assert.notEqual(alike('/tmp'), alike('/var/tmp'))
})

it('other keys, and keys that would build outside the tmpfs or pass other mount options, are not skeletons', () => {
  for (const key of ['/dev/null', '/sys/fs/cgroup', 'ocirt-tmpfs/', 'ocirt-tmpfs/9/', 'ocirt-tmpfs/755', 'ocirt-tmpfs/755/..',
    'ocirt-tmpfs/755/a%2Fb', 'ocirt-tmpfs/755/a,,b', 'ocirt-tmpfs/755/%E0%A4%A', 'ocirt-tmpfs/755/a%7Cb', 'ocirt-tmpfs/755/a%0Ab',
    'ocirt-tmpfs-rw/%2Fs/1777/', 'ocirt-tmpfs-rw/%2Fs/1777/uid=1000/', 'ocirt-tmpfs-rw/%2Fs/1777/size=1k,mpol=bind/', 'ocirt-tmpfs-rw/%2Fs/1777/size=1k,ro/',
    'ocirt-tmpfs-rw/%2Fs/1777/size=1k%2Cexec/', 'ocirt-tmpfs-rw/%2Fs/1777/size=1k/..',
    // the mount point: missing, relative, with CRIU's separator, badly encoded
    'ocirt-tmpfs-rw/1777/size=1k/', 'ocirt-tmpfs-rw/s/1777/size=1k/', 'ocirt-tmpfs-rw/%2Fa%3Ab/1777/size=1k/', 'ocirt-tmpfs-rw/%E0%A4%A/1777//',
    // device nodes and symlinks: a name that leaves the tmpfs, a target with a separator, twice the same name, junk, set-id bits
    'ocirt-tmpfs-rw/%2Fd/755//pts/c=666=1=3=..', 'ocirt-tmpfs-rw/%2Fd/755//pts/l=/a b=x', 'ocirt-tmpfs-rw/%2Fd/755//pts/l=a:b=x',
    'ocirt-tmpfs-rw/%2Fd/755//pts/c=666=1=3=pts', 'ocirt-tmpfs-rw/%2Fd/755///c=666=1=3=n,c=666=1=5=n', 'ocirt-tmpfs-rw/%2Fd/755///', 'ocirt-tmpfs-rw/%2Fd/755//x/b=1',
    'ocirt-tmpfs-rw/%2Fd/755//x/c=99999=1=3=n', 'ocirt-tmpfs-rw/%2Fd/755//x/c=666=1=3=a/b', 'ocirt-tmpfs-rw/%2Fd/755//x/c=4755=1=3=n']) {
    assert.equal(parseSkeletonKey(key), undefined, key)
  }
})

it('st_dev decodes to mountinfo\'s major:minor, small and large numbers alike', () => {
  // glibc's makedev: 12 bits of major at bit 8 and the rest at bit 32, 8 bits of minor at 0 and the rest at bit 12
  const makedev = (major: bigint, minor: bigint) => ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n)
  assert.equal(devName(0x801n), '8:1')
  assert.equal(devName(0x2dn), '0:45')
  assert.equal(devName(makedev(4660n, 354185n)), '4660:354185')
  // this process's root, as the kernel reports it both ways
  const root = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.mountPoint === '/').pop()!
  assert.equal(devName(fs.statSync('/', {bigint: true}).dev), root.dev)
})
