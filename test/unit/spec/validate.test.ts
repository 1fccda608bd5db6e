// validateSpec / specProblems: each rule reports the exact config path; a good spec has no problem.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import {InvalidInput} from '../../../src/core/errors'
import {defaultSpec, rootlessSpec} from '../../../src/core/spec/defaults'
import {SpecInvalid, specProblems, validateSpec, type ValidateOptions} from '../../../src/core/spec/validate'
import type {Spec} from '../../../src/core/spec/types'

const NO_LSM = {apparmor: false, selinux: false, intelRdt: false}
const base: ValidateOptions = {verb: 'create', id: 'c1', requireProcess: true, host: NO_LSM}

function problems(mutate: (s: Spec) => void, opts: Partial<ValidateOptions> = {}): string[] {
  const s = defaultSpec()
  mutate(s)
  return specProblems(s, {...base, ...opts}).map((p) => `${p.path}: ${p.message}`)
}

const ns = (s: Spec) => s.linux!.namespaces!
const without = (type: string) => (s: Spec) => { s.linux!.namespaces = ns(s).filter((n) => n.type !== type) }

test('the default spec is valid', () => {
  assert.deepEqual(problems(() => undefined), [])
  validateSpec(defaultSpec(), base)
})

test('validateSpec throws one InvalidInput listing every problem', () => {
  const s = defaultSpec()
  s.process!.cwd = 'tmp'
  s.linux!.namespaces!.push({type: 'foo'})
  assert.throws(() => validateSpec(s, base), (err: unknown) => {
    assert.ok(err instanceof InvalidInput && err instanceof SpecInvalid)
    assert.equal(err.message, 'create c1: validate config: process.cwd: must be an absolute path, got "tmp"; ' +
      'linux.namespaces[5].type: unknown namespace "foo"')
    assert.equal(err.problems.length, 2)
    return true
  })
})

test('ociVersion: missing, not 1.x', () => {
  assert.deepEqual(problems((s) => { delete (s as Partial<Spec>).ociVersion }), ['ociVersion: must be set'])
  assert.deepEqual(problems((s) => { s.ociVersion = '2.0.0' }), ['ociVersion: unsupported version "2.0.0" (ocirt runs 1.x configs)'])
  assert.deepEqual(problems((s) => { s.ociVersion = '0.6.0' }), ['ociVersion: unsupported version "0.6.0" (ocirt runs 1.x configs)'])
  assert.deepEqual(problems((s) => { (s as unknown as {ociVersion: number}).ociVersion = 1 }), ['ociVersion: must be a string'])
  for (const v of ['1.0.0', '1.0.2-dev', '1.1.0', '1.2.0', '1.0.0-rc5']) assert.deepEqual(problems((s) => { s.ociVersion = v }), [], v)
})

test('root must be there', () => {
  assert.deepEqual(problems((s) => { delete s.root }), ['root: must be specified'])
})

test('process: required for create, args, cwd', () => {
  assert.deepEqual(problems((s) => { delete s.process }), ['process: must be specified (the container has nothing to run)'])
  assert.deepEqual(problems((s) => { delete s.process }, {requireProcess: false}), [])
  assert.deepEqual(problems((s) => { s.process!.args = [] }), ['process.args: must not be empty'])
  assert.deepEqual(problems((s) => { delete s.process!.args }), ['process.args: must not be empty'])
  assert.deepEqual(problems((s) => { delete s.process!.args }, {requireProcess: false}), [])
  assert.deepEqual(problems((s) => { (s.process!.args as unknown[]) = ['sh', 3] }), ['process.args[1]: must be a string'])
  assert.deepEqual(problems((s) => { s.process!.cwd = 'tmp' }), ['process.cwd: must be an absolute path, got "tmp"'])
  assert.deepEqual(problems((s) => { s.process!.cwd = '' }), ['process.cwd: must be set'])
  assert.deepEqual(problems((s) => { s.process!.oomScoreAdj = 1001 }), ['process.oomScoreAdj: must be an integer from -1000 to 1000'])
  assert.deepEqual(problems((s) => { s.process!.user = {uid: -1, gid: 0} }), ['process.user.uid: must be a non-negative integer'])
})

test('capabilities: unknown names are named with their index', () => {
  assert.deepEqual(problems((s) => { s.process!.capabilities!.bounding!.push('CAP_FOO') }),
    ['process.capabilities.bounding[3]: unknown capability "CAP_FOO"'])
  assert.deepEqual(problems((s) => { s.process!.capabilities!.inheritable = ['cap_chown', 'CHOWN'] }), [
    'process.capabilities.inheritable[0]: unknown capability "cap_chown"',
    'process.capabilities.inheritable[1]: unknown capability "CHOWN"',
  ])
  assert.deepEqual(problems((s) => { s.process!.capabilities!.ambient = ['CAP_CHECKPOINT_RESTORE', 'CAP_BPF'] }), [])
})

