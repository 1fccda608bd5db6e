// What CRIU is told about a container (src/core/criu/plan.ts): external mounts, stdio from outside the
// container (the "Can't lookup mount" pitfall), inherited fds and cgroup roots, from fixtures.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {cgroupRoots, classifyFds, dumpExternals, dumpExtMounts, externalMounts, externalNsArg, fdinfoFlags, fdinfoMntId,
  inheritPlan, joinedNamespaces, mountIds, restoreExtMounts, skeletonCandidates, externalTerminal, terminalKey, type FdInfo} from '../../../src/core/criu/plan'
import {parseCgroupMounts} from '../../../src/core/cgroups/paths'
import type {Spec} from '../../../src/core/spec/types'
import {HOST_MOUNTINFO} from '../cgroups/fakefs'

const V1 = {
  version: 'v1' as const,
  paths: {
    '': '/sys/fs/cgroup/unified/ctr', cpu: '/sys/fs/cgroup/cpu/ctr', cpuacct: '/sys/fs/cgroup/cpuacct/ctr',
    memory: '/sys/fs/cgroup/memory/process_api/ctr', 'name=systemd': '/sys/fs/cgroup/systemd/ctr',
  },
}

function spec(mounts: Spec['mounts'], namespaces: {type: string; path?: string}[] = [{type: 'pid'}, {type: 'mount'}]): Spec {
  return {ociVersion: '1.0.2', mounts, linux: {namespaces: namespaces as never}}
}

