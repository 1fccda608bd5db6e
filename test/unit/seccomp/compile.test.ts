// The seccomp compiler: the OCI object → libseccomp → BPF, checked by running the exported program on
// syscalls (test/helpers/bpf.ts) rather than by looking at it; and the errors, each naming its field.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {execFileSync} from 'node:child_process'
import {compileSeccomp, planFilter} from '../../../src/core/seccomp/compile'
import type {LinuxSeccomp} from '../../../src/core/spec/types'
import {AUDIT_ARCH, RET, runFilter} from '../../helpers/bpf'
import {requires} from '../../helpers/requires'
import {REPO} from '../../helpers/paths'

const ctx = {verb: 'create', id: 'c1'}
// x86_64 and i386 syscall numbers (ABI, fixed)
const NR = {read: 0, socket: 41, clone: 56, getpid: 39, mkdir: 83, personality: 135, mount: 165, clone3: 435, unshare: 272}
const NR_I386 = {read: 3, mkdir: 39}

const EPERM = 1
const ENOSYS = 38
const errno = (e: number) => RET.ERRNO | e

/** What the compiled filter returns for syscall `nr` (x86_64) with these arguments. */
function verdict(sc: LinuxSeccomp, nr: number, args: (number | bigint)[] = [], arch: number = AUDIT_ARCH.X86_64): number {
  return runFilter(compileSeccomp(sc, ctx).bpf, {nr, arch, args: args.map(BigInt)})
}

/** libseccomp is there, and the host is x86_64 (the syscall numbers and arches above are its). */
function ready(t: {skip(message?: string): void}): boolean {
  if (!requires(t, 'seccomp')) return false
  if (process.arch === 'x64') return true
  t.skip('the expected syscall numbers are x86_64\'s')
  return false
}

function refused(sc: unknown, message: RegExp): void {
  assert.throws(() => planFilter(sc as LinuxSeccomp, ctx), message)
}

test('defaultAction and a syscall list with errnoRet: the listed calls fail with that errno, others pass', (t) => {
  if (!ready(t)) return
  const sc: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS}, {names: ['unshare'], action: 'SCMP_ACT_ERRNO'}]}
  assert.equal(verdict(sc, NR.mkdir), errno(ENOSYS))
  assert.equal(verdict(sc, NR.unshare), errno(EPERM), 'ERRNO without errnoRet is EPERM, as runc')
  assert.equal(verdict(sc, NR.getpid), RET.ALLOW)
})

test('defaultAction ERRNO with defaultErrnoRet, and an allow list', (t) => {
  if (!ready(t)) return
  const sc: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 5, syscalls: [{names: ['read', 'getpid'], action: 'SCMP_ACT_ALLOW'}]}
  assert.equal(verdict(sc, NR.read), RET.ALLOW)
  assert.equal(verdict(sc, NR.getpid), RET.ALLOW)
  assert.equal(verdict(sc, NR.mkdir), errno(5))
  assert.equal(verdict({defaultAction: 'SCMP_ACT_ERRNO'}, NR.mkdir), errno(EPERM))
})

test('every action becomes its kernel return value', (t) => {
  if (!ready(t)) return
  const expected: Record<string, number> = {
    SCMP_ACT_KILL: RET.KILL_THREAD, SCMP_ACT_KILL_THREAD: RET.KILL_THREAD, SCMP_ACT_KILL_PROCESS: RET.KILL_PROCESS,
    SCMP_ACT_TRAP: RET.TRAP, SCMP_ACT_LOG: RET.LOG, SCMP_ACT_TRACE: RET.TRACE | EPERM, SCMP_ACT_NOTIFY: RET.USER_NOTIF,
    SCMP_ACT_ERRNO: errno(EPERM),
  }
  for (const [action, ret] of Object.entries(expected)) {
    const sc: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{names: ['mkdir'], action}]}
    assert.equal(verdict(sc, NR.mkdir), ret >>> 0, action)
  }
  const trace: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_TRACE', errnoRet: 7}]}
  assert.equal(verdict(trace, NR.mkdir), RET.TRACE | 7, 'TRACE carries errnoRet as its message')
})

