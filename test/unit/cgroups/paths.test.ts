// cgroupsPath resolution (runc 1.1 cgroupfs rules), /proc/self/cgroup and mountinfo parsing.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {cleanCgroupPath, dirInMount, parseCgroupMounts, parseProcCgroup, rebaseMount, resolveCgroupsPath} from '../../../src/core/cgroups/paths'
import {HOST_MOUNTINFO, HOST_PROC_CGROUP} from './fakefs'

describe('resolveCgroupsPath', () => {
  it('defaults to <id> relative to the runtime cgroup, as runc', () => {
    assert.equal(resolveCgroupsPath(undefined, 'web1', {rootless: false}), 'web1')
    assert.equal(resolveCgroupsPath('', 'web1', {rootless: true}), 'web1')
  })
  it('keeps absolute and relative paths, cleaned', () => {
    assert.equal(resolveCgroupsPath('/libpod_parent/libpod-abc', 'abc', {rootless: false}), '/libpod_parent/libpod-abc')
    assert.equal(resolveCgroupsPath('/a/../../b//c/', 'x', {rootless: false}), '/b/c')
    assert.equal(resolveCgroupsPath('../../pods/x', 'x', {rootless: false}), 'pods/x')
    assert.throws(() => resolveCgroupsPath('/', 'x', {rootless: false}), /must not be the root cgroup/)
  })
  it('cleanCgroupPath', () => {
    assert.equal(cleanCgroupPath('a/./b/..'), 'a')
    assert.equal(cleanCgroupPath('..'), '')
  })
})

describe('proc parsing', () => {
  it('parses /proc/self/cgroup per controller', () => {
    const own = parseProcCgroup(HOST_PROC_CGROUP + '10:cpu,cpuacct:/x\n')
    assert.equal(own.get('memory'), '/process_api/abc')
    assert.equal(own.get('name=systemd'), '/')
    assert.equal(own.get(''), '/')
    assert.equal(own.get('cpuacct'), '/x')
  })
  it('finds one mount per hierarchy, with controllers and the unified mount', () => {
    const mounts = parseCgroupMounts(HOST_MOUNTINFO + '\n50 30 0:28 / /mnt/cpu2 rw - cgroup cgroup rw,cpu\n')
    assert.equal(mounts.length, 10)
    assert.deepEqual(mounts[8], {controllers: ['name=systemd'], version: 1, mountPoint: '/sys/fs/cgroup/systemd', root: '/'})
    assert.deepEqual(mounts[9], {controllers: [], version: 2, mountPoint: '/sys/fs/cgroup/unified', root: '/'})
    assert.equal(rebaseMount(mounts[0], '/tmp/fake').mountPoint, '/tmp/fake/cpu')
  })
  it('maps cgroup paths into a mount whose root is not /', () => {
    const m = {controllers: ['memory'], version: 1 as const, mountPoint: '/sys/fs/cgroup/memory', root: '/docker/abc'}
    assert.equal(dirInMount(m, 'c1', '/docker/abc/sub'), '/sys/fs/cgroup/memory/sub/c1')
    assert.equal(dirInMount(m, '/c1', '/docker/abc'), '/sys/fs/cgroup/memory/c1')
  })
})
