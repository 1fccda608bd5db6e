// OCI runtime-spec conformance, config-linux.md: the clauses of docs/conformance.md that no per-area file proved
// yet, on real containers. Test names start with the section they prove.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Spec} from '../../src/core/spec/types'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {cgroupDirsLeft, containerBundle, expectFail, runOut, sh, stateOf} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

const sleeper = {process: {args: [PROBE, 'sleep', '60']}}

/** The mountinfo lines of a process keyed by mount point: [optional fields (shared:/master:/unbindable)]. */
function propagationOf(pid: number): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean)) {
    const f = line.split(' ')
    out.set(f[4], f.slice(6, f.indexOf('-')).join(' '))
  }
  return out
}

// The rootfs holds a shared mount at /mnt (as a volume a kubelet mounts with propagation); after start the host
// mounts a tmpfs below it. slave must let that mount in, private must not; shared is a peer group of its own.
const PROPAGATION: {mode: string; root: RegExp; rootSays: string; seesHostMount: boolean}[] = [
  {mode: 'slave', root: /^$/, rootSays: 'no peers', seesHostMount: true},
  {mode: 'rslave', root: /^$/, rootSays: 'no peers', seesHostMount: true},
  {mode: 'private', root: /^$/, rootSays: 'no peers', seesHostMount: false},
  {mode: 'rprivate', root: /^$/, rootSays: 'no peers', seesHostMount: false},
  {mode: 'shared', root: /^shared:\d+$/, rootSays: 'in a peer group of its own', seesHostMount: true},
  {mode: 'unbindable', root: /^unbindable$/, rootSays: 'unbindable', seesHostMount: true},
]

for (const c of PROPAGATION) {
  test(`config-linux.md rootfsPropagation "${c.mode}": / has ${c.rootSays}; a host mount below a shared volume ${c.seesHostMount ? 'reaches' : 'does not reach'} the container`, async (t) => {
    if (!requires(t, 'root', 'probe', 'ocirt')) return
    const b = containerBundle(t, sleeper, {copyRootfs: true})
    const vol = path.join(b.rootfsDir, 'mnt')
    execFileSync('mount', ['-t', 'tmpfs', 'conf-vol', vol])
    b.cleanup.mount(vol)
    execFileSync('mount', ['--make-shared', vol])
    fs.mkdirSync(path.join(vol, 'sub'))
    b.writeSpec((s) => {
      s.linux!.rootfsPropagation = c.mode
    })
    assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
    const {pid} = await stateOf(b)
    const hostSub = path.join(vol, 'sub')
    execFileSync('mount', ['-t', 'tmpfs', 'conf-late', hostSub])
    b.cleanup.mount(hostSub)
    const seen = propagationOf(pid)
    const own = propagationOf(process.pid)
    assert.match(seen.get('/') ?? 'no / mount', c.root, `/ of the container: "${seen.get('/')}"`)
    if (c.mode === 'shared') {
      assert.notEqual(seen.get('/'), own.get(fs.realpathSync(b.rootfsDir)), 'a peer group of its own, not the host\'s')
    }
    assert.equal(seen.has('/mnt/sub'), c.seesHostMount, `the host's later mount at /mnt/sub inside: ${seen.has('/mnt/sub')}`)
  })
}