test('argument conditions: EQ, MASKED_EQ (value is the mask, valueTwo the result), 64-bit values', (t) => {
  if (!ready(t)) return
  const sc: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      {names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 0, op: 'SCMP_CMP_EQ'}]},
      {names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ'}]},
      {names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ'}]},
      {names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 40, op: 'SCMP_CMP_NE'}]},
    ],
  }
  assert.equal(verdict(sc, NR.personality, [0]), RET.ALLOW)
  assert.equal(verdict(sc, NR.personality, [8]), errno(EPERM))
  assert.equal(verdict(sc, NR.personality, [0xffffffff]), RET.ALLOW)
  assert.equal(verdict(sc, NR.personality, [0x1ffffffffn]), errno(EPERM), 'the high word is compared too')
  assert.equal(verdict(sc, NR.clone, [0x11]), RET.ALLOW, 'clone(SIGCHLD): no namespace bit')
  assert.equal(verdict(sc, NR.clone, [0x20011]), errno(EPERM), 'clone(CLONE_NEWNS|SIGCHLD)')
  assert.equal(verdict(sc, NR.socket, [2]), RET.ALLOW, 'AF_INET')
  assert.equal(verdict(sc, NR.socket, [40]), errno(EPERM), 'AF_VSOCK')
})

test('conditions on different arguments are ANDed; several on one argument become one rule each (ORed), as runc', (t) => {
  if (!ready(t)) return
  const and: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['socket'], action: 'SCMP_ACT_ERRNO', args: [
    {index: 0, value: 2, op: 'SCMP_CMP_EQ'}, {index: 1, value: 2, op: 'SCMP_CMP_EQ'}]}]}
  assert.equal(verdict(and, NR.socket, [2, 2]), errno(EPERM), 'AF_INET, SOCK_DGRAM')
  assert.equal(verdict(and, NR.socket, [2, 1]), RET.ALLOW, 'AF_INET, SOCK_STREAM')
  assert.equal(verdict(and, NR.socket, [10, 2]), RET.ALLOW, 'AF_INET6, SOCK_DGRAM')
  const or: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [
    {index: 0, value: 0, op: 'SCMP_CMP_EQ'}, {index: 0, value: 8, op: 'SCMP_CMP_EQ'}]}]}
  assert.equal(verdict(or, NR.personality, [0]), RET.ALLOW)
  assert.equal(verdict(or, NR.personality, [8]), RET.ALLOW)
  assert.equal(verdict(or, NR.personality, [4]), errno(EPERM))
})

test('the comparison operators', (t) => {
  if (!ready(t)) return
  const cases: [string, number, number[], number[]][] = [
    ['SCMP_CMP_LT', 10, [9], [10, 11]], ['SCMP_CMP_LE', 10, [9, 10], [11]], ['SCMP_CMP_GT', 10, [11], [10, 9]],
    ['SCMP_CMP_GE', 10, [10, 11], [9]], ['SCMP_CMP_NE', 10, [9, 11], [10]], ['SCMP_CMP_EQ', 10, [10], [9, 11]],
  ]
  for (const [op, value, hit, miss] of cases) {
    const sc: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{index: 0, value, op}]}]}
    const bpf = compileSeccomp(sc, ctx).bpf
    for (const v of hit) assert.equal(runFilter(bpf, {nr: NR.personality, arch: AUDIT_ARCH.X86_64, args: [BigInt(v)]}), errno(EPERM), `${op} ${value}: ${v}`)
    for (const v of miss) assert.equal(runFilter(bpf, {nr: NR.personality, arch: AUDIT_ARCH.X86_64, args: [BigInt(v)]}), RET.ALLOW, `${op} ${value}: ${v}`)
  }
})

test('architectures: the listed ones get their own syscall numbers, others meet the bad-arch action', (t) => {
  if (!ready(t)) return
  const sc: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]}
  assert.equal(verdict(sc, NR_I386.mkdir, [], AUDIT_ARCH.I386), RET.KILL_THREAD, 'i386 not added: killed')
  const both = {...sc, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']}
  assert.equal(verdict(both, NR_I386.mkdir, [], AUDIT_ARCH.I386), errno(EPERM), 'i386 mkdir is 39')
  assert.equal(verdict(both, NR_I386.read, [], AUDIT_ARCH.I386), RET.ALLOW)
  assert.equal(verdict(both, NR.mkdir), errno(EPERM))
})

test('unknown syscall names are skipped and listed; rules with the default action are left out', (t) => {
  if (!ready(t)) return
  const c = compileSeccomp({defaultAction: 'SCMP_ACT_ERRNO', syscalls: [
    {names: ['read', 'no_such_call', 'also_not'], action: 'SCMP_ACT_ALLOW'},
    {names: ['mkdir'], action: 'SCMP_ACT_ERRNO'},
  ]}, ctx)
  assert.deepEqual(c.skipped, ['no_such_call', 'also_not'])
  assert.equal(runFilter(c.bpf, {nr: NR.read, arch: AUDIT_ARCH.X86_64}), RET.ALLOW)
  assert.equal(runFilter(c.bpf, {nr: NR.mkdir, arch: AUDIT_ARCH.X86_64}), errno(EPERM))
})

