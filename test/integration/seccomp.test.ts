// Seccomp on real containers: linux.seccomp is compiled with libseccomp and loaded by the helper last before
// execve. Each test asks the probe for one syscall's result under a profile (the rootfs is read-only, so a
// plain mkdir would say EROFS: any other answer is the filter's); where runc is installed, the same bundle
// under runc gives the same output. Also: exec inherits the filter, the filter goes in before the identity
// change when no_new_privs is off, a Docker-style default profile runs a shell, and SCMP_ACT_NOTIFY hands the
// listener with the container process state to an agent (test/helpers/seccomp-agent.ts) whose answers the
// container sees.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {LinuxSeccomp} from '../../src/core/spec/types'
import {assertOk} from '../helpers/ocirt'
import {missing, requires} from '../helpers/requires'
import {containerBundle, runcRun, sh, stateOf, type TestBundle} from '../helpers/containers'
import {startSeccompAgent} from '../helpers/seccomp-agent'
import {PROBE, REPO} from '../helpers/paths'
import type {SpecOverride} from '../helpers/bundle'

const SIGSYS = 31
// what ocirt's helper itself calls after the filter is loaded (docs/seccomp.md), and what the static probe needs
const RUNTIME_AFTER_FILTER = ['sendto', 'newfstatat', 'openat', 'write', 'execve', 'close', 'recvfrom', 'exit_group']
const PROBE_STARTUP = ['arch_prctl', 'brk', 'getrandom', 'mprotect', 'prlimit64', 'readlink', 'rseq', 'set_robust_list', 'set_tid_address']

function bundleWith(t: {after(fn: () => unknown): void}, args: string[], seccomp: LinuxSeccomp, more?: SpecOverride): TestBundle {
  const b = containerBundle(t, {process: {args}})
  b.spec.linux!.seccomp = seccomp
  b.writeSpec(more)
  return b
}

/** `ocirt run` in the foreground: exit code and stdout (a probe's failure is exit 1 with the errno name). */
async function run(b: TestBundle): Promise<{code: number | null; out: string; err: string}> {
  const r = await b.ocirt(['run', '--bundle', b.dir, b.id])
  return {code: r.code, out: r.stdout, err: r.stderr}
}

/** Where runc is installed, the same bundle under runc prints the same. */
function sameAsRunc(b: TestBundle, ours: {code: number | null; out: string}): void {
  if (missing('runc')) return
  const r = runcRun(b)
  assert.equal(ours.out, r.stdout, `runc prints the same (runc stderr: ${r.stderr})`)
  assert.equal(ours.code, r.code, 'and exits the same')
}

test('ERRNO: errnoRet is the errno the call fails with, EPERM without it; the filter is active', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const b = bundleWith(t, sh(`${PROBE} mkdir /newdir; ${PROBE} personality 8; ${PROBE} seccomp; ${PROBE} mkdir /proc/x`), {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 121}, {names: ['personality'], action: 'SCMP_ACT_ERRNO'}],
  })
  const r = await run(b)
  assert.equal(r.out, 'EREMOTEIO\nEPERM\n2\nEREMOTEIO\n', r.err)
  sameAsRunc(b, r)
})

test('argument conditions: socket(AF_INET) only is refused; personality(0) only is allowed', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const b = bundleWith(t, sh(`${PROBE} socket inet; ${PROBE} socket inet6; ${PROBE} socket unix; ${PROBE} personality 0; ${PROBE} personality 8`), {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      {names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{index: 0, value: 2, op: 'SCMP_CMP_EQ'}]},
      {names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{index: 0, value: 0, op: 'SCMP_CMP_NE'}]},
    ],
  })
  const r = await run(b)
  assert.equal(r.out, 'EAFNOSUPPORT\nok\nok\nok\nEPERM\n', r.err)
  sameAsRunc(b, r)
})