test('config-linux.md Allowed Device list: entries apply in the listed order (a later rule for one device wins), the default devices stay usable', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = containerBundle(t, sleeper)
  b.writeSpec((s) => {
    // the usual deny-all first, then: /dev/null fully, then write taken away again; /dev/zero read taken away
    s.linux!.resources!.devices!.push(
      {allow: true, type: 'c', major: 1, minor: 3, access: 'rwm'},
      {allow: false, type: 'c', major: 1, minor: 3, access: 'w'},
      {allow: false, type: 'c', major: 1, minor: 5, access: 'r'},
    )
  })
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  const list = fs.readFileSync(path.join('/sys/fs/cgroup/devices', b.cgroupsPath, 'devices.list'), 'utf8').split('\n')
  assert.ok(list.includes('c 1:3 rm'), `/dev/null without w:\n${list.join('\n')}`)
  assert.ok(list.includes('c 1:5 wm'), `/dev/zero without r:\n${list.join('\n')}`)
  assert.ok(list.includes('c 1:9 rwm') && list.includes('c 136:* rwm'), 'the other default devices and /dev/pts stay allowed')
  const probe = async (...args: string[]) => (await b.ocirt(['exec', b.id, PROBE, ...args])).stdout.trim()
  assert.equal(await probe('write', '/dev/null', 'x'), 'EPERM', 'the later deny of w wins over the earlier allow')
  assert.equal(await probe('read', '/dev/null'), '', 'read is still allowed')
  assert.equal(await probe('read', '/dev/zero'), 'EPERM')
  assert.equal(await probe('write', '/dev/zero', 'x'), 'ok')
  assert.equal(await probe('write', '/dev/full', 'x'), 'ENOSPC', '/dev/full: allowed, the device itself says no space')
})

test('config-linux.md Allowed Device list: without a leading deny-all, a config\'s deny of a default device holds', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = containerBundle(t, (s) => {
    s.linux!.resources!.devices = [{allow: true, access: 'rwm'}, {allow: false, type: 'c', major: 1, minor: 9, access: 'rw'}]
    s.process!.args = sh(`${PROBE} read /dev/urandom | head -c 5; echo; ${PROBE} write /dev/null x`)
  })
  assert.equal(await runOut(b), 'EPERM\nok\n')
})

test('config-linux.md Personality: LINUX32 makes uname report a 32-bit machine; LINUX leaves it', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  if (process.arch !== 'x64') return t.skip('the 32-bit name checked here is x86\'s')
  for (const [domain, machine] of [['LINUX32', 'i686'], ['LINUX', 'x86_64']]) {
    const b = containerBundle(t, (s) => {
      s.linux!.personality = {domain: domain as 'LINUX'}
      s.process!.args = ['/bin/uname', '-m']
    })
    assert.equal((await runOut(b)).trim(), machine, domain)
  }
})