describe('external mounts', () => {
  const mounts = [
    {destination: '/proc', type: 'proc', source: 'proc'},
    {destination: '/out/', type: 'bind', source: 'data', options: ['rbind', 'rw']},
    {destination: '/etc/hosts', source: '/etc/hosts', options: ['bind', 'ro']},
    {destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro']},
  ]

  it('binds (relative sources from the bundle) and a v1 cgroup mount as one bind per hierarchy', () => {
    assert.deepEqual(externalMounts(spec(mounts), '/b', V1), [
      {point: '/out', source: '/b/data'},
      {point: '/etc/hosts', source: '/etc/hosts'},
      {point: '/sys/fs/cgroup/unified', source: '/sys/fs/cgroup/unified/ctr'},
      {point: '/sys/fs/cgroup/cpu', source: '/sys/fs/cgroup/cpu/ctr'},
      {point: '/sys/fs/cgroup/cpuacct', source: '/sys/fs/cgroup/cpuacct/ctr'},
      {point: '/sys/fs/cgroup/memory', source: '/sys/fs/cgroup/memory/process_api/ctr'},
      {point: '/sys/fs/cgroup/systemd', source: '/sys/fs/cgroup/systemd/ctr'},
    ])
  })

  it('a cgroup namespace mounts cgroupfs for real: nothing external; v2 is one bind', () => {
    assert.deepEqual(externalMounts(spec(mounts.slice(3), [{type: 'cgroup'}]), '/b', V1), [])
    assert.deepEqual(externalMounts(spec(mounts.slice(3)), '/b', {version: 'v2', paths: {'': '/sys/fs/cgroup/ctr'}}),
      [{point: '/sys/fs/cgroup', source: '/sys/fs/cgroup/ctr'}])
  })

  it('a user namespace adds the device binds', () => {
    const points = externalMounts(spec([], [{type: 'user'}]), '/b', V1).map((m) => m.point)
    assert.deepEqual(points, ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'])
  })

  it('dump stores mount points (masked files as /dev/null); restore maps them to this bundle', () => {
    const ext = externalMounts(spec(mounts.slice(1, 2)), '/b', V1)
    const dumped = dumpExtMounts(ext, ['/proc/keys'])
    assert.deepEqual(dumped, [{key: '/out', value: '/out'}, {key: '/proc/keys', value: '/dev/null'}])
    const other = externalMounts(spec(mounts.slice(1, 2)), '/elsewhere/bundle', V1)
    assert.deepEqual(restoreExtMounts(dumped.map((m) => m.value), other, {}), [
      {key: '/out', value: '/elsewhere/bundle/data'}, {key: '/dev/null', value: '/dev/null'},
    ])
  })

  it('read-only tmpfs mounts go under a key describing them; restore hands each key the directory it is built on', () => {
    const dumped = dumpExtMounts([], [], [
      {point: '/sys/firmware/', skeleton: {mode: 0o1777, dirs: []}},
      {point: '/sys/fs/cgroup', skeleton: {mode: 0o755, dirs: ['cpu,cpuacct', 'systemd']}},
    ])
    assert.deepEqual(dumped, [
      {key: '/sys/firmware', value: 'ocirt-tmpfs/1777/'},
      {key: '/sys/fs/cgroup', value: 'ocirt-tmpfs/755/cpu%2Ccpuacct,systemd'},
    ])
    const built: string[] = []
    const dir = (key: string) => (built.push(key), `/state/criu-tmpfs-${built.length - 1}`)
    assert.deepEqual(restoreExtMounts([...dumped.map((m) => m.value), 'ocirt-tmpfs/1777/'], [], {}, dir), [
      {key: 'ocirt-tmpfs/1777/', value: '/state/criu-tmpfs-0'},
      {key: 'ocirt-tmpfs/755/cpu%2Ccpuacct,systemd', value: '/state/criu-tmpfs-1'},
    ])
    assert.equal(built.length, 2, 'one tmpfs per key, however many mounts share it')
    assert.throws(() => restoreExtMounts(['ocirt-tmpfs/1777/'], [], {verb: 'restore', id: 'c'}), /lacks: ocirt-tmpfs\/1777\//, 'not without a place to build it')
  })

  it('skeleton candidates: the masked directories, the config\'s tmpfs mounts, and on cgroup v1 without a cgroup namespace the cgroup mount\'s destination', () => {
    const s = spec([{destination: '/sys/fs/cgroup/', type: 'cgroup'}, {destination: '/dev', type: 'tmpfs'}, {destination: '/dev/shm/', type: 'tmpfs'}, {destination: '/out', type: 'bind'}])
    assert.deepEqual(skeletonCandidates(s, 'v1', ['/proc/acpi', 'sys/firmware/']), ['/proc/acpi', '/sys/firmware', '/dev', '/dev/shm', '/sys/fs/cgroup'])
    assert.deepEqual(skeletonCandidates(s, 'v2', ['/proc/acpi']), ['/proc/acpi', '/dev', '/dev/shm'], 'v2: a cgroup2 mount or a bind, no tmpfs of ours at /sys/fs/cgroup')
    assert.deepEqual(skeletonCandidates(spec(s.mounts!, [{type: 'cgroup'}]), 'v1', []), ['/dev', '/dev/shm'], 'a cgroup namespace: cgroup mounts CRIU dumps itself')
  })

  it('restore names the mounts the new bundle lacks', () => {
    assert.throws(() => restoreExtMounts(['/out', '/cache'], [{point: '/out', source: '/x'}], {verb: 'restore', id: 'c'}),
      /restore c: the checkpoint has bind mounts that the bundle's config.json lacks: \/cache/)
  })
})

describe('cgroup roots', () => {
  it('one root per controller, inside its hierarchy; the unified path is the default', () => {
    assert.deepEqual(cgroupRoots(V1, parseCgroupMounts(HOST_MOUNTINFO)), [
      {path: '/ctr'},
      {controller: 'cpu', path: '/ctr'},
      {controller: 'cpuacct', path: '/ctr'},
      {controller: 'memory', path: '/process_api/ctr'},
      {controller: 'name=systemd', path: '/ctr'},
    ])
  })

  it('a hierarchy mounted from a subtree keeps its root', () => {
    const mi = '31 30 0:28 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory'
    assert.deepEqual(cgroupRoots({version: 'v1', paths: {memory: '/sys/fs/cgroup/memory/ctr'}}, parseCgroupMounts(mi)),
      [{path: '/docker/abc/ctr'}, {controller: 'memory', path: '/docker/abc/ctr'}])
  })

  it('pure v2', () => {
    const mi = '40 22 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw'
    assert.deepEqual(cgroupRoots({version: 'v2', paths: {'': '/sys/fs/cgroup/a/b'}}, parseCgroupMounts(mi)), [{path: '/a/b'}])
  })
})

describe('open files of the init', () => {
  const RD = 0o100000
  const WR = 0o100001
  const fd = (n: number, link: string, mntId: number, more: Partial<FdInfo> = {}): FdInfo =>
    ({fd: n, link, mntId, ino: 3, dev: 5, rdev: 0, isCharDevice: false, flags: WR, ...more})
  const inside = new Set([92, 93, 107])

  it('stdio from outside the container is external, keyed file[mnt_id:inode] in hex; pipes keep their name', () => {
    const d = classifyFds([
      fd(0, '/dev/null', 23, {isCharDevice: true, rdev: 0x103, flags: RD}),
      fd(1, 'pipe:[227012]', 12),
      fd(2, '/tmp/ocirt-test-out (deleted)', 26, {ino: 0x2a, flags: 0o100002}),
      fd(3, '/out/file', 107, {ino: 2147423, flags: 0o102001}),
      fd(4, '/dev/pts/3', 40, {isCharDevice: true, rdev: (136 << 8) | 3, dev: 0x19}),
      fd(5, 'anon_inode:[eventfd]', 14),
    ], inside)
    assert.deepEqual(d, [
      {fd: 0, link: '/dev/null', access: 0, kind: 'file', key: 'file[17:3]', external: true},
      {fd: 1, link: 'pipe:[227012]', access: 1, kind: 'pipe', key: 'pipe:[227012]', external: false},
      {fd: 2, link: '/tmp/ocirt-test-out (deleted)', access: 2, kind: 'file', key: 'file[1a:2a]', external: true},
      {fd: 3, link: '/out/file', access: 1, kind: 'file', key: 'file[6b:20c45f]', external: false},
      {fd: 4, link: '/dev/pts/3', access: 1, kind: 'tty', key: 'tty[8803:19]', external: true},
      {fd: 5, link: 'anon_inode:[eventfd]', access: 1, kind: 'other', external: false},
    ])
    assert.deepEqual(dumpExternals(d), ['file[17:3]', 'file[1a:2a]', 'tty[8803:19]'])
  })

  it('a terminal container\'s own pty slave becomes external, once, and is what restore must provide', () => {
    const pts = {isCharDevice: true, rdev: (136 << 8) | 0, dev: 0x3c, flags: 0o100002}
    const d = classifyFds([fd(0, '/dev/pts/0', 92, pts), fd(1, '/dev/pts/0', 92, pts), fd(2, '/dev/pts/0', 92, pts),
      fd(3, '/dev/tty1', 92, {isCharDevice: true, rdev: (4 << 8) | 1, dev: 0x5}), fd(4, '/out/f', 107)], inside)
    assert.equal(terminalKey(d), undefined, 'a slave inside the container is not external by itself')
    const t = externalTerminal(d)
    assert.deepEqual(t.filter((x) => x.external).map((x) => x.fd), [0, 1, 2], 'only the pty slave, not a vt nor a file')
    assert.deepEqual(dumpExternals(t), ['tty[8800:3c]'])
    assert.equal(terminalKey(t), 'tty[8800:3c]')
    // one inherited fd for the three, handed over as is (no reopen)
    assert.deepEqual(inheritPlan(t, (i) => 3 + i), [{fd: 3, key: 'tty[8800:3c]', ours: 0, reopen: false}])
  })

  it('restore hands over our fd of the same number: dup()ed by its path key, or reopened when modes differ', () => {
    // /dev/null read-only on 0 and write-only on 1: one key, two modes, so CRIU must reopen it per fd
    const devnull = classifyFds([fd(0, '/dev/null', 23, {flags: RD}), fd(1, '/dev/null', 23), fd(2, 'pipe:[7]', 12),
      fd(3, '/out/f', 107), fd(9, 'pipe:[8]', 12)], inside)
    assert.deepEqual(inheritPlan(devnull, (i) => 3 + i), [
      {fd: 3, key: 'file[17:3]', ours: 0, reopen: true},
      {fd: 4, key: 'pipe:[7]', ours: 2, reopen: false},
    ])
    // a log file on 1 and 2 (one mode): CRIU dups our fd 1, found under the key without its first character
    const log = classifyFds([fd(0, '/dev/null', 23, {flags: RD}), fd(1, '/var/log/c', 26), fd(2, '/var/log/c', 26)], inside)
    assert.deepEqual(inheritPlan(log, (i) => 10 + i), [
      {fd: 10, key: 'ile[17:3]', ours: 0, reopen: false},
      {fd: 11, key: 'ile[1a:3]', ours: 1, reopen: false},
    ])
  })

  it('parses mountinfo ids and fdinfo mnt_id and flags', () => {
    assert.deepEqual([...mountIds('92 42 254:0 / / ro - ext4 x rw\n107 92 254:0 /a /out rw - ext4 x rw\n')], [92, 107])
    assert.equal(fdinfoMntId('pos:\t0\nflags:\t0100000\nmnt_id:\t23\nino:\t3\n'), 23)
    assert.equal(fdinfoFlags('pos:\t0\nflags:\t0102001\nmnt_id:\t23\n'), 0o102001)
    assert.equal(fdinfoMntId('pos: 0\n'), -1)
  })
})

describe('joined namespaces', () => {
  it('network and pid by path are CRIU externals (runc\'s keys); the others are joined', () => {
    const s = spec([], [{type: 'network', path: '/run/netns/x'}, {type: 'pid'}, {type: 'ipc', path: '/proc/9/ns/ipc'}, {type: 'mount'}])
    assert.deepEqual(joinedNamespaces(s), {
      external: [{type: 'network', path: '/run/netns/x', key: 'extRootNetNS'}],
      join: [{type: 'ipc', path: '/proc/9/ns/ipc'}],
    })
    assert.equal(externalNsArg('network', 4026532000, 'extRootNetNS'), 'net[4026532000]:extRootNetNS')
  })
})