test('defaultAction ERRNO with an allow list: the process runs, everything else fails with defaultErrnoRet', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const b = bundleWith(t, [PROBE, 'mkdir', '/newdir'], {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 95,
    syscalls: [{names: [...RUNTIME_AFTER_FILTER, ...PROBE_STARTUP], action: 'SCMP_ACT_ALLOW'}],
  })
  const r = await run(b)
  assert.equal(r.out, 'EOPNOTSUPP\n', r.err)
  assert.equal(r.code, 1, 'the probe ran and reported the failure')
})

test('KILL, KILL_THREAD, KILL_PROCESS and TRAP end the process with SIGSYS', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP']) {
    const b = bundleWith(t, [PROBE, 'mkdir', '/newdir'], {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action}]})
    const r = await run(b)
    assert.equal(r.code, 128 + SIGSYS, `${action}: ${r.err}`)
    assert.equal(r.out, '', `${action}: the probe never got to print`)
  }
})

test('LOG lets the call through (it fails on the read-only rootfs itself); TRACE without a tracer fails it with ENOSYS', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const log = bundleWith(t, [PROBE, 'mkdir', '/newdir'], {defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_LOG'}]})
  assert.equal((await run(log)).out, 'EROFS\n')
  const trace = bundleWith(t, [PROBE, 'mkdir', '/newdir'], {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_TRACE'}]})
  assert.equal((await run(trace)).out, 'ENOSYS\n')
})

test('flags TSYNC, LOG and SPEC_ALLOW are loaded with the filter', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const b = bundleWith(t, sh(`${PROBE} seccomp; ${PROBE} mkdir /newdir`), {
    defaultAction: 'SCMP_ACT_ALLOW',
    flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 121}],
  })
  const r = await run(b)
  assert.equal(r.out, '2\nEREMOTEIO\n', r.err)
})

test('without no_new_privs the filter goes in while the helper still has CAP_SYS_ADMIN: an unprivileged user gets it', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const b = bundleWith(t, sh(`${PROBE} id; ${PROBE} nnp; ${PROBE} seccomp; ${PROBE} mkdir /newdir`), {
    defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 121}],
  }, {process: {noNewPrivileges: false, user: {uid: 1000, gid: 1000}, capabilities: {bounding: [], effective: [], permitted: [], ambient: []}}})
  const r = await run(b)
  assert.equal(r.out, 'uid=1000 gid=1000 groups=\n0\n2\nEREMOTEIO\n', r.err)
  sameAsRunc(b, r)
})

test('a Docker-style default profile (fixture): a shell and busybox run; namespaces, mounts and AF_VSOCK are refused', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const profile = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/seccomp-docker-default.json'), 'utf8')) as LinuxSeccomp
  const script = `${PROBE} seccomp; ls / >/dev/null && echo ls ok; unshare -n true 2>/dev/null || echo unshare refused; ` +
    `mount -t tmpfs t /mnt 2>/dev/null || echo mount refused; ${PROBE} socket vsock; ${PROBE} socket inet; ${PROBE} personality 8; ` +
    // a number above every call the profile names: ENOSYS (the stub, as runc); tuxcall (184, named nowhere): EPERM
    `${PROBE} syscall 1000; ${PROBE} syscall 184; cat /etc/hostname >/dev/null; echo done`
  for (const noNewPrivileges of [false, true]) {
    const b = bundleWith(t, sh(script), profile, {process: {noNewPrivileges}})
    const r = await run(b)
    assert.equal(r.out, '2\nls ok\nunshare refused\nmount refused\nEPERM\nok\nok\nENOSYS\nEPERM\ndone\n', `noNewPrivileges ${noNewPrivileges}: ${r.err}`)
    assert.equal(r.code, 0)
    sameAsRunc(b, r)
  }
})