test('flags: the config\'s, NEW_LISTENER with a notify rule, WAIT_KILLABLE_RECV only with a listener', () => {
  const flags = (sc: LinuxSeccomp) => planFilter(sc, ctx).flags
  assert.equal(flags({defaultAction: 'SCMP_ACT_ALLOW'}), 0)
  assert.equal(flags({defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW']}), 1 | 2 | 4)
  assert.equal(flags({defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']}), 0)
  const notify: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/a.sock', listenerMetadata: 'm', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_NOTIFY'}]}
  assert.equal(flags(notify), 8)
  assert.equal(flags({...notify, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']}), 8 | 32)
  assert.equal(flags({...notify, flags: ['SECCOMP_FILTER_FLAG_TSYNC']}), 8 | 1 | 16, 'TSYNC with a listener needs TSYNC_ESRCH')
  assert.deepEqual(planFilter(notify, ctx).listener, {path: '/run/a.sock', metadata: 'm'})
  assert.equal(planFilter({...notify, syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]}, ctx).listener, undefined, 'no notify rule: nothing to send')
})

test('bad profiles: one error naming the field', () => {
  refused({defaultAction: 'SCMP_ACT_FOO'}, /create c1: linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_FOO"/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_Z80']}, /linux\.seccomp\.architectures\[1\]: unknown architecture "SCMP_ARCH_Z80"/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NOPE']}, /linux\.seccomp\.flags\[0\]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['a'], action: 'SCMP_ACT_ALLOW'}, {names: ['b'], action: 'SCMP_ACT_NOPE'}]}, /linux\.seccomp\.syscalls\[1\]\.action: unknown action "SCMP_ACT_NOPE"/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: [], action: 'SCMP_ACT_ERRNO'}]}, /linux\.seccomp\.syscalls\[0\]\.names: must not be empty/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{index: 0, value: 1, op: 'SCMP_CMP_XX'}]}]}, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_XX"/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{index: 6, value: 1, op: 'SCMP_CMP_EQ'}]}]}, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be 0 to 5/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{index: 0, value: -1, op: 'SCMP_CMP_EQ'}]}]}, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: must be an unsigned integer/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['a'], action: 'SCMP_ACT_ALLOW', errnoRet: 3}]}, /linux\.seccomp\.syscalls\[0\]\.errnoRet: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE/)
  refused({defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 70000}, /linux\.seccomp\.defaultErrnoRet: must be an integer from 0 to 65535/)
  refused({defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/a'}, /linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be the default action/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_NOTIFY'}]}, /linux\.seccomp\.listenerPath: must be set when a rule uses SCMP_ACT_NOTIFY/)
  refused({defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/a', syscalls: [{names: ['mkdir', 'sendto'], action: 'SCMP_ACT_NOTIFY'}]}, /linux\.seccomp\.syscalls\[0\]\.names: SCMP_ACT_NOTIFY cannot be used for sendto/)
})

test('a Docker-style default profile (355 calls, three arches, argument conditions) compiles to a working filter', (t) => {
  if (!ready(t)) return
  const profile = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/seccomp-docker-default.json'), 'utf8')) as LinuxSeccomp
  const c = compileSeccomp(profile, ctx)
  assert.deepEqual(c.skipped, [], 'every name in the fixture is known to libseccomp')
  assert.ok(c.bpf.length / 8 < 4096, `${c.bpf.length / 8} instructions, within BPF_MAXINSNS`)
  const run = (nr: number, args: number[] = [], arch: number = AUDIT_ARCH.X86_64) => runFilter(c.bpf, {nr, arch, args: args.map(BigInt)})
  assert.equal(run(NR.read), RET.ALLOW)
  assert.equal(run(NR.mount), errno(EPERM))
  assert.equal(run(NR.unshare), errno(EPERM))
  assert.equal(run(NR.clone3), errno(ENOSYS), 'clone3 says ENOSYS so libc falls back to clone')
  assert.equal(run(NR.clone, [0x11]), RET.ALLOW)
  assert.equal(run(NR.clone, [0x10000000 | 0x11]), errno(EPERM), 'CLONE_NEWUSER')
  assert.equal(run(NR.personality, [0xffffffff]), RET.ALLOW)
  assert.equal(run(NR.socket, [40]), errno(EPERM))
  assert.equal(run(NR.socket, [1]), RET.ALLOW)
  assert.equal(run(NR_I386.read, [], AUDIT_ARCH.I386), RET.ALLOW)
})