test('config-linux.md Control groups: linux.resources (pids, memory, cpu) are in the container\'s cgroup when create returns', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = containerBundle(t, sleeper)
  b.writeSpec((s) => {
    s.linux!.resources = {
      ...s.linux!.resources,
      pids: {limit: 42},
      memory: {limit: 64 * 1024 * 1024, reservation: 32 * 1024 * 1024},
      cpu: {shares: 512, quota: 50_000, period: 100_000},
    }
  })
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  const {pid} = await stateOf(b)
  const read = (ctl: string, file: string) => fs.readFileSync(path.join('/sys/fs/cgroup', ctl, b.cgroupsPath, file), 'utf8').trim()
  assert.equal(read('pids', 'pids.max'), '42')
  assert.equal(read('memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024))
  assert.equal(read('memory', 'memory.soft_limit_in_bytes'), String(32 * 1024 * 1024))
  assert.equal(read('cpu', 'cpu.shares'), '512')
  assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000')
  assert.equal(read('cpu', 'cpu.cfs_period_us'), '100000')
  for (const ctl of ['pids', 'memory', 'cpu']) {
    assert.ok(read(ctl, 'cgroup.procs').split('\n').includes(String(pid)), `the init is in the ${ctl} cgroup`)
  }
})

// Each of these asks for something this host or ocirt cannot do: create must fail naming the field, with
// nothing left behind (runtime.md Errors).
const REFUSALS: {name: string; edit: (s: Spec) => void; expect: string}[] = [
  {
    name: 'config-linux.md Namespaces: a path that is not a namespace of the type',
    edit: (s) => void (s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? {type: 'network', path: '/proc/self/ns/ipc'} : n))),
    expect: 'setns net: /proc/self/ns/ipc: EINVAL',
  },
  {
    name: 'config-linux.md Namespaces: a duplicated type',
    edit: (s) => void s.linux!.namespaces!.push({type: 'pid'}),
    expect: 'linux.namespaces[5].type: duplicate namespace "pid"',
  },
  {
    name: 'config.md Hostname: hostname without a UTS namespace',
    edit: (s) => void (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts')),
    expect: 'hostname: unable to set hostname without a private UTS namespace',
  },
  {
    name: 'config-linux.md Sysctl: a net.* sysctl without a network namespace of the container\'s own',
    edit: (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network')
      s.linux!.sysctl = {'net.ipv4.ip_forward': '1'}
    },
    expect: 'linux.sysctl["net.ipv4.ip_forward"]: sysctl "net.ipv4.ip_forward" is not allowed in the host network namespace',
  },
  {
    name: 'config-linux.md Sysctl: a sysctl no namespace holds',
    edit: (s) => void (s.linux!.sysctl = {'vm.swappiness': '10'}),
    expect: 'linux.sysctl["vm.swappiness"]: sysctl "vm.swappiness" is not in a separate kernel namespace',
  },
  {
    name: 'config-linux.md IntelRdt: intelRdt without resctrl mounted',
    edit: (s) => void (s.linux!.intelRdt = {closID: 'conf'}),
    expect: 'linux.intelRdt.closID: Intel RDT is not enabled on this host',
  },
  {
    name: 'config.md process.apparmorProfile on a host without AppArmor',
    edit: (s) => void (s.process!.apparmorProfile = 'conf-profile'),
    expect: 'process.apparmorProfile: AppArmor is not enabled on this host',
  },
  {
    name: 'config.md process.selinuxLabel on a host without SELinux',
    edit: (s) => void (s.process!.selinuxLabel = 'system_u:system_r:container_t:s0'),
    expect: 'process.selinuxLabel: SELinux is not enabled on this host',
  },
  {
    name: 'config-linux.md Mount Label on a host without SELinux',
    edit: (s) => void (s.linux!.mountLabel = 'system_u:object_r:container_file_t:s0'),
    expect: 'linux.mountLabel: SELinux is not enabled on this host',
  },
  {
    name: 'config-linux.md Unified: cgroup v2 keys on a v1 host',
    edit: (s) => void (s.linux!.resources!.unified = {'memory.max': '1000000'}),
    expect: 'unified',
  },
  {
    name: 'config-linux.md Time offsets without a time namespace',
    edit: (s) => void (s.linux!.timeOffsets = {monotonic: {secs: 10}}),
    expect: 'linux.timeOffsets: time offsets need a new time namespace',
  },
  {
    name: 'config-linux.md Seccomp: listenerMetadata without listenerPath',
    edit: (s) => void (s.linux!.seccomp = {defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'agent-data'}),
    expect: 'linux.seccomp.listenerMetadata: must not be set without listenerPath',
  },
  {
    name: 'config-linux.md Seccomp: errnoRet with an action that has no errno',
    edit: (s) => void (s.linux!.seccomp = {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 3}]}),
    expect: 'linux.seccomp.syscalls[0].errnoRet: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not SCMP_ACT_KILL',
  },
  {
    name: 'config.md capabilities: an unknown capability',
    edit: (s) => void s.process!.capabilities!.effective!.push('CAP_NOT_A_CAP'),
    expect: 'process.capabilities.effective[3]: unknown capability "CAP_NOT_A_CAP"',
  },
  {
    name: 'config.md rlimits: a type with no kernel interface',
    edit: (s) => void s.process!.rlimits!.push({type: 'RLIMIT_NOPE', soft: 1, hard: 1}),
    expect: 'process.rlimits[1].type: unknown rlimit "RLIMIT_NOPE"',
  },
]

