// The argv of native/build/ocirt-criu-launch, how runCriu starts criu restore (launcher.ts).
import {it} from 'node:test'
import assert from 'node:assert/strict'
import * as path from 'node:path'
import {criuLauncher, launcherArgs} from '../../../src/core/criu/launcher'

it('joins each cgroup.procs, binds the root (read-only when asked), then runs criu with its argv untouched', () => {
  const procs = ['/sys/fs/cgroup/pids/c/cgroup.procs', '/sys/fs/cgroup/memory/c/cgroup.procs']
  assert.deepEqual(launcherArgs(procs, {rootfs: '/b/rootfs', target: '/run/ocirt/c/criu-root', readonly: true}, 'criu', ['restore', '--root', '/run/ocirt/c/criu-root']), [
    '--join', procs[0], '--join', procs[1], '--root', '/b/rootfs', '/run/ocirt/c/criu-root', '--ro', '--', 'criu', 'restore', '--root', '/run/ocirt/c/criu-root',
  ])
  assert.deepEqual(launcherArgs([], {rootfs: '/r', target: '/t', readonly: false}, '/opt/criu', ['--', 'x']), ['--root', '/r', '/t', '--', '/opt/criu', '--', 'x'])
  assert.deepEqual(launcherArgs(procs.slice(0, 1), undefined, 'criu', ['dump']), ['--join', procs[0], '--', 'criu', 'dump'])
  const tmpfs = [{dir: '/s/criu-tmpfs-0', skeleton: {mode: 0o1777, dirs: []}}, {dir: '/s/criu-tmpfs-1', skeleton: {mode: 0o755, dirs: ['cpu,cpuacct', 'pids']}},
    {dir: '/s/criu-tmpfs-2', skeleton: {mode: 0o1777, dirs: [], writable: {at: '/dev/shm', options: ['size=65536k', 'inode64']}}},
    {dir: '/s/criu-tmpfs-3', skeleton: {mode: 0o755, dirs: ['pts'], writable: {at: '/dev', options: []}, nodes: [
      {name: 'null', type: 'char' as const, mode: 0o666, major: 1, minor: 3}, {name: 'fd', type: 'link' as const, target: '/proc/self/fd'}]}}]
  assert.deepEqual(launcherArgs([], {rootfs: '/r', target: '/t', readonly: false}, 'criu', ['restore'], tmpfs), [
    '--root', '/r', '/t', '--tmpfs', '/s/criu-tmpfs-0', '1777', '', '--tmpfs', '/s/criu-tmpfs-1', '755', 'cpu,cpuacct/pids',
    '--tmpfs-rw', '/s/criu-tmpfs-2', '1777', 'size=65536k,inode64', '',
    '--tmpfs-rw', '/s/criu-tmpfs-3', '755', '', 'pts', '--tmpfs-char', '/s/criu-tmpfs-3', 'null', '666', '1', '3', '--tmpfs-link', '/s/criu-tmpfs-3', 'fd', '/proc/self/fd',
    '--', 'criu', 'restore',
  ])
})

it('finds the launcher built beside the init helper', () => {
  const bin = criuLauncher()
  assert.ok(bin, 'npm run build makes native/build/ocirt-criu-launch')
  assert.equal(path.basename(path.dirname(bin!)), 'build')
})
