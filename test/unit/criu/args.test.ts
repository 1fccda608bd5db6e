// Golden argv of criu dump / pre-dump / restore (src/core/criu/args.ts): what ocirt asks CRIU 4.1 to do.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {dumpArgs, restoreArgs, type DumpContainer, type RestoreContainer} from '../../../src/core/criu/args'

const DUMPED: DumpContainer = {
  pid: 4242,
  rootfs: '/b/rootfs',
  freezerCgroup: '/sys/fs/cgroup/freezer/ctr',
  extMounts: [{key: '/out', value: '/out'}, {key: '/proc/keys', value: '/dev/null'}],
  externals: ['file[17:3]'],
}

const RESTORED: RestoreContainer = {
  root: '/run/ocirt/c2/criu-root',
  cgroupRoots: [{path: '/c2'}, {controller: 'memory', path: '/process_api/c2'}],
  extMounts: [{key: '/out', value: '/data/out'}, {key: '/dev/null', value: '/dev/null'}],
  inheritFds: [{fd: 3, key: 'file[17:3]'}, {fd: 4, key: 'pipe:[99]'}],
}

describe('dumpArgs', () => {
  it('a plain checkpoint: tree, dirs, log, root, cgroups, freezer, network left empty, external mounts and files', () => {
    assert.deepEqual(dumpArgs({imagePath: '/img', workPath: '/work', emptyNs: ['network']}, DUMPED), [
      'dump', '-t', '4242', '-D', '/img', '-W', '/work', '--log-file', 'dump.log', '-v4', '--manage-cgroups=soft',
      '--root', '/b/rootfs', '--freeze-cgroup', '/sys/fs/cgroup/freezer/ctr', '--empty-ns', 'net',
      '--ext-mount-map', '/out:/out', '--ext-mount-map', '/proc/keys:/dev/null', '--external', 'file[17:3]',
    ])
  })

  it('every runc flag', () => {
    const argv = dumpArgs({
      imagePath: '/img', workPath: '/img', leaveRunning: true, tcpEstablished: true, extUnixSk: true, shellJob: true,
      fileLocks: true, autoDedup: true, lazyPages: true, statusFd: 3, pageServer: {address: '10.0.0.2', port: 27},
      manageCgroupsMode: 'full', emptyNs: ['network', 'network'], configFile: '/etc/criu/runc.conf',
    }, {...DUMPED, freezerCgroup: undefined, extMounts: [], externals: []})
    assert.deepEqual(argv, [
      'dump', '-t', '4242', '-D', '/img', '-W', '/img', '--log-file', 'dump.log', '-v4', '--config', '/etc/criu/runc.conf',
      '--manage-cgroups=full', '--root', '/b/rootfs', '--leave-running', '--address', '10.0.0.2',
      '--port', '27', '--status-fd', '3', '--tcp-established', '--ext-unix-sk', '--shell-job', '--file-locks',
      '--auto-dedup', '--lazy-pages', '--empty-ns', 'net',
    ])
  })

  it('a page server: pages are sent to it; a lazy dump serves them itself on that address', () => {
    const ps = {address: '10.0.0.2', port: 27}
    const sent = dumpArgs({imagePath: '/i', workPath: '/i', pageServer: ps}, {...DUMPED, extMounts: [], externals: []})
    assert.deepEqual(sent.slice(sent.indexOf('--freeze-cgroup') + 2), ['--page-server', '--address', '10.0.0.2', '--port', '27'])
    const lazy = dumpArgs({imagePath: '/i', workPath: '/i', pageServer: ps, lazyPages: true}, {...DUMPED, extMounts: [], externals: []})
    assert.deepEqual(lazy.slice(lazy.indexOf('--freeze-cgroup') + 2), ['--address', '10.0.0.2', '--port', '27', '--lazy-pages'])
  })

  it('a page socket (--ps-socket): a stop-copy dump sends the pages on it, a lazy dump serves them on it; no address', () => {
    const sent = dumpArgs({imagePath: '/i', workPath: '/i', pageSocket: 4, statusFd: 3}, {...DUMPED, extMounts: [], externals: []})
    assert.deepEqual(sent.slice(sent.indexOf('--freeze-cgroup') + 2), ['--page-server', '--ps-socket', '4', '--status-fd', '3'])
    const lazy = dumpArgs({imagePath: '/i', workPath: '/i', pageSocket: 3, lazyPages: true}, {...DUMPED, extMounts: [], externals: []})
    assert.deepEqual(lazy.slice(lazy.indexOf('--freeze-cgroup') + 2), ['--ps-socket', '3', '--lazy-pages'])
  })

  it('pre-dump: memory only, tracked, no mounts or files; a parent adds --prev-images-dir', () => {
    assert.deepEqual(dumpArgs({imagePath: '/img/2', workPath: '/img/2', preDump: true, leaveRunning: true, parentPath: '../1'}, DUMPED), [
      'pre-dump', '-t', '4242', '-D', '/img/2', '-W', '/img/2', '--log-file', 'dump.log', '-v4', '--manage-cgroups=soft',
      '--root', '/b/rootfs', '--freeze-cgroup', '/sys/fs/cgroup/freezer/ctr', '--prev-images-dir', '../1', '--track-mem',
    ])
    const final = dumpArgs({imagePath: '/img/3', workPath: '/img/3', parentPath: '../2'}, {...DUMPED, extMounts: [], externals: []})
    assert.deepEqual(final.slice(-3), ['--prev-images-dir', '../2', '--track-mem'])
    assert.equal(final[0], 'dump')
  })

  it('a network lock method is passed on (migration skips it)', () => {
    const argv = dumpArgs({imagePath: '/i', workPath: '/i', networkLock: 'skip'}, {...DUMPED, extMounts: [], externals: []})
    assert.deepEqual(argv.slice(argv.indexOf('--network-lock'), argv.indexOf('--network-lock') + 2), ['--network-lock', 'skip'])
    assert.ok(!dumpArgs({imagePath: '/i', workPath: '/i'}, DUMPED).includes('--network-lock'), "CRIU's default unless asked")
    const rst = restoreArgs({imagePath: '/i', workPath: '/i', pidFile: '/p', networkLock: 'skip'}, RESTORED)
    assert.deepEqual(rst.slice(rst.indexOf('--network-lock'), rst.indexOf('--network-lock') + 2), ['--network-lock', 'skip'])
  })

  it('refuses a mount point criu cannot name', () => {
    assert.throws(() => dumpArgs({imagePath: '/i', workPath: '/i'}, {...DUMPED, extMounts: [{key: '/a:b', value: '/a:b'}]}), /':'/)
  })
})