for (const c of REFUSALS) {
  test(`${c.name}: create fails naming it and makes nothing`, async (t) => {
    if (!requires(t, 'root', 'probe', 'ocirt')) return
    const b = containerBundle(t, c.edit)
    if (c.name.includes('IntelRdt') && fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' resctrl ')) return t.skip('resctrl is mounted here')
    expectFail(await b.ocirt(['create', '--bundle', b.dir, b.id]), c.expect)
    expectFail(await b.ocirt(['state', b.id]), 'container does not exist')
    assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [])
  })
}

test('config-linux.md Devices: a file already at the path that is not the requested device is an error; a matching node is fine', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, (s) => {
    s.linux!.devices = [{path: '/etc/hostname', type: 'c', major: 1, minor: 3}]
  }, {copyRootfs: true})
  expectFail(await b.ocirt(['create', '--bundle', b.dir, b.id]), `device /etc/hostname: /etc/hostname already exists and is not the requested device (c 1:3)`)
  expectFail(await b.ocirt(['state', b.id]), 'container does not exist')
  assert.ok(fs.statSync(path.join(b.rootfsDir, 'etc/hostname')).isFile(), 'the file is untouched')
  // the host's /dev/null bound at /dev/null first: the node there is the one asked for
  const ok = containerBundle(t, (s) => {
    s.mounts!.push({destination: '/dev/null', type: 'bind', source: '/dev/null', options: ['bind']})
    s.linux!.devices = [{path: '/dev/null', type: 'c', major: 1, minor: 3}]
    s.process!.args = [PROBE, 'stat', '/dev/null']
  })
  assert.match(await runOut(ok), /^type=chr .*rdev=1:3$/m)
})

test('config.md Mounts: entries are mounted in the listed order (a later mount on the same destination covers an earlier one)', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t)
  const src = path.join(path.dirname(b.dir), 'second')
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'from-second'), '')
  fs.mkdirSync(path.join(src, 'inner'))
  b.writeSpec((s) => {
    s.mounts!.push(
      {destination: '/mnt', type: 'tmpfs', source: 'first', options: ['size=1m']},
      {destination: '/mnt', type: 'bind', source: src, options: ['rbind', 'rw']},
      {destination: '/mnt/inner', type: 'tmpfs', source: 'third', options: ['size=1m']},
    )
    s.process!.args = sh(`ls /mnt; ${PROBE} mounts`)
  })
  const out = await runOut(b)
  assert.ok(out.startsWith('from-second\ninner\n'), `/mnt shows the bind, with the third mount inside it:\n${out}`)
  const points = out.split('\n').map((l) => l.split(' ')[4]).filter((p) => p === '/mnt' || p === '/mnt/inner')
  assert.deepEqual(points, ['/mnt', '/mnt', '/mnt/inner'], 'mounted in the listed order')
})

test('config-linux.md Default Devices: with a terminal /dev/console is the pty slave; config.md consoleSize sets its size; without a terminal both are left alone', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, (s) => {
    s.process!.terminal = true
    s.process!.consoleSize = {height: 33, width: 101}
    s.process!.args = sh(`${PROBE} stat /dev/console; readlink /proc/self/fd/0; busybox stty size`)
  })
  const [console, slave, size] = (await runOut(b)).split(/\r?\n/)
  const n = /^\/dev\/pts\/(\d+)$/.exec(slave)
  assert.ok(n, `stdin is a pty slave: ${slave}`)
  assert.match(console, new RegExp(`^type=chr .* rdev=136:${n[1]}$`), '/dev/console is that slave')
  assert.equal(size, '33 101')
  const plain = containerBundle(t, (s) => {
    s.process!.consoleSize = {height: 33, width: 101}
    s.process!.args = [PROBE, 'stat', '/dev/console']
  })
  const r = await plain.ocirt(['run', '--bundle', plain.dir, plain.id])
  assert.equal(r.stdout.trim(), 'ENOENT', 'no /dev/console without a terminal')
})