test('rlimits: unknown type, soft above hard, bad numbers', () => {
  assert.deepEqual(problems((s) => { s.process!.rlimits!.push({type: 'RLIMIT_FOO', soft: 1, hard: 1}) }),
    ['process.rlimits[1].type: unknown rlimit "RLIMIT_FOO"'])
  assert.deepEqual(problems((s) => { s.process!.rlimits!.push({type: 'RLIMIT_NPROC', soft: 10, hard: 1}) }),
    ['process.rlimits[1]: soft limit 10 exceeds hard limit 1'])
  assert.deepEqual(problems((s) => { s.process!.rlimits = [{type: 'RLIMIT_CORE', soft: -1, hard: 1.5}] }),
    ['process.rlimits[0].soft: must be a non-negative integer', 'process.rlimits[0].hard: must be a non-negative integer'])
  assert.deepEqual(problems((s) => { s.process!.rlimits = [{type: 'RLIMIT_CORE', soft: 5, hard: 18446744073709551615}] }), [])
})

test('namespaces: unknown, duplicate, bad or missing path', () => {
  assert.deepEqual(problems((s) => { ns(s)[2].type = 'foo' }), ['linux.namespaces[2].type: unknown namespace "foo"'])
  assert.deepEqual(problems((s) => { ns(s).push({type: 'pid'}) }), ['linux.namespaces[5].type: duplicate namespace "pid" (also linux.namespaces[0])'])
  assert.deepEqual(problems((s) => { ns(s)[1].path = '/nonexistent/ns/net' }), ['linux.namespaces[1].path: /nonexistent/ns/net does not exist'])
  assert.deepEqual(problems((s) => { ns(s)[1].path = 'proc/self/ns/net' }), ['linux.namespaces[1].path: must be an absolute path, got "proc/self/ns/net"'])
  assert.deepEqual(problems((s) => { ns(s)[1].path = '/etc/hostname' }), ['linux.namespaces[1].path: /etc/hostname is not a namespace file'])
  assert.deepEqual(problems((s) => { ns(s)[1].path = '/proc/self/ns/net' }), [])
  assert.deepEqual(problems((s) => { ns(s).push({type: 'cgroup'}, {type: 'time'}) }), [])
})

test('user namespace: a new one needs both mappings; a joined one does not', () => {
  assert.deepEqual(problems((s) => { ns(s).push({type: 'user'}) }), [
    'linux.uidMappings: a new user namespace needs uid mappings',
    'linux.gidMappings: a new user namespace needs gid mappings',
  ])
  assert.deepEqual(problems((s) => {
    ns(s).push({type: 'user'})
    s.linux!.uidMappings = [{containerID: 0, hostID: 1000, size: 0}]
    s.linux!.gidMappings = [{containerID: 0, hostID: 1000, size: 1}]
  }), ['linux.uidMappings[0].size: must not be 0'])
  assert.deepEqual(problems((s) => { ns(s).push({type: 'user', path: '/proc/self/ns/user'}) }), [])
  assert.deepEqual(problems(() => undefined, {rootless: true}), ['linux.namespaces: rootless container requires user namespaces'])
})

test('hostname and domainname need a UTS namespace (a joined one counts, as in runc)', () => {
  assert.deepEqual(problems(without('uts')), ['hostname: unable to set hostname without a private UTS namespace'])
  assert.deepEqual(problems((s) => { without('uts')(s); delete s.hostname; s.domainname = 'x' }),
    ['domainname: unable to set domainname without a private UTS namespace'])
  assert.deepEqual(problems((s) => { ns(s)[3].path = '/proc/self/ns/uts' }), [])
})

test('a container needs a mount namespace; masked and read-only paths too', () => {
  assert.deepEqual(problems(without('mount')), [
    'linux.namespaces: a container needs a mount namespace (new or joined): add {"type": "mount"}',
    'linux.maskedPaths: unable to restrict sys entries without a private MNT namespace',
    'linux.readonlyPaths: unable to restrict sys entries without a private MNT namespace',
  ])
})

