// The keys that carry a read-only tmpfs's content through a checkpoint (src/core/criu/tmpfs-skeleton.ts).
import {it} from 'node:test'
import assert from 'node:assert/strict'
import {parseSkeletonKey, skeletonKey} from '../../../src/core/criu/tmpfs-skeleton'

it('a skeleton and its key go both ways; CRIU\'s separator never appears in a key', () => {
  for (const s of [{mode: 0o1777, dirs: []}, {mode: 0o755, dirs: ['blkio', 'cpu,cpuacct', 'net_cls,net_prio', 'name=x']}]) {
    const key = skeletonKey(s)
    assert.ok(!key.includes(':'), key)
    assert.deepEqual(parseSkeletonKey(key), s)
  }
})

it('other keys, and keys that would build outside the tmpfs, are not skeletons', () => {
  for (const key of ['/dev/null', '/sys/fs/cgroup', 'ocirt-tmpfs/', 'ocirt-tmpfs/9/', 'ocirt-tmpfs/755', 'ocirt-tmpfs/755/..',
    'ocirt-tmpfs/755/a%2Fb', 'ocirt-tmpfs/755/a,,b', 'ocirt-tmpfs/755/%E0%A4%A', 'ocirt-tmpfs/755/a%7Cb', 'ocirt-tmpfs/755/a%0Ab']) {
    assert.equal(parseSkeletonKey(key), undefined, key)
  }
})
