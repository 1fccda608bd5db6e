// native/build/ocirt-criu-launch, how runCriu starts criu restore: it joins the cgroups given, binds the rootfs in a
// mount namespace of its own (read-only on request) and execs the command in place, with the exit codes runCriu
// reads (125: join, 124: mount namespace or bind, 127: exec). The command here is a shell that reports what it sees.
import {test, type TestContext} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {spawnSync} from 'node:child_process'
import {requires} from '../helpers/requires'
import {cleanupFor} from '../helpers/cleanup'
import {REPO} from '../helpers/paths'

const LAUNCH = path.join(REPO, 'native', 'build', 'ocirt-criu-launch')

function launch(args: string[]): {status: number | null; stdout: string; stderr: string} {
  const r = spawnSync(LAUNCH, args, {encoding: 'utf8', timeout: 30_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

const mountinfo = (pid: number | 'self') => fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8')


/** A directory of the test's, removed by its cleanup, with an empty directory `a` in it. */
function scratch(t: TestContext): {dir: string; a: string} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-criu-launch-'))
  cleanupFor(t).dir(dir)
  const a = path.join(dir, 'a')
  fs.mkdirSync(a)
  return {dir, a}
}
test('joins the cgroup with the pid that runs the command, binds the rootfs read-only in its own mount namespace', (t) => {
  if (!requires(t, 'root', 'cgroup-v1')) return
  assert.ok(fs.existsSync(LAUNCH), `${LAUNCH} is built by npm run build`)
  const c = cleanupFor(t)
  const cg = `/ocirt-test-tmpfs-tar-launch-${process.pid}`
  const procs = path.join('/sys/fs/cgroup/pids', cg, 'cgroup.procs')
  c.cgroup(cg)
  fs.mkdirSync(path.dirname(procs))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-criu-launch-'))
  c.dir(dir)
  const rootfs = path.join(dir, 'rootfs')
  const target = path.join(dir, 'target')
  fs.mkdirSync(path.join(rootfs, 'sub'), {recursive: true})
  fs.writeFileSync(path.join(rootfs, 'sub', 'file'), 'in the rootfs')
  fs.mkdirSync(target)

  const script = `grep -qx "$$" ${procs} && echo joined; cat ${target}/sub/file; echo; touch ${target}/new 2>/dev/null || echo read-only; ` +
    `grep " ${target} " /proc/self/mountinfo`
  const r = launch(['--join', procs, '--root', rootfs, target, '--ro', '--', '/bin/sh', '-c', script])
  assert.equal(r.status, 0, r.stderr)
  const [joined, content, ro, mount] = r.stdout.split('\n')
  assert.equal(joined, 'joined', 'the shell itself (the launcher\'s pid, exec\'d in place) is in the cgroup')
  assert.equal(content, 'in the rootfs')
  assert.equal(ro, 'read-only')
  assert.match(mount, /\bro\b/, mount)
  assert.ok(!mountinfo('self').includes(` ${target} `), 'the bind lived in the command\'s own mount namespace only')
  assert.equal(fs.readFileSync(procs, 'utf8'), '', 'and the cgroup is empty again once it exited')

  // writable when --ro is not given; no --root: no new mount namespace
  const rw = launch(['--root', rootfs, target, '--', '/bin/sh', '-c', `touch ${target}/new && echo written`])
  assert.equal(rw.status, 0, rw.stderr)
  assert.equal(rw.stdout.trim(), 'written')
  const same = launch(['--join', procs, '--', '/bin/sh', '-c', 'readlink /proc/self/ns/mnt'])
  assert.equal(same.stdout.trim(), fs.readlinkSync('/proc/self/ns/mnt'))
})

test('its failures: 125 for a cgroup it cannot join, 124 for a bind it cannot make, 127 for a command it cannot run', (t) => {
  if (!requires(t, 'root')) return
  const c = cleanupFor(t)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-criu-launch-'))
  c.dir(dir)
  const join = launch(['--join', path.join(dir, 'no-such-cgroup', 'cgroup.procs'), '--', '/bin/true'])
  assert.equal(join.status, 125)
  assert.match(join.stderr, /^ocirt-criu-launch: cannot open .*no-such-cgroup\/cgroup\.procs: No such file or directory$/m)
  const bind = launch(['--root', path.join(dir, 'missing'), dir, '--', '/bin/true'])
  assert.equal(bind.status, 124)
  assert.match(bind.stderr, /mount --rbind .*missing .*: No such file or directory/)
  const exec = launch(['--', path.join(dir, 'no-criu')])
  assert.equal(exec.status, 127)
  assert.match(exec.stderr, /cannot run .*no-criu: No such file or directory/)
  assert.equal(launch(['--bogus', '--', '/bin/true']).status, 2)
  assert.equal(launch(['--join', '/dev/null']).status, 2, 'no command')
})

test('--tmpfs builds a read-only tmpfs with the mode and directories asked for, in its own mount namespace', (t) => {
  if (!requires(t, 'root')) return
  const c = cleanupFor(t)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-criu-launch-'))
  c.dir(dir)
  const a = path.join(dir, 'a')
  const b = path.join(dir, 'b')
  fs.mkdirSync(a)
  fs.mkdirSync(b)
  const script = `stat -c %a ${a} ${b} ${b}/cpu,cpuacct; ls ${a} | wc -l; ls ${b}; touch ${b}/x 2>/dev/null || echo read-only; grep " ${b} " /proc/self/mountinfo`
  const r = launch(['--tmpfs', a, '1777', '', '--tmpfs', b, '755', 'cpu,cpuacct/pids', '--', '/bin/sh', '-c', script])
  assert.equal(r.status, 0, r.stderr)
  const [modeA, modeB, modeSub, countA, sub1, sub2, ro, mount] = r.stdout.split('\n')
  assert.deepEqual([modeA, modeB, modeSub, countA.trim(), sub1, sub2, ro], ['1777', '755', '755', '0', 'cpu,cpuacct', 'pids', 'read-only'])
  assert.match(mount, / - tmpfs tmpfs ro[, ]/, mount)
  assert.ok(!mountinfo('self').includes(` ${b} `), 'the tmpfs lived in the command\'s own mount namespace only')
  assert.deepEqual(fs.readdirSync(b), [])

  assert.equal(launch(['--tmpfs', a, '8', '', '--', '/bin/true']).status, 2, 'not an octal mode')
  assert.equal(launch(['--tmpfs', a, '755', '..', '--', '/bin/true']).status, 2, 'a name that leaves the tmpfs')
  const missing = launch(['--tmpfs', path.join(dir, 'missing'), '755', '', '--', '/bin/true'])
  assert.equal(missing.status, 124)
  assert.match(missing.stderr, /mount tmpfs at .*missing: No such file or directory/)
})

test('--tmpfs-rw builds a writable tmpfs with the mode, the tmpfs options and the directories asked for', (t) => {
  if (!requires(t, 'root')) return
  const {a} = scratch(t)
  const script = `stat -c %a ${a} ${a}/d; touch ${a}/x && echo writable; grep " ${a} " /proc/self/mountinfo`
  const r = launch(['--tmpfs-rw', a, '1777', 'size=65536k', 'd', '--', '/bin/sh', '-c', script])
  assert.equal(r.status, 0, r.stderr)
  const [mode, modeSub, writable, mount] = r.stdout.split('\n')
  assert.deepEqual([mode, modeSub, writable], ['1777', '755', 'writable'])
  assert.match(mount, / - tmpfs tmpfs rw,size=65536k(,|$)/, mount)
  assert.ok(!mountinfo('self').includes(` ${a} `), 'the tmpfs lived in the command\'s own mount namespace only')
  const none = launch(['--tmpfs-rw', a, '755', '', '', '--', '/bin/sh', '-c', `grep " ${a} " /proc/self/mountinfo`])
  assert.equal(none.status, 0, none.stderr)
  assert.match(none.stdout, / - tmpfs tmpfs rw(,|$)/, 'no options: the kernel\'s defaults')
  const bad = launch(['--tmpfs-rw', a, '755', 'size=bogus', '', '--', '/bin/true'])
  assert.equal(bad.status, 124, 'an option tmpfs refuses')
  assert.match(bad.stderr, /mount tmpfs at .*: Invalid argument/)
})

test('--tmpfs-char and --tmpfs-link make device nodes and symlinks in a tmpfs being built (a /dev)', (t) => {
  if (!requires(t, 'root')) return
  const {dir, a} = scratch(t)
  const script = `stat -c '%n %F %a %t:%T' ${a}/null ${a}/tty; readlink ${a}/fd ${a}/ptmx; echo hi > ${a}/null && echo ok`
  const r = launch(['--tmpfs-rw', a, '755', 'size=65536k', 'pts', '--tmpfs-char', a, 'null', '666', '1', '3', '--tmpfs-char', a, 'tty', '620', '5', '0',
    '--tmpfs-link', a, 'fd', '/proc/self/fd', '--tmpfs-link', a, 'ptmx', 'pts/ptmx', '--', '/bin/sh', '-c', script])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n'), [`${a}/null character special file 666 1:3`, `${a}/tty character special file 620 5:0`, '/proc/self/fd', 'pts/ptmx', 'ok'])
  assert.deepEqual(fs.readdirSync(a), [], 'made in the command\'s own mount namespace only')
  assert.equal(launch(['--tmpfs-rw', a, '755', '', '', '--tmpfs-char', path.join(dir, 'other'), 'null', '666', '1', '3', '--', '/bin/true']).status, 2, 'a node for no tmpfs of this command')
  assert.equal(launch(['--tmpfs-rw', a, '755', '', '', '--tmpfs-link', a, '../x', 'y', '--', '/bin/true']).status, 2, 'a name that leaves the tmpfs')
  assert.equal(launch(['--tmpfs-rw', a, '755', '', '', '--tmpfs-char', a, 'n', '9', '1', '3', '--', '/bin/true']).status, 2, 'not an octal mode')
  const twice = launch(['--tmpfs-rw', a, '755', '', 'n', '--tmpfs-char', a, 'n', '666', '1', '3', '--', '/bin/true'])
  assert.equal(twice.status, 124, 'a name taken by a directory')
  assert.match(twice.stderr, /mknod .*\/n: File exists/)
})