test('sysctl: each in a namespace of the container\'s own, as runc checks', () => {
  const sysctl = (v: Record<string, string>, ...more: ((s: Spec) => void)[]) => (s: Spec) => {
    s.linux!.sysctl = v
    for (const m of more) m(s)
  }
  assert.deepEqual(problems(sysctl({'net.ipv4.ip_forward': '1', 'kernel.shmmax': '100', 'fs.mqueue.msg_max': '10', 'kernel.domainname': 'x'})), [])
  assert.deepEqual(problems(sysctl({'net.ipv4.ip_forward': '1'}, without('network'))),
    ['linux.sysctl["net.ipv4.ip_forward"]: sysctl "net.ipv4.ip_forward" is not allowed in the host network namespace'])
  assert.deepEqual(problems(sysctl({'net.ipv4.ip_forward': '1'}, (s) => { ns(s)[1].path = '/proc/self/ns/net' })),
    ['linux.sysctl["net.ipv4.ip_forward"]: sysctl "net.ipv4.ip_forward" is not allowed in the host network namespace'])
  assert.deepEqual(problems(sysctl({'kernel.shmmax': '1', 'fs.mqueue.msg_max': '10'}, without('ipc'))), [
    'linux.sysctl["kernel.shmmax"]: sysctl "kernel.shmmax" is not allowed in the host\'s ipc namespace',
    'linux.sysctl["fs.mqueue.msg_max"]: sysctl "fs.mqueue.msg_max" is not allowed in the host\'s ipc namespace',
  ])
  assert.deepEqual(problems(sysctl({'kernel.hostname': 'x'})),
    ['linux.sysctl["kernel.hostname"]: sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field'])
  assert.deepEqual(problems(sysctl({'kernel.domainname': 'x'}, without('uts'), (s) => { delete s.hostname })),
    ['linux.sysctl["kernel.domainname"]: sysctl "kernel.domainname" is not in a separate kernel namespace'])
  assert.deepEqual(problems(sysctl({'vm.swappiness': '1', 'kernel.pid_max': '1'})), [
    'linux.sysctl["vm.swappiness"]: sysctl "vm.swappiness" is not in a separate kernel namespace',
    'linux.sysctl["kernel.pid_max"]: sysctl "kernel.pid_max" is not in a separate kernel namespace',
  ])
})

test('rootfsPropagation must be a propagation mode', () => {
  assert.deepEqual(problems((s) => { s.linux!.rootfsPropagation = 'bogus' }), ['linux.rootfsPropagation: unsupported value "bogus"'])
  for (const v of ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable', '']) {
    assert.deepEqual(problems((s) => { s.linux!.rootfsPropagation = v }), [], v)
  }
})

test('mounts: destination set and absolute; data options pass; idmap is refused', () => {
  assert.deepEqual(problems((s) => { s.mounts!.push({type: 'tmpfs', source: 'tmpfs'} as never) }), ['mounts[7].destination: must be set'])
  assert.deepEqual(problems((s) => { s.mounts!.push({destination: 'tmp', type: 'tmpfs'}) }), ['mounts[7].destination: must be an absolute path, got "tmp"'])
  assert.deepEqual(problems((s) => { s.mounts!.push({destination: '/tmp', type: 'tmpfs', options: ['mode=755', 'size=65536k', 'bogus', 'rro']}) }), [])
  assert.deepEqual(problems((s) => { s.mounts!.push({destination: '/mnt', source: '/tmp', options: ['rbind', 'idmap']}) }),
    ['mounts[7].options[1]: "idmap": idmapped mounts are not supported'])
  assert.deepEqual(problems((s) => { s.mounts![0].uidMappings = [{containerID: 0, hostID: 1, size: 1}] }), ['mounts[0].uidMappings: idmapped mounts are not supported'])
})

test('hooks: absolute paths, positive timeouts', () => {
  assert.deepEqual(problems((s) => { s.hooks = {prestart: [{path: 'true'}], poststop: [{path: '/bin/true', timeout: 0}]} }), [
    'hooks.prestart[0].path: must be an absolute path, got "true"',
    'hooks.poststop[0].timeout: must be a positive number of seconds',
  ])
  assert.deepEqual(problems((s) => { s.hooks = {createRuntime: [{path: '/bin/true', args: ['true'], env: ['A=1'], timeout: 5}]} }), [])
})

