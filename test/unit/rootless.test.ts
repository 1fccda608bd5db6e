// The rootless policies that need no user to test: when auto means rootless, where a cgroup-less container's
// /sys/fs/cgroup comes from, sysfs in a user namespace that shares the runtime's network namespace, and
// additional groups.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {isRootless} from '../../src/core/runtime'
import {ownCgroupDirs} from '../../src/core/cgroups'
import {planMounts} from '../../src/core/mounts/plan'
import {MS} from '../../src/core/mounts/options'
import {rootlessSpec} from '../../src/core/spec/defaults'
import {processPlan} from '../../src/core/init/process-plan'
import {HOST_MOUNTINFO, HOST_PROC_CGROUP} from './cgroups/fakefs'

test('--rootless auto: a non-root euid, or root of a user namespace other than the initial one', () => {
  assert.equal(isRootless('auto', 1000, () => false), true)
  assert.equal(isRootless('auto', 0, () => false), false)
  assert.equal(isRootless('auto', 0, () => true), true, 'unshare -r, rootlesskit')
  assert.equal(isRootless('false', 0, () => true), false)
  assert.equal(isRootless('true', 0, () => false), true)
})

test('ownCgroupDirs: the caller\'s cgroup in every hierarchy, keyed as the managers\' paths()', () => {
  const dirs = ownCgroupDirs({mountinfo: HOST_MOUNTINFO, procCgroup: HOST_PROC_CGROUP})
  assert.equal(dirs.memory, '/sys/fs/cgroup/memory/process_api/abc')
  assert.equal(dirs.pids, '/sys/fs/cgroup/pids')
  assert.equal(dirs['name=systemd'], '/sys/fs/cgroup/systemd')
  assert.equal(dirs[''], '/sys/fs/cgroup/unified')
  const v2 = ownCgroupDirs({mountinfo: '40 30 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw', procCgroup: '0::/user.slice/u\n'})
  assert.deepEqual(v2, {'': '/sys/fs/cgroup/user.slice/u'})
})

function plan(spec = rootlessSpec(1000, 1000), sharedNetns = true) {
  return planMounts({
    spec, bundle: '/b', rootfs: '/', userns: true, cgroupns: false, sharedNetns,
    cgroupPaths: {}, cgroupVersion: 'v1', ctx: {verb: 'create', id: 'c'},
  })
}

test('sysfs in a user namespace left in the runtime\'s network namespace becomes a bind of the host\'s /sys', () => {
  const spec = rootlessSpec(1000, 1000)
  const sys = spec.mounts!.find((m) => m.destination === '/sys')!
  Object.assign(sys, {type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']})
  const step = plan(spec).mounts.find((m) => m.target === '/sys')!
  assert.equal(step.source, '/sys')
  assert.equal(step.fstype, '')
  assert.equal(step.flags, MS.BIND | MS.REC)
  assert.equal(step.remountFlags, MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC)
  // the same as spec --rootless's own /sys
  assert.deepEqual(step, plan().mounts.find((m) => m.target === '/sys'))
  // with a network namespace of its own, sysfs can be mounted
  assert.equal(plan(spec, false).mounts.find((m) => m.target === '/sys')!.fstype, 'sysfs')
})

test('additional groups are refused in a rootless user namespace (runc\'s message), allowed with root', () => {
  const p = {args: ['x'], cwd: '/', user: {uid: 0, gid: 0, additionalGids: [5]}}
  const ctx = {verb: 'create', id: 'c'}
  assert.throws(() => processPlan(p, {ctx, rootless: true, userns: true}), /cannot set any additional groups in a rootless container/)
  assert.equal(processPlan(p, {ctx, rootless: false, userns: true}).setgroupsAllowed, true)
  assert.equal(processPlan({...p, user: {uid: 0, gid: 0}}, {ctx, rootless: true, userns: true}).setgroupsAllowed, false)
})