test('a config without linux.seccomp loads neither koffi nor libseccomp', () => {
  // a fresh process: this test file itself has loaded both by now
  const script = `const {containerSeccomp} = require(${JSON.stringify(path.join(REPO, 'dist/src/core/seccomp/compile'))});
    const r = containerSeccomp({linux: {}}, {verb: 'create', id: 'x'});
    const koffi = Object.keys(require.cache).some((k) => k.includes('/koffi/'));
    const maps = require('fs').readFileSync('/proc/self/maps', 'utf8').includes('libseccomp');
    process.stdout.write(JSON.stringify({r: r ?? null, koffi, maps}))`
  const out = execFileSync(process.execPath, ['-e', script], {encoding: 'utf8'})
  assert.deepEqual(JSON.parse(out), {r: null, koffi: false, maps: false})
})

test('ENOSYS stub: under a restrictive default, calls newer than every call the profile names fail with ENOSYS', (t) => {
  if (!ready(t)) return
  const profile = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/seccomp-docker-default.json'), 'utf8')) as LinuxSeccomp
  const bpf = compileSeccomp(profile, ctx).bpf
  const run = (nr: number, arch: number = AUDIT_ARCH.X86_64) => runFilter(bpf, {nr, arch})
  const X32 = 0x40000000
  // the fixture's largest x86_64 (and i386) call is futex_requeue (456)
  assert.equal(run(456), RET.ALLOW)
  assert.equal(run(457), errno(ENOSYS))
  assert.equal(run(1000), errno(ENOSYS))
  assert.equal(run(184), errno(EPERM), 'tuxcall: older than the profile, not named: the default action')
  assert.equal(run(NR.read), RET.ALLOW)
  assert.equal(run(X32 | 1000), errno(ENOSYS), 'x32')
  assert.equal(run(X32 | 0), RET.ALLOW, 'x32 read')
  assert.equal(run(1000, AUDIT_ARCH.I386), errno(ENOSYS), 'i386')
  assert.equal(run(NR_I386.read, AUDIT_ARCH.I386), RET.ALLOW)

  const kill: LinuxSeccomp = {defaultAction: 'SCMP_ACT_KILL_PROCESS', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{names: ['read', 'mkdir'], action: 'SCMP_ACT_ALLOW'}]}
  assert.equal(verdict(kill, 1000), errno(ENOSYS), 'not killed for a call the profile cannot know')
  assert.equal(verdict(kill, NR.getpid), RET.KILL_PROCESS)
  assert.equal(verdict(kill, NR.read, [], AUDIT_ARCH.I386), RET.KILL_THREAD, 'an architecture the profile does not list: the bad-arch action')
  assert.equal(verdict({...kill, architectures: undefined}, 1000), RET.KILL_PROCESS, 'no architectures listed: no stub (runc)')
})

test('ENOSYS stub: none under a permissive default or a default that already says ENOSYS', (t) => {
  if (!ready(t)) return
  const rules = [{names: ['read'], action: 'SCMP_ACT_ALLOW'}, {names: ['mkdir'], action: 'SCMP_ACT_ERRNO'}]
  const archs = ['SCMP_ARCH_X86_64']
  const size = (sc: LinuxSeccomp) => compileSeccomp(sc, ctx).bpf.length / 8
  assert.equal(planFilter({defaultAction: 'SCMP_ACT_ALLOW', architectures: archs, syscalls: rules}, ctx).enosysStub, false)
  assert.equal(planFilter({defaultAction: 'SCMP_ACT_LOG', architectures: archs, syscalls: rules}, ctx).enosysStub, false)
  assert.equal(planFilter({defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: ENOSYS, architectures: archs, syscalls: rules}, ctx).enosysStub, false)
  assert.equal(planFilter({defaultAction: 'SCMP_ACT_ERRNO', architectures: archs, syscalls: rules}, ctx).enosysStub, true)
  const enosysDefault: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: ENOSYS, architectures: archs, syscalls: [{names: ['read', 'getpid'], action: 'SCMP_ACT_ALLOW'}]}
  const epermDefault: LinuxSeccomp = {...enosysDefault, defaultErrnoRet: EPERM}
  assert.ok(size(epermDefault) > size(enosysDefault), 'the stub adds instructions')
  assert.equal(verdict(enosysDefault, 1000), errno(ENOSYS))
})