test('AppArmor, SELinux and Intel RDT on a host without them: error naming the field', () => {
  assert.deepEqual(problems((s) => { s.process!.apparmorProfile = 'p' }), ['process.apparmorProfile: AppArmor is not enabled on this host (/sys/kernel/security/apparmor is absent)'])
  assert.deepEqual(problems((s) => { s.process!.selinuxLabel = 'l' }), ['process.selinuxLabel: SELinux is not enabled on this host (/sys/fs/selinux is absent)'])
  assert.deepEqual(problems((s) => { s.linux!.mountLabel = 'l' }), ['linux.mountLabel: SELinux is not enabled on this host (/sys/fs/selinux is absent)'])
  assert.deepEqual(problems((s) => { s.linux!.intelRdt = {l3CacheSchema: 'L3:0=f', enableCMT: false} }),
    ['linux.intelRdt.l3CacheSchema: Intel RDT is not enabled on this host (/sys/fs/resctrl is not mounted)'])
  // on a host that has them, ocirt still cannot apply them yet
  assert.deepEqual(problems((s) => { s.process!.apparmorProfile = 'p' }, {host: {...NO_LSM, apparmor: true}}),
    ['process.apparmorProfile: ocirt cannot apply AppArmor settings yet; refusing to run the container unconfined'])
})

test('seccomp vocabulary, devices, time offsets, personality', () => {
  assert.deepEqual(problems((s) => {
    s.linux!.seccomp = {defaultAction: 'SCMP_ACT_FOO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_Z80'], flags: ['SECCOMP_FILTER_FLAG_X'],
      syscalls: [{names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{index: 6, value: 1, op: 'SCMP_CMP_XX'}]}, {names: [], action: 'SCMP_ACT_ALLOW'}]}
  }), [
    'linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"',
    'linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_Z80"',
    'linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_X"',
    'linux.seccomp.syscalls[0].args[0].index: must be 0 to 5',
    'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_XX"',
    'linux.seccomp.syscalls[1].names: must not be empty',
  ])
  assert.deepEqual(problems((s) => {
    s.linux!.seccomp = {defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, architectures: ['SCMP_ARCH_X86_64'], flags: ['SECCOMP_FILTER_FLAG_LOG'],
      listenerPath: '/run/agent.sock', listenerMetadata: 'x', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'},
        {names: ['mkdir'], action: 'SCMP_ACT_NOTIFY'}, {names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 0, op: 'SCMP_CMP_EQ'}]}]}
  }), [], 'a whole profile is accepted')
  assert.deepEqual(problems((s) => { s.linux!.devices = [{type: 'x', path: '/dev/a'}, {type: 'c', path: 'dev/b', major: 1}, {type: 'p', path: '/dev/f'}] }), [
    'linux.devices[0].type: unknown device type "x" (c, b, u or p)',
    'linux.devices[1].path: must be an absolute path, got "dev/b"',
    'linux.devices[1].minor: must be a non-negative integer',
  ])
  assert.deepEqual(problems((s) => { s.linux!.timeOffsets = {monotonic: {secs: 10}} }), ['linux.timeOffsets: time offsets need a new time namespace'])
  assert.deepEqual(problems((s) => { ns(s).push({type: 'time'}); s.linux!.timeOffsets = {monotonic: {secs: -5, nanosecs: 2e9}, realtime: {}} }), [
    'linux.timeOffsets.monotonic.nanosecs: must be below 1000000000',
    'linux.timeOffsets.realtime: unknown clock "realtime" (monotonic or boottime)',
  ])
  assert.deepEqual(problems((s) => { s.linux!.personality = {domain: 'FOO'} }), ['linux.personality.domain: unknown domain "FOO" (LINUX or LINUX32)'])
})

test('malformed shapes are problems, not crashes', () => {
  const odd = (f: (s: Record<string, unknown>) => void) => problems((s) => f(s as unknown as Record<string, unknown>))
  assert.deepEqual(odd((s) => { s.mounts = {} }), ['mounts: must be an array'])
  assert.deepEqual(odd((s) => { (s.linux as Record<string, unknown>).namespaces = 'pid' }), [
    'linux.namespaces: must be an array',
    'linux.namespaces: a container needs a mount namespace (new or joined): add {"type": "mount"}',
    'hostname: unable to set hostname without a private UTS namespace',
    'linux.maskedPaths: unable to restrict sys entries without a private MNT namespace',
    'linux.readonlyPaths: unable to restrict sys entries without a private MNT namespace',
  ])
  assert.deepEqual(odd((s) => { s.process = 'sh' }), ['process: must be an object'])
  assert.deepEqual(odd((s) => { s.hooks = {prestart: {}} }), ['hooks.prestart: must be an array'])
  assert.deepEqual(specProblems(null as unknown as Spec, base), [{path: '', message: 'the config must be a JSON object'}])
})

test('the rootless starter spec validates rootless', () => {
  assert.deepEqual(specProblems(rootlessSpec(1000, 1000), {...base, rootless: true}), [])
})