test('exec: the new process runs under the container\'s filter, also with --process', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const b = bundleWith(t, [PROBE, 'sleep', '600'], {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 121}]})
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  assert.equal(assertOk(await b.ocirt(['exec', b.id, PROBE, 'seccomp']), 'exec seccomp').stdout, '2\n')
  const denied = await b.ocirt(['exec', b.id, PROBE, 'mkdir', '/newdir'])
  assert.equal(denied.stdout, 'EREMOTEIO\n', denied.stderr)
  assert.equal(denied.code, 1)
  const processJson = path.join(path.dirname(b.dir), 'process.json')
  fs.writeFileSync(processJson, JSON.stringify({args: [PROBE, 'mkdir', '/newdir'], cwd: '/', env: ['PATH=/bin'], user: {uid: 0, gid: 0}}))
  assert.equal((await b.ocirt(['exec', '--process', processJson, b.id])).stdout, 'EREMOTEIO\n')
  // exec loads the program create saved; without it (a container from elsewhere) it compiles the config's again
  const saved = path.join(b.root, b.id, 'seccomp.bpf')
  assert.ok(fs.statSync(saved).size > 0, 'create saved the compiled filter')
  fs.rmSync(saved)
  assert.equal((await b.ocirt(['exec', b.id, PROBE, 'mkdir', '/newdir'])).stdout, 'EREMOTEIO\n')
})

test('notify: the agent at listenerPath gets the listener and the container process state; its answer is what mkdir returns', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const b = containerBundle(t, {process: {args: sh(`${PROBE} mkdir /newdir; ${PROBE} socket unix`)}})
  const agent = startSeccompAgent(t, path.dirname(b.dir))
  await agent.ready
  b.spec.linux!.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW', listenerPath: agent.socket, listenerMetadata: 'tenant=blue',
    syscalls: [{names: ['mkdir', 'mkdirat', 'socket'], action: 'SCMP_ACT_NOTIFY'}],
  }
  b.writeSpec()
  const r = await run(b)
  assert.equal(r.out, 'ok\nok\n', `mkdir "succeeds" on a read-only rootfs: the agent said so (${r.err})`)
  const listeners = agent.events().filter((e) => e.event === 'listener')
  assert.equal(listeners.length, 1)
  const s = listeners[0].state!
  assert.deepEqual(s.fds, ['seccompFd'])
  assert.equal(s.metadata, 'tenant=blue')
  assert.equal(s.ociVersion, b.spec.ociVersion)
  assert.equal(s.state.id, b.id)
  assert.equal(s.state.status, 'creating')
  assert.equal(s.state.bundle, b.dir)
  assert.equal(s.state.pid, s.pid, 'the process whose filter it is: the init')
  const answered = agent.events().filter((e) => e.event === 'notification').map((e) => `${e.syscall}:${e.answer}`)
  assert.ok(answered.includes('83:success') || answered.includes('258:success'), answered.join())
  assert.ok(answered.includes('41:continue'), `socket was notified and continued: ${answered.join()}`)
})

test('notify under exec: the exec\'d process gets a listener of its own, sent with the running container\'s state', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'seccomp')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '600']}})
  const agent = startSeccompAgent(t, path.dirname(b.dir))
  await agent.ready
  // with the listener flags the kernel takes beside NEW_LISTENER (TSYNC then also needs TSYNC_ESRCH)
  b.spec.linux!.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW', listenerPath: agent.socket, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV', 'SECCOMP_FILTER_FLAG_TSYNC'],
    syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY'}],
  }
  b.writeSpec()
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  const init = (await stateOf(b)).pid
  const r = await b.ocirt(['exec', b.id, PROBE, 'mkdir', '/newdir'])
  assert.equal(r.stdout, 'ok\n', r.stderr)
  const listeners = agent.events().filter((e) => e.event === 'listener')
  assert.equal(listeners.length, 2, 'one for the init, one for the exec')
  const exec = listeners[1].state!
  assert.equal(exec.state.status, 'running')
  assert.equal(exec.state.pid, init, 'the state is the container\'s')
  assert.notEqual(exec.pid, init, 'the pid is the exec\'d process\'s')
  assert.ok(!('metadata' in exec), 'no listenerMetadata: no metadata key (as runc)')
})