describe('restoreArgs', () => {
  it('detached sibling, pid file, cgroup roots, external mounts mapped to this bundle, inherited fds', () => {
    assert.deepEqual(restoreArgs({imagePath: '/img', workPath: '/work', pidFile: '/run/ocirt/c2/criu.pid', emptyNs: ['network']}, RESTORED), [
      'restore', '-D', '/img', '-W', '/work', '--log-file', 'restore.log', '-v4', '--manage-cgroups=soft',
      '--root', '/run/ocirt/c2/criu-root', '--restore-detached', '--restore-sibling', '--pidfile', '/run/ocirt/c2/criu.pid',
      '--evasive-devices', '--cgroup-root', '/c2', '--cgroup-root', 'memory:/process_api/c2', '--empty-ns', 'net',
      '--ext-mount-map', '/out:/data/out', '--ext-mount-map', '/dev/null:/dev/null',
      '--inherit-fd', 'fd[3]:file[17:3]', '--inherit-fd', 'fd[4]:pipe:[99]',
    ])
  })

  it('every runc flag, joined namespaces', () => {
    const argv = restoreArgs({
      imagePath: '/img', workPath: '/img', pidFile: '/p', tcpEstablished: true, extUnixSk: true, shellJob: true,
      fileLocks: true, autoDedup: true, lazyPages: true, manageCgroupsMode: 'ignore', lsmProfile: 'apparmor:x',
      lsmMountContext: 'ctx',
    }, {root: '/r', cgroupRoots: [], extMounts: [], inheritFds: [{fd: 5, key: 'extRootNetNS'}], joinNs: [{type: 'ipc', path: '/proc/1/ns/ipc'}]})
    assert.deepEqual(argv, [
      'restore', '-D', '/img', '-W', '/img', '--log-file', 'restore.log', '-v4', '--manage-cgroups=ignore',
      '--root', '/r', '--restore-detached', '--restore-sibling', '--pidfile', '/p', '--evasive-devices',
      '--lsm-profile', 'apparmor:x', '--lsm-mount-context', 'ctx', '--tcp-established', '--ext-unix-sk', '--shell-job',
      '--file-locks', '--auto-dedup', '--lazy-pages', '--join-ns', 'ipc:/proc/1/ns/ipc', '--inherit-fd', 'fd[5]:extRootNetNS',
    ])
  })

  it('an action script (restore hooks) comes last', () => {
    const argv = restoreArgs({imagePath: '/img', workPath: '/img', pidFile: '/p'},
      {root: '/r', cgroupRoots: [], extMounts: [], inheritFds: [], actionScript: '/run/ocirt/c1/criu-action.sh'})
    assert.deepEqual(argv.slice(-2), ['--action-script', '/run/ocirt/c1/criu-action.sh'])
  })
})
